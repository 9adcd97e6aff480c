"""QDQ model zoo for tests/onnx: each function builds one small QDQ ONNX model with QDQ(rng, ...)
and returns (model, input shape, ops edgert must fuse it into)."""
from __future__ import annotations

import numpy as np

from onnx_builders import QDQ, init


def conv(rng, dtype="uint8", per_channel=False, act=None, stride=1, pads=(1, 1, 1, 1), auto_pad=None,
         group=1, dilation=1, bias=True):
    b = QDQ(rng, (1, 4, 11, 11), dtype)
    x = b.act()
    w, ws = b.weight((8, 4 // group, 3, 3), 0 if per_channel else None)
    inputs = [x, w] + ([b.bias(8, np.float32(0.02) * ws)] if bias else [])
    attrs = {"strides": [stride, stride], "group": group, "dilations": [dilation, dilation]}
    if auto_pad:
        attrs["auto_pad"] = auto_pad
    else:
        attrs["pads"] = list(pads)
    span = dilation * 2 + 1
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        out = (-(-11 // stride),) * 2
    elif auto_pad == "VALID":
        out = ((11 - span) // stride + 1,) * 2
    else:
        out = tuple((11 + pads[i] + pads[i + 2] - span) // stride + 1 for i in (0, 1))
    b.stage("Conv", inputs, (1, 8) + out, 0.05, act=act, **attrs)
    return b.build(), (1, 4, 11, 11), ["ONNX_QUANTIZE_LINEAR", "ONNX_QLINEAR_CONV", "ONNX_DEQUANTIZE_LINEAR"]


def matmul(rng, dtype="uint8", per_channel=True):
    b = QDQ(rng, (2, 5, 16), dtype)
    x = b.act()
    w, _ = b.weight((16, 6), 1 if per_channel else None)
    b.stage("MatMul", [x, w], (2, 5, 6), 0.08)
    return b.build(), (2, 5, 16), ["ONNX_QUANTIZE_LINEAR", "ONNX_QLINEAR_MATMUL", "ONNX_DEQUANTIZE_LINEAR"]


def gemm(rng, dtype="uint8", per_channel=True, act="Relu"):
    b = QDQ(rng, (3, 20), dtype)
    x = b.act()
    w, ws = b.weight((7, 20), 0 if per_channel else None)  # transB: (N, K)
    b.stage("Gemm", [x, w, b.bias(7, np.float32(0.02) * ws)], (3, 7), 0.06, act=act, transB=1)
    return b.build(), (3, 20), ["ONNX_QUANTIZE_LINEAR", "ONNX_QLINEAR_MATMUL", "ONNX_DEQUANTIZE_LINEAR"]


def add(rng, dtype="uint8"):
    """Residual add of two activations, then an add of a broadcast constant."""
    b = QDQ(rng, (1, 4, 6, 6), dtype)
    first = b.cur
    w, ws = b.weight((4, 4, 1, 1), None)
    b.stage("Conv", [b.act(first), w], (1, 4, 6, 6), 0.03)
    b.stage("Add", [b.act(), b.act(first)], (1, 4, 6, 6), 0.04)
    const = b._name("k")
    b.inits.append(init(const, rng.integers(0, 255, (1, 4, 1, 1)).astype(b.dtype)
                        if b.dtype == "uint8" else rng.integers(-128, 127, (1, 4, 1, 1)).astype(np.int8)))
    k = b.dequantize(const, np.float32(0.01), np.array(3, b.dtype))
    b.stage("Add", [b.act(), k], (1, 4, 6, 6), 0.05)
    return b.build(), (1, 4, 6, 6), ["ONNX_QUANTIZE_LINEAR", "ONNX_QLINEAR_CONV", "ONNX_QLINEAR_ADD",
                                     "ONNX_QLINEAR_ADD", "ONNX_DEQUANTIZE_LINEAR"]


def pools(rng, dtype="uint8", count_include_pad=0):
    b = QDQ(rng, (1, 3, 10, 10), dtype)
    b.stage("AveragePool", [b.act()], (1, 3, 5, 5), 0.015, kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
            count_include_pad=count_include_pad)
    b.stage("MaxPool", [b.act()], (1, 3, 4, 4), 0.02, kernel_shape=[2, 2], strides=[1, 1], dilations=[2, 2])
    b.stage("GlobalAveragePool", [b.act()], (1, 3, 1, 1), 0.01)
    return b.build(), (1, 3, 10, 10), ["ONNX_QUANTIZE_LINEAR", "ONNX_QLINEAR_AVERAGE_POOL", "ONNX_QMAX_POOL",
                                       "ONNX_QLINEAR_AVERAGE_POOL", "ONNX_DEQUANTIZE_LINEAR"]


def chain(rng, dtype="int8"):
    """A small CNN: conv+relu, maxpool, depthwise conv, global pool, flatten, gemm."""
    b = QDQ(rng, (1, 3, 16, 16), dtype)
    w, ws = b.weight((8, 3, 3, 3), 0)
    b.stage("Conv", [b.act(), w, b.bias(8, np.float32(0.02) * ws)], (1, 8, 8, 8), 0.04, act="Relu",
            strides=[2, 2], auto_pad="SAME_UPPER")
    b.stage("MaxPool", [b.act()], (1, 8, 4, 4), b.params[b.cur][0], kernel_shape=[2, 2], strides=[2, 2])
    scale_in = b.params[b.cur][0]
    w, ws = b.weight((8, 1, 3, 3), 0)
    b.stage("Conv", [b.act(), w, b.bias(8, scale_in * ws)], (1, 8, 4, 4), 0.05, act="Clip", group=8,
            pads=[1, 1, 1, 1])
    b.stage("GlobalAveragePool", [b.act()], (1, 8, 1, 1), 0.02)
    flat = b._name("flat")
    from onnx import helper
    b.nodes.append(helper.make_node("Flatten", [b.cur], [flat]))
    b.params[flat] = b.params[b.cur]
    b.cur = flat
    w, ws = b.weight((5, 8), 0)
    b.stage("Gemm", [b.act(), w, b.bias(5, b.params[flat][0] * ws)], (1, 5), 0.1, transB=1)
    return b.build(), (1, 3, 16, 16), ["ONNX_QUANTIZE_LINEAR", "ONNX_QLINEAR_CONV", "ONNX_QMAX_POOL",
                                       "ONNX_QLINEAR_CONV", "ONNX_QLINEAR_AVERAGE_POOL", "RESHAPE",
                                       "ONNX_QLINEAR_MATMUL", "ONNX_DEQUANTIZE_LINEAR"]
