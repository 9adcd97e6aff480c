"""ONNX 2-D pooling, NCHW. Attributes: kernel_shape [kh, kw], strides, pads [t, l, b, r],
dilations (max pools), count_include_pad (average pools). GlobalAveragePool is an average
pool whose kernel is the whole plane.

  ONNX_AVERAGE_POOL_F32    sum of the window's in-bounds values in (ky, kx) order from +0.0,
                           divided by n (the in-bounds count, or kh*kw with count_include_pad)
  ONNX_QLINEAR_AVERAGE_POOL  S = sum of (x - x_zp) over the in-bounds window, requantized like
                           a conv: y = saturate(rint(float32(S) * m) + y_zp) with the float32
                           m = x_scale / (y_scale * float32(n)) (m = 0 when n = 0), as ONNX
                           Runtime's QLinearGlobalAveragePool; attrs x_scale, x_zero_point,
                           y_scale, y_zero_point, out_min/out_max
  ONNX_MAX_POOL_F32        max of the in-bounds values (NaN ignored; -inf if none)
  ONNX_QMAX_POOL           m = max of the in-bounds int values, then the QDQ requantization
                           y = saturate(rint(((float32(m) - x_zp) * x_scale) / y_scale) + y_zp);
                           exact against DQ -> MaxPool -> Q because dequantization is monotonic
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import kernel, op_info
from .onnx_quant import out_range, requantize, requantize_one, wrap32, wrap_int32


def _geometry(call):
    kh, kw = call.attr("kernel_shape")
    sh, sw = call.attr("strides", [1, 1])
    pt, pl, _, _ = call.attr("pads", [0, 0, 0, 0])
    dh, dw = call.attr("dilations", [1, 1])
    return int(kh), int(kw), int(sh), int(sw), int(pt), int(pl), int(dh), int(dw)


def _taps(call, x, fill):
    """Yield (view, valid) per kernel tap in (ky, kx) order: the input values at that tap for
    every output position (fill where out of bounds) and the in-bounds mask."""
    kh, kw, sh, sw, pt, pl, dh, dw = _geometry(call)
    n, c, h, w = x.shape
    oh, ow = call.out_tensor(0).shape[2:]
    oy = np.arange(oh) * sh - pt
    ox = np.arange(ow) * sw - pl
    for ky in range(kh):
        for kx in range(kw):
            iy, ix = oy + ky * dh, ox + kx * dw
            valid = ((iy >= 0) & (iy < h))[:, None] & ((ix >= 0) & (ix < w))[None, :]
            view = x[:, :, np.clip(iy, 0, h - 1)][:, :, :, np.clip(ix, 0, w - 1)]
            yield np.where(valid, view, fill), valid


def _sum_count(call, x, zero):
    total, count = None, 0
    for view, valid in _taps(call, x, zero):
        total = view if total is None else total + view
        count = count + valid.astype(np.int32)
    if call.attr("count_include_pad", 0):
        kh, kw = call.attr("kernel_shape")
        count = np.full_like(count, kh * kw)
    return total, count


@kernel("ONNX_AVERAGE_POOL_F32", "numpy")
def average_pool_f32_ref(call):
    x = call.inputs[0].astype(np.float32)
    total, count = _sum_count(call, x, np.float32(0))
    return [(np.float32(0) + total) / count.astype(np.float32)]


@kernel("ONNX_QLINEAR_AVERAGE_POOL", "numpy")
def qlinear_average_pool_ref(call):
    out = call.out_tensor(0)
    x = call.inputs[0].astype(np.int64) - call.attr("x_zero_point")
    total, count = _sum_count(call, x, 0)
    x_s, _, y_s, y_zp = _qmax_params(call)
    n = count.astype(np.float32)
    m = np.where(count > 0, x_s / (y_s * np.maximum(n, np.float32(1))), np.float32(0))  # n = 0: all padding
    lo, hi = out_range(call, out.dtype)
    return [requantize(wrap_int32(total), m, int(y_zp), lo, hi, out.dtype)]


@kernel("ONNX_MAX_POOL_F32", "numpy")
def max_pool_f32_ref(call):
    best = np.full(call.out_tensor(0).shape, -np.inf, np.float32)
    for view, _ in _taps(call, call.inputs[0].astype(np.float32), np.float32(-np.inf)):
        best = np.where(view > best, view, best)
    return [best]


def _qmax_params(call):
    f = np.float32
    return f(call.attr("x_scale")), f(call.attr("x_zero_point")), f(call.attr("y_scale")), f(call.attr("y_zero_point"))


@kernel("ONNX_QMAX_POOL", "numpy")
def qmax_pool_ref(call):
    out = call.out_tensor(0)
    best = None
    for view, _ in _taps(call, call.inputs[0].astype(np.int32), np.int32(-2**31)):
        best = view if best is None else np.maximum(view, best)
    x_s, x_zp, y_s, y_zp = _qmax_params(call)
    lo, hi = out_range(call, out.dtype)
    f = (best.astype(np.float32) - x_zp) * x_s / y_s
    return [np.clip(np.rint(f) + y_zp, lo, hi).astype(out.dtype)]


# -- Numba --------------------------------------------------------------------------------

@njit(cache=True)
def _pool_nb(x, geom, include_pad, mode, params, y):
    """mode 0: float average, 1: quantized average, 2: float max, 3: quantized max.
    params for 1 and 3: (x_scale, x_zp, y_scale, y_zp, lo, hi)."""
    kh, kw, sh, sw, pt, pl, dh, dw = geom
    n, c, h, w = x.shape
    oh, ow = y.shape[2], y.shape[3]
    for b in range(n):
        for ch in range(c):
            for oy in range(oh):
                for ox in range(ow):
                    fsum = np.float32(0.0)
                    isum = np.int64(0)
                    fmax = np.float32(-np.inf)
                    imax = np.int64(-2**31)
                    count = 0
                    for ky in range(kh):
                        iy = oy * sh - pt + ky * dh
                        if iy < 0 or iy >= h:
                            continue
                        for kx in range(kw):
                            ix = ox * sw - pl + kx * dw
                            if ix < 0 or ix >= w:
                                continue
                            v = x[b, ch, iy, ix]
                            count += 1
                            if mode == 0:
                                fsum = fsum + np.float32(v)
                            elif mode == 1:
                                isum += np.int64(v) - np.int64(params[1])
                            elif mode == 2:
                                if np.float32(v) > fmax:
                                    fmax = np.float32(v)
                            elif np.int64(v) > imax:
                                imax = np.int64(v)
                    if include_pad:
                        count = kh * kw
                    if mode == 0:
                        y[b, ch, oy, ox] = fsum / np.float32(count)
                    elif mode == 2:
                        y[b, ch, oy, ox] = fmax
                    elif mode == 1:
                        m = np.float32(0.0)
                        if count > 0:
                            m = np.float32(params[0]) / (np.float32(params[2]) * np.float32(count))
                        y[b, ch, oy, ox] = requantize_one(wrap32(isum), m, np.int32(params[3]), np.int32(params[4]),
                                                          np.int32(params[5]))
                    else:
                        f = (np.float32(imax) - np.float32(params[1])) * np.float32(params[0]) / np.float32(params[2])
                        r = np.rint(f) + np.float32(params[3])
                        lo, hi = np.float32(params[4]), np.float32(params[5])
                        if r < lo:
                            r = lo
                        if r > hi:
                            r = hi
                        y[b, ch, oy, ox] = np.int32(r)


_MODES = {"ONNX_AVERAGE_POOL_F32": 0, "ONNX_QLINEAR_AVERAGE_POOL": 1, "ONNX_MAX_POOL_F32": 2, "ONNX_QMAX_POOL": 3}


@kernel("ONNX_AVERAGE_POOL_F32", "numba")
@kernel("ONNX_QLINEAR_AVERAGE_POOL", "numba")
@kernel("ONNX_MAX_POOL_F32", "numba")
@kernel("ONNX_QMAX_POOL", "numba")
def pool_nb(call):
    out = call.out_tensor(0)
    mode = _MODES[call.node.op]
    x = np.ascontiguousarray(call.inputs[0])
    params = np.zeros(6, np.float64)
    if mode in (1, 3):
        lo, hi = out_range(call, out.dtype)
        params = np.array(list(_qmax_params(call)) + [lo, hi], np.float64)
    y = np.empty(out.shape, out.dtype)
    _pool_nb(x, np.array(_geometry(call), np.int64), bool(call.attr("count_include_pad", 0)), mode, params, y)
    return [y]


def pool_macs(node, tensors):
    kh, kw = node.attrs["kernel_shape"]
    return int(np.prod(tensors[node.outputs[0]].shape, dtype=np.int64)) * int(kh) * int(kw)


for _op in _MODES:
    op_info(_op, macs=pool_macs, family="onnx")
