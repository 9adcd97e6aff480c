"""TFLite float32 ops, numpy reference (TFLM reference kernels' arithmetic in float32).

Same geometry as the int8 ops (runtime/kernels/tflite_int8.py); the fused activation is a
float clamp [act_min, act_max] computed by the importer. Matches the tflite-micro wheel to
float32 rounding (summation order differs).
"""
from __future__ import annotations

import numpy as np

from . import Call, kernel, op_info
from .tflite_int8 import check_attrs, check_shapes, conv_macs, elementwise_macs, fc_macs, padded_windows, pool_macs


def _clamp(y, call: Call) -> np.ndarray:
    return np.clip(y, np.float32(call.attr("act_min")), np.float32(call.attr("act_max"))).astype(np.float32)


@kernel("CONV_2D_F32", "numpy")
def conv2d_f32(call: Call):
    check_shapes(call)
    x, w, bias = call.inputs[:3]
    kh, kw, _, _ = w.shape  # [KH, KW, C_in, C_out]
    win = padded_windows(x, call, kh, kw, np.float32(0))
    return [_clamp(np.tensordot(win, w, axes=([3, 4, 5], [0, 1, 2])) + bias, call)]


@kernel("DEPTHWISE_CONV_2D_F32", "numpy")
def depthwise_conv2d_f32(call: Call):
    check_shapes(call)
    x, w, bias = call.inputs[:3]
    _, kh, kw, _ = w.shape
    mult = call.attr("depth_multiplier")
    x = np.repeat(x, mult, axis=3) if mult > 1 else x
    win = padded_windows(x, call, kh, kw, np.float32(0))
    return [_clamp(np.einsum("nhwijc,ijc->nhwc", win, w[0]) + bias, call)]


@kernel("FULLY_CONNECTED_F32", "numpy")
def fully_connected_f32(call: Call):
    check_shapes(call)
    x, w, bias = call.inputs[:3]
    y = x.reshape(-1, w.shape[1]) @ w.T + bias
    return [_clamp(y, call).reshape(call.out_tensor(0).shape)]


@kernel("AVERAGE_POOL_2D_F32", "numpy")
def average_pool_f32(call: Call):
    check_shapes(call)
    x = call.inputs[0]
    fh, fw = call.attr("filter")
    total = padded_windows(x, call, fh, fw, np.float32(0)).sum(axis=(3, 4), dtype=np.float32)
    count = padded_windows(np.ones(x.shape[:3] + (1,), np.float32), call, fh, fw, np.float32(0)).sum(axis=(3, 4))
    return [_clamp(total / count, call)]


@kernel("MAX_POOL_2D_F32", "numpy")
def max_pool_f32(call: Call):
    check_shapes(call)
    x = call.inputs[0]
    fh, fw = call.attr("filter")
    win = padded_windows(x, call, fh, fw, np.float32(-np.inf))
    return [_clamp(win.max(axis=(3, 4)), call)]


@kernel("ADD_F32", "numpy")
def add_f32(call: Call):
    check_shapes(call)
    a, b = call.inputs[:2]
    return [_clamp(a + b, call)]


@kernel("SOFTMAX_F32", "numpy")
def softmax_f32(call: Call):
    check_attrs(call)
    x = call.inputs[0]
    e = np.exp((x - x.max(axis=-1, keepdims=True)) * np.float32(call.attr("beta")))
    return [(e / e.sum(axis=-1, keepdims=True)).astype(np.float32)]


for _op in ("CONV_2D_F32", "DEPTHWISE_CONV_2D_F32"):
    op_info(_op, macs=conv_macs, family="tflite")
op_info("FULLY_CONNECTED_F32", macs=fc_macs, family="tflite")
for _op in ("AVERAGE_POOL_2D_F32", "MAX_POOL_2D_F32"):
    op_info(_op, macs=pool_macs, family="tflite")
op_info("ADD_F32", macs=elementwise_macs, family="tflite", inplace=(0, 1))
op_info("SOFTMAX_F32", macs=elementwise_macs, family="tflite")
