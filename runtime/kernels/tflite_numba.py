"""TFLite int8 and float32 ops, Numba kernels (same arithmetic as tflite_int8 / tflite_float).

The loop cores are shared by both families: numba specialises them per dtype, so an int8
convolution accumulates `bias_zp + sum(w * x)` in int64 (wrapped to int32 at the end, which is
what TFLM's int32 arithmetic gives), and a float32 one accumulates in float32. Taps outside
the image read `pad` (zp_in for int8, hence the zero-point correction folded into bias_zp by
the importer; 0 for float). Requantization uses scalar versions of the gemmlowp primitives.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from edgert.errors import ModelError

from . import Call, kernel
from .tflite_float import _clamp, add_f32, softmax_f32
from .tflite_int8 import check_attrs, check_shapes, dequantize, quantize, reshape

I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1
jit = njit(cache=True, nogil=True)


# ---- scalar fixed-point primitives -----------------------------------------------------

@jit
def wrap32(x):
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


@jit
def srdhm(a, b):
    if a == I32_MIN and b == I32_MIN:
        return I32_MAX
    p = np.int64(a) * np.int64(b)
    p += (1 << 30) if p >= 0 else 1 - (1 << 30)
    return p >> 31 if p >= 0 else -((-p) >> 31)


@jit
def rdbpot(x, e):
    mask = (np.int64(1) << e) - 1
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if (x & mask) > threshold else 0)


@jit
def mbqm(x, m, shift):
    left = shift if shift > 0 else 0
    right = -shift if shift < 0 else 0
    return rdbpot(srdhm(wrap32(np.int64(x) << left), m), right)


@jit
def sat_shl(x, k):
    v = np.int64(x) << k
    return min(max(v, I32_MIN), I32_MAX)


@jit
def requantize_channels(acc, mult, shift, zp_out, lo, hi):
    """acc (..., C) int64 -> int8 with per-channel (mult, shift) (length C or 1)."""
    flat = acc.reshape(-1, acc.shape[-1])
    out = np.empty(flat.shape, np.int8)
    per_channel = mult.size > 1
    for i in range(flat.shape[0]):
        for c in range(flat.shape[1]):
            k = c if per_channel else 0
            y = mbqm(wrap32(flat[i, c]), mult[k], shift[k]) + zp_out
            out[i, c] = min(max(y, lo), hi)
    return out.reshape(acc.shape)


# ---- loop cores shared by int8 and float32 ---------------------------------------------

@jit
def conv_core(x, w, init, pad, acc, sh, sw, dh, dw, ph, pw):
    """w is [KH, KW, C_in, C_out]; the output channels are the inner loop."""
    n_, h, wd, cin = x.shape
    kh, kw, _, cout = w.shape
    _, oh, ow, _ = acc.shape
    for n in range(n_):
        for oy in range(oh):
            for ox in range(ow):
                total = acc[n, oy, ox]
                total[:] = init
                for ky in range(kh):
                    iy = oy * sh - ph + ky * dh
                    for kx in range(kw):
                        ix = ox * sw - pw + kx * dw
                        inside = 0 <= iy < h and 0 <= ix < wd
                        for ic in range(cin):
                            v = x[n, iy, ix, ic] if inside else pad
                            for oc in range(cout):
                                total[oc] += w[ky, kx, ic, oc] * v


@jit
def depthwise_core(x, w, init, pad, acc, mult, sh, sw, dh, dw, ph, pw):
    n_, h, wd, _ = x.shape
    _, kh, kw, cout = w.shape
    _, oh, ow, _ = acc.shape
    for n in range(n_):
        for oy in range(oh):
            for ox in range(ow):
                for oc in range(cout):
                    acc[n, oy, ox, oc] = init[oc]
                for ky in range(kh):
                    iy = oy * sh - ph + ky * dh
                    for kx in range(kw):
                        ix = ox * sw - pw + kx * dw
                        inside = 0 <= iy < h and 0 <= ix < wd
                        for oc in range(cout):
                            v = x[n, iy, ix, oc // mult] if inside else pad
                            acc[n, oy, ox, oc] += w[0, ky, kx, oc] * v


@jit
def fc_core(x, w, init, acc):
    for b in range(x.shape[0]):
        for o in range(w.shape[0]):
            total = init[o]
            for k in range(w.shape[1]):
                total += w[o, k] * x[b, k]
            acc[b, o] = total


@jit
def pool_core(x, out, fh, fw, sh, sw, ph, pw, average):
    """Sum (average=True) or max over the in-image taps; returns tap counts for averages."""
    n_, h, wd, c = x.shape
    _, oh, ow, _ = out.shape
    counts = np.zeros((oh, ow), np.int64)
    for n in range(n_):
        for oy in range(oh):
            for ox in range(ow):
                count = 0
                for ch in range(c):
                    out[n, oy, ox, ch] = 0 if average else -np.inf
                for ky in range(fh):
                    iy = oy * sh - ph + ky
                    for kx in range(fw):
                        ix = ox * sw - pw + kx
                        if 0 <= iy < h and 0 <= ix < wd:
                            count += 1
                            for ch in range(c):
                                if average:
                                    out[n, oy, ox, ch] += x[n, iy, ix, ch]
                                else:
                                    out[n, oy, ox, ch] = max(out[n, oy, ox, ch], x[n, iy, ix, ch])
                counts[oy, ox] = count
    return counts


@jit
def average_int8(total, counts, lo, hi):
    out = np.empty(total.shape, np.int8)
    for n in range(total.shape[0]):
        for oy in range(total.shape[1]):
            for ox in range(total.shape[2]):
                cnt = counts[oy, ox]
                for ch in range(total.shape[3]):
                    s = np.int64(total[n, oy, ox, ch])
                    avg = (s + cnt // 2) // cnt if s > 0 else -((-s + cnt // 2) // cnt)
                    out[n, oy, ox, ch] = min(max(avg, lo), hi)
    return out


@jit
def add_int8(a, b, zp1, zp2, zpo, m1, m2, mo, sh1, sh2, sho, left, lo, hi):
    out = np.empty(a.shape, np.int8)
    fa, fb, fo = a.ravel(), b.ravel(), out.ravel()
    for i in range(fa.size):
        s1 = rdbpot(srdhm(wrap32((np.int64(fa[i]) - zp1) << left), m1), -sh1)
        s2 = rdbpot(srdhm(wrap32((np.int64(fb[i]) - zp2) << left), m2), -sh2)
        y = rdbpot(srdhm(wrap32(s1 + s2), mo), -sho) + zpo
        fo[i] = min(max(y, lo), hi)
    return out


@jit
def requantize_int8(x, m, shift, zp_in, zp_out):
    out = np.empty(x.shape, np.int8)
    fx, fo = x.ravel(), out.ravel()
    for i in range(fx.size):
        fo[i] = min(max(mbqm(np.int64(fx[i]) - zp_in, m, shift) + zp_out, -128), 127)
    return out


# ---- softmax fixed point ----------------------------------------------------------------

@jit
def exp_on_interval(a):
    x = a + (1 << 28)
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4_4 = rdbpot(srdhm(x2, x2), 2)
    t = rdbpot(srdhm(x4_4 + x3, 715827883) + x2, 1)
    return 1895147668 + srdhm(1895147668, x + t)


@jit
def exp_on_negative_values(a):
    if a == 0:
        return I32_MAX
    quarter = 1 << 24
    amq = (a & (quarter - 1)) - quarter
    result = exp_on_interval(sat_shl(amq, 5))
    rem = amq - a
    consts = (1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242)
    for k in range(7):
        if (rem >> (24 + k)) & 1:
            result = srdhm(result, consts[k])
    return result


@jit
def one_over_one_plus_x(a):
    s = np.int64(a) + I32_MAX
    h = (s + 1) // 2 if s >= 0 else -((1 - s) // 2)
    x = 1515870810 + srdhm(h, -1010580540)
    for _ in range(3):
        x = x + sat_shl(srdhm(x, (1 << 29) - srdhm(h, x)), 2)
    return sat_shl(x, 1)


@jit
def softmax_int8(rows, m, left, diff_min):
    out = np.empty(rows.shape, np.int8)
    e = np.zeros(rows.shape[1], np.int64)
    for r in range(rows.shape[0]):
        mx = np.int64(rows[r].max())
        total = np.int64(0)
        for i in range(rows.shape[1]):
            d = np.int64(rows[r, i]) - mx
            if d >= diff_min:
                e[i] = exp_on_negative_values(srdhm(wrap32(d << left), m))
                total = wrap32(total + rdbpot(e[i], 12))
        h = 32
        while h > 0 and (total >> (32 - h)) != 0:
            h -= 1
        inv = one_over_one_plus_x(wrap32((total << h) - (1 << 31)))
        exponent = (12 - h) + 31 - 8
        for i in range(rows.shape[1]):
            if np.int64(rows[r, i]) - mx >= diff_min:
                out[r, i] = min(max(rdbpot(srdhm(inv, e[i]), exponent) - 128, -128), 127)
            else:
                out[r, i] = -128
    return out


# ---- kernel entry points ------------------------------------------------------------------

def _geometry(call: Call):
    sh, sw = call.attr("stride")
    dh, dw = call.attr("dilation", [1, 1])
    ph, pw = call.attr("pad")
    return sh, sw, dh, dw, ph, pw


def _i32s(call: Call, name: str) -> np.ndarray:
    return np.atleast_1d(np.asarray(call.attr(name), np.int64))


def _int8_out(acc, call: Call):
    return [requantize_channels(acc, _i32s(call, "multiplier"), _i32s(call, "shift"),
                                call.attr("zp_out"), call.attr("act_min"), call.attr("act_max"))]


@kernel("CONV_2D", "numba")
def conv2d(call: Call):
    check_shapes(call)
    x, w, _, bias_zp = call.inputs
    acc = np.empty(call.out_tensor(0).shape, np.int64)
    conv_core(x, w, bias_zp.astype(np.int64), np.int64(call.attr("zp_in")), acc, *_geometry(call))
    return _int8_out(acc, call)


@kernel("DEPTHWISE_CONV_2D", "numba")
def depthwise_conv2d(call: Call):
    check_shapes(call)
    x, w, _, bias_zp = call.inputs
    acc = np.empty(call.out_tensor(0).shape, np.int64)
    depthwise_core(x, w, bias_zp.astype(np.int64), np.int64(call.attr("zp_in")), acc,
                   call.attr("depth_multiplier"), *_geometry(call))
    return _int8_out(acc, call)


@kernel("FULLY_CONNECTED", "numba")
def fully_connected(call: Call):
    check_shapes(call)
    x, w, _, bias_zp = call.inputs
    x = x.reshape(-1, w.shape[1])
    acc = np.empty((x.shape[0], w.shape[0]), np.int64)
    fc_core(x, w, bias_zp.astype(np.int64), acc)
    return [_int8_out(acc, call)[0].reshape(call.out_tensor(0).shape)]


def _pool(call: Call, average: bool, dtype):
    check_shapes(call)
    x = call.inputs[0]
    out = np.empty(call.out_tensor(0).shape, dtype)
    counts = pool_core(x, out, *call.attr("filter"), *call.attr("stride"), *call.attr("pad"), average)
    if np.any(counts == 0):
        raise ModelError(f"node {call.node.name!r} ({call.node.op}): a window lies entirely outside the image")
    return out, counts


@kernel("AVERAGE_POOL_2D", "numba")
def average_pool(call: Call):
    total, counts = _pool(call, True, np.int64)
    return [average_int8(total, counts, call.attr("act_min"), call.attr("act_max"))]


@kernel("MAX_POOL_2D", "numba")
def max_pool(call: Call):
    out, _ = _pool(call, False, np.float64)
    return [np.clip(out, call.attr("act_min"), call.attr("act_max")).astype(np.int8)]


@kernel("ADD", "numba")
def add(call: Call):
    check_shapes(call)
    shape = call.out_tensor(0).shape
    a, b = (np.ascontiguousarray(np.broadcast_to(v, shape)) for v in call.inputs[:2])
    return [add_int8(a, b, *call.attr("zp"), *call.attr("multiplier"), *call.attr("shift"),
                     call.attr("left_shift"), call.attr("act_min"), call.attr("act_max"))]


@kernel("REQUANTIZE", "numba")
def requantize(call: Call):
    check_attrs(call)
    return [requantize_int8(call.inputs[0], call.attr("multiplier"), call.attr("shift"),
                            call.attr("zp_in"), call.attr("zp_out"))]


@kernel("SOFTMAX", "numba")
def softmax(call: Call):
    check_attrs(call)
    x = call.inputs[0]
    rows = np.ascontiguousarray(x.reshape(-1, x.shape[-1]))
    return [softmax_int8(rows, call.attr("multiplier"), call.attr("shift"), call.attr("diff_min")).reshape(x.shape)]


# QUANTIZE / DEQUANTIZE / RESHAPE are single vector expressions: numpy is already the fast path.
for _op, _fn in (("QUANTIZE", quantize), ("DEQUANTIZE", dequantize), ("RESHAPE", reshape)):
    kernel(_op, "numba")(_fn)


# ---- float32 ------------------------------------------------------------------------------

@kernel("CONV_2D_F32", "numba")
def conv2d_f32(call: Call):
    check_shapes(call)
    x, w, bias = call.inputs[:3]
    acc = np.empty(call.out_tensor(0).shape, np.float32)
    conv_core(x, w, bias, np.float32(0), acc, *_geometry(call))
    return [_clamp(acc, call)]


@kernel("DEPTHWISE_CONV_2D_F32", "numba")
def depthwise_conv2d_f32(call: Call):
    check_shapes(call)
    x, w, bias = call.inputs[:3]
    acc = np.empty(call.out_tensor(0).shape, np.float32)
    depthwise_core(x, w, bias, np.float32(0), acc, call.attr("depth_multiplier"), *_geometry(call))
    return [_clamp(acc, call)]


@kernel("FULLY_CONNECTED_F32", "numba")
def fully_connected_f32(call: Call):
    check_shapes(call)
    x, w, bias = call.inputs[:3]
    x = x.reshape(-1, w.shape[1])
    acc = np.empty((x.shape[0], w.shape[0]), np.float32)
    fc_core(x, w, bias, acc)
    return [_clamp(acc, call).reshape(call.out_tensor(0).shape)]


@kernel("AVERAGE_POOL_2D_F32", "numba")
def average_pool_f32(call: Call):
    total, counts = _pool(call, True, np.float32)
    return [_clamp(total / counts[None, :, :, None].astype(np.float32), call)]


@kernel("MAX_POOL_2D_F32", "numba")
def max_pool_f32(call: Call):
    out, _ = _pool(call, False, np.float32)
    return [_clamp(out, call)]


# Elementwise float ops are single vector expressions: numpy is already the fast path.
kernel("ADD_F32", "numba")(add_f32)
kernel("SOFTMAX_F32", "numba")(softmax_f32)
