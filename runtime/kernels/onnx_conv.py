"""ONNX 2-D convolution, NCHW: QLinearConv (and fused QDQ Conv), ConvInteger, float Conv.

Attributes (normalised by the importer): strides [sh, sw], pads [top, left, bottom, right],
dilations [dh, dw], group. Weights are (M, C/group, kH, kW).
  ONNX_QLINEAR_CONV  x, w, bias?(int32) -> int8/uint8; attrs x_zero_point, w_zero_point
                     (1 or M values), y_zero_point, multiplier (1 or M float32:
                     float32(float32(x_scale * w_scale) / y_scale)), out_min/out_max (fused Relu)
  ONNX_CONV_INTEGER  x, w -> int32 sum of (x - x_zp)(w - w_zp); attrs x_zero_point, w_zero_point
  ONNX_CONV_F32      x, w, bias? -> float32; each output sums its products in the order
                     (input channel, ky, kx) from +0.0, then adds the bias
Padding holds the zero point (contributes nothing). Integer sums accumulate modulo 2**32.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import kernel, op_info
from .onnx_quant import out_range, requantize, requantize_one, wrap32, wrap_int32


def geometry(call):
    sh, sw = call.attr("strides", [1, 1])
    pt, pl, pb, pr = call.attr("pads", [0, 0, 0, 0])
    dh, dw = call.attr("dilations", [1, 1])
    return (int(sh), int(sw)), (int(pt), int(pl), int(pb), int(pr)), (int(dh), int(dw)), int(call.attr("group", 1))


def _windows(x, w_shape, out_shape, strides, pads, dilations):
    """Yield ((ky, kx), view) for each kernel tap: x's padded values seen at that tap,
    shape (N, C, OH, OW). x is already centred (padding value 0)."""
    kh, kw = w_shape[2:]
    oh, ow = out_shape[2:]
    (sh, sw), (pt, pl, pb, pr), (dh, dw) = strides, pads, dilations
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    for ky in range(kh):
        for kx in range(kw):
            y0, x0 = ky * dh, kx * dw
            yield (ky, kx), xp[:, :, y0:y0 + sh * (oh - 1) + 1:sh, x0:x0 + sw * (ow - 1) + 1:sw]


def conv_int_acc_ref(x, w, x_zp, w_zp, out_shape, strides, pads, dilations, group):
    """Exact int64 sums of (x - x_zp)(w - w_zp): the readable reference."""
    n, c = x.shape[:2]
    m = w.shape[0]
    xc = x.astype(np.int64) - x_zp
    wc = w.astype(np.int64) - np.asarray(w_zp, np.int64).reshape(-1, 1, 1, 1)
    wg = wc.reshape(group, m // group, c // group, *w.shape[2:])
    acc = np.zeros((n, group, m // group) + tuple(out_shape[2:]), np.int64)
    for (ky, kx), view in _windows(xc, w.shape, out_shape, strides, pads, dilations):
        vg = view.reshape(n, group, c // group, *view.shape[2:])
        acc += np.einsum("ngchw,gmc->ngmhw", vg, wg[:, :, :, ky, kx])
    return acc.reshape(n, m, *out_shape[2:])


@kernel("ONNX_QLINEAR_CONV", "numpy")
def qlinear_conv_ref(call):
    x, w, bias = (call.inputs + [None])[:3]
    out = call.out_tensor(0)
    acc = conv_int_acc_ref(x, w, call.attr("x_zero_point"), call.attr("w_zero_point"), out.shape, *geometry(call))
    if bias is not None:
        acc += bias.astype(np.int64).reshape(1, -1, 1, 1)
    mult = np.asarray(call.attr("multiplier"), np.float32).reshape(1, -1, 1, 1)
    lo, hi = out_range(call, out.dtype)
    return [requantize(wrap_int32(acc), mult, call.attr("y_zero_point"), lo, hi, out.dtype)]


@kernel("ONNX_CONV_INTEGER", "numpy")
def conv_integer_ref(call):
    x, w = call.inputs[:2]
    acc = conv_int_acc_ref(x, w, call.attr("x_zero_point"), call.attr("w_zero_point"), call.out_tensor(0).shape,
                           *geometry(call))
    return [wrap_int32(acc)]


@kernel("ONNX_CONV_F32", "numpy")
def conv_f32_ref(call):
    x, w, bias = (call.inputs + [None])[:3]
    out = call.out_tensor(0)
    strides, pads, dilations, group = geometry(call)
    n, c = x.shape[:2]
    m, cg = w.shape[:2]
    wg = w.astype(np.float32).reshape(group, m // group, cg, *w.shape[2:])
    acc = np.zeros((n, group, m // group) + tuple(out.shape[2:]), np.float32)
    taps = [(tap, view.reshape(n, group, cg, *view.shape[2:]))
            for tap, view in _windows(x.astype(np.float32), w.shape, out.shape, strides, pads, dilations)]
    for ci in range(cg):  # fixed summation order: channel, then ky, then kx
        for (ky, kx), vg in taps:
            acc += vg[:, :, None, ci] * wg[None, :, :, ci, ky, kx, None, None]
    acc = acc.reshape(out.shape)
    if bias is not None:
        acc = acc + bias.astype(np.float32).reshape(1, -1, 1, 1)
    return [acc]


# -- Numba --------------------------------------------------------------------------------

@njit(cache=True)
def _span(out, s, p, kd, size):
    """Output positions [lo, hi) whose input position o * s - p + kd lies in [0, size)."""
    first, last = p - kd, size - 1 + p - kd
    lo = 0 if first <= 0 else (first + s - 1) // s
    hi = 0 if last < 0 else min(last // s + 1, out)
    return min(lo, hi), hi


@njit(cache=True)
def _conv_nb(x, w, bias, out, sh, sw, pt, pl, dh, dw, group):
    """Each output channel accumulates as a plane, tap by tap in the order (channel, ky, kx),
    then adds the bias. x, w, bias, out: int64 (centred operands, exact sums) or float32."""
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    oh, ow = out.shape[2], out.shape[3]
    mg = m // group
    for b in range(n):
        for oc in range(m):
            plane = out[b, oc]
            plane[:, :] = 0
            ic0 = (oc // mg) * cg
            for ci in range(cg):
                for ky in range(kh):
                    y0, y1 = _span(oh, sh, pt, ky * dh, h)
                    for kx in range(kw):
                        x0, x1 = _span(ow, sw, pl, kx * dw, wd)
                        wv = w[oc, ci, ky, kx]
                        for oy in range(y0, y1):
                            iy = oy * sh - pt + ky * dh
                            for ox in range(x0, x1):
                                plane[oy, ox] += x[b, ic0 + ci, iy, ox * sw - pl + kx * dw] * wv
            for oy in range(oh):
                for ox in range(ow):
                    plane[oy, ox] += bias[oc]


@njit(cache=True)
def _requantize_nchw(acc, mult, zp, lo, hi, y):
    n, m, oh, ow = acc.shape
    per_channel = mult.size > 1
    for b in range(n):
        for oc in range(m):
            mc = mult[oc] if per_channel else mult[0]
            for oy in range(oh):
                for ox in range(ow):
                    y[b, oc, oy, ox] = requantize_one(wrap32(acc[b, oc, oy, ox]), mc, zp, lo, hi)


def _centred(call):
    x, w = call.inputs[:2]
    w_zp = np.asarray(call.attr("w_zero_point"), np.int64).reshape(-1, 1, 1, 1)
    return (np.ascontiguousarray(x.astype(np.int64) - np.int64(call.attr("x_zero_point"))),
            np.ascontiguousarray(w.astype(np.int64) - w_zp))


def _int_acc_nb(call, with_bias: bool):
    x, w = _centred(call)
    out = call.out_tensor(0)
    bias = call.inputs[2] if with_bias and len(call.inputs) > 2 and call.inputs[2] is not None else None
    bias = np.zeros(w.shape[0], np.int64) if bias is None else bias.astype(np.int64).reshape(-1)
    (sh, sw), (pt, pl, _, _), (dh, dw), group = geometry(call)
    acc = np.empty(out.shape, np.int64)
    _conv_nb(x, w, bias, acc, sh, sw, pt, pl, dh, dw, group)
    return acc


@kernel("ONNX_QLINEAR_CONV", "numba")
def qlinear_conv_nb(call):
    out = call.out_tensor(0)
    acc = _int_acc_nb(call, True)
    lo, hi = out_range(call, out.dtype)
    y = np.empty(out.shape, out.dtype)
    _requantize_nchw(acc, np.asarray(call.attr("multiplier"), np.float32).reshape(-1),
                     np.int32(call.attr("y_zero_point")), np.int32(lo), np.int32(hi), y)
    return [y]


@kernel("ONNX_CONV_INTEGER", "numba")
def conv_integer_nb(call):
    return [wrap_int32(_int_acc_nb(call, False))]


@kernel("ONNX_CONV_F32", "numba")
def conv_f32_nb(call):
    x, w = (np.ascontiguousarray(a, np.float32) for a in call.inputs[:2])
    bias = call.inputs[2] if len(call.inputs) > 2 else None
    bias = np.zeros(w.shape[0], np.float32) if bias is None else np.ascontiguousarray(bias, np.float32).reshape(-1)
    out = call.out_tensor(0)
    (sh, sw), (pt, pl, _, _), (dh, dw), group = geometry(call)
    y = np.empty(out.shape, np.float32)
    _conv_nb(x, w, bias, y, sh, sw, pt, pl, dh, dw, group)
    return [y]


def conv_macs(node, tensors):
    out = tensors[node.outputs[0]].shape
    w = tensors[node.inputs[1]].shape
    return int(np.prod(out, dtype=np.int64) * np.prod(w[1:], dtype=np.int64))


for _op in ("ONNX_QLINEAR_CONV", "ONNX_CONV_INTEGER", "ONNX_CONV_F32"):
    op_info(_op, macs=conv_macs, family="onnx")
