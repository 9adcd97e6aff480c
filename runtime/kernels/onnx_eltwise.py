"""ONNX element-wise ops: QDQ-fused Add, float Add / Relu / Clip.

  ONNX_QLINEAR_ADD  a, b (int8/uint8, NumPy broadcasting) -> int8/uint8; evaluates the QDQ graph
                    exactly in float32: y = saturate(rint((dq(a) + dq(b)) / y_scale) + y_zp) with
                    dq(v) = (float32(v) - float32(zp)) * scale; attrs a_scale, a_zero_point,
                    b_scale, b_zero_point, y_scale, y_zero_point, out_min/out_max (fused Relu)
  ONNX_ADD_F32      a + b (NumPy broadcasting)
  ONNX_RELU_F32     x < 0 ? 0 : x        (NaN passes through)
  ONNX_CLIP_F32     min(max(x, min), max) written as comparisons, NaN passes through; attrs min, max
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import kernel, op_info
from .onnx_quant import out_range


def _qadd_params(call):
    f = np.float32
    return (f(call.attr("a_scale")), f(call.attr("a_zero_point")), f(call.attr("b_scale")),
            f(call.attr("b_zero_point")), f(call.attr("y_scale")), f(call.attr("y_zero_point")))


@kernel("ONNX_QLINEAR_ADD", "numpy")
def qlinear_add_ref(call):
    a, b = call.inputs
    out = call.out_tensor(0)
    a_s, a_zp, b_s, b_zp, y_s, y_zp = _qadd_params(call)
    s = (a.astype(np.float32) - a_zp) * a_s + (b.astype(np.float32) - b_zp) * b_s
    lo, hi = out_range(call, out.dtype)
    return [np.clip(np.rint(s / y_s) + y_zp, lo, hi).astype(out.dtype)]


@njit(cache=True)
def _qadd_nb(a, b, a_s, a_zp, b_s, b_zp, y_s, y_zp, lo, hi, y):
    for i in range(y.size):
        s = (np.float32(a[i]) - a_zp) * a_s + (np.float32(b[i]) - b_zp) * b_s
        r = np.rint(s / y_s) + y_zp
        if r < lo:
            r = lo
        if r > hi:
            r = hi
        y[i] = np.int32(r)


def _flat_broadcast(call):
    shape = call.out_tensor(0).shape
    return [np.ascontiguousarray(np.broadcast_to(x, shape)).reshape(-1) for x in call.inputs[:2]]


@kernel("ONNX_QLINEAR_ADD", "numba")
def qlinear_add_nb(call):
    out = call.out_tensor(0)
    a, b = _flat_broadcast(call)
    lo, hi = out_range(call, out.dtype)
    y = np.empty(a.size, out.dtype)
    _qadd_nb(a, b, *_qadd_params(call), np.float32(lo), np.float32(hi), y)
    return [y.reshape(out.shape)]


@kernel("ONNX_ADD_F32", "numpy")
def add_f32_ref(call):
    a, b = call.inputs
    return [a.astype(np.float32) + b.astype(np.float32)]


@njit(cache=True)
def _add_nb(a, b, y):
    for i in range(y.size):
        y[i] = a[i] + b[i]


@kernel("ONNX_ADD_F32", "numba")
def add_f32_nb(call):
    a, b = (x.astype(np.float32) for x in _flat_broadcast(call))
    y = np.empty(a.size, np.float32)
    _add_nb(a, b, y)
    return [y.reshape(call.out_tensor(0).shape)]


def _clip_bounds(call):
    if call.node.op == "ONNX_RELU_F32":
        return np.float32(0), np.float32(np.inf)
    return np.float32(call.attr("min", -np.inf)), np.float32(call.attr("max", np.inf))


@kernel("ONNX_RELU_F32", "numpy")
@kernel("ONNX_CLIP_F32", "numpy")
def clip_ref(call):
    lo, hi = _clip_bounds(call)
    x = call.inputs[0].astype(np.float32)
    x = np.where(x < lo, lo, x)
    return [np.where(x > hi, hi, x)]


@njit(cache=True)
def _clip_nb(x, lo, hi, y):
    for i in range(x.size):
        v = x[i]
        if v < lo:
            v = lo
        if v > hi:
            v = hi
        y[i] = v


@kernel("ONNX_RELU_F32", "numba")
@kernel("ONNX_CLIP_F32", "numba")
def clip_nb(call):
    x = np.ascontiguousarray(call.inputs[0], np.float32).reshape(-1)
    y = np.empty_like(x)
    _clip_nb(x, *_clip_bounds(call), y)
    return [y.reshape(call.out_tensor(0).shape)]


for _op in ("ONNX_QLINEAR_ADD", "ONNX_ADD_F32", "ONNX_RELU_F32", "ONNX_CLIP_F32"):
    op_info(_op, family="onnx")
