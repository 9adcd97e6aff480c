"""What each node asks of a device, from the graph alone: the shape of its loops and its bytes.

Device-independent. Cost models turn a Work into instructions and cycles. Geometry comes from
tensor shapes (edgert's TFLite layouts: NHWC activations, HWIO conv weights, 1HWC depthwise weights,
[out, in] fully-connected weights; ONNX ops: NCHW activations, (M, C/group, kH, kW) weights)
and from node attributes where the shapes cannot tell.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edgert.runtime import kernels as runtime_kernels
from edgert.runtime.ir import CONST, Graph, Node, Tensor

from . import native_events

CONV_OPS = {"CONV_2D"}
DEPTHWISE_OPS = {"DEPTHWISE_CONV_2D"}
FC_OPS = {"FULLY_CONNECTED", "MATMUL", "BATCH_MATMUL"}
MAX_POOL_OPS = {"MAX_POOL_2D"}
AVG_POOL_OPS = {"AVERAGE_POOL_2D", "MEAN"}
ELTWISE_OPS = {"ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM", "RELU", "RELU6", "LEAKY_RELU", "LOGISTIC",
               "TANH", "HARD_SWISH", "ABS", "SQUARED_DIFFERENCE", "DIV"}
COPY_OPS = {"RESHAPE", "SQUEEZE", "EXPAND_DIMS", "FLATTEN", "CONCATENATION", "PAD", "TRANSPOSE",
            "SLICE", "STRIDED_SLICE", "GATHER", "IDENTITY"}
CONVERT_OPS = {"QUANTIZE", "DEQUANTIZE", "CAST", "REQUANTIZE"}
SOFTMAX_OPS = {"SOFTMAX", "LOG_SOFTMAX"}
# ONNX ops (docs/onnx.md) by the TFLite op whose loops they share; a grouped conv with one input
# channel per group is depthwise (_windowed)
ONNX_BASE = {"ONNX_QLINEAR_CONV": "CONV_2D", "ONNX_CONV_INTEGER": "CONV_2D", "ONNX_CONV_F32": "CONV_2D",
             "ONNX_QLINEAR_MATMUL": "MATMUL", "ONNX_MATMUL_INTEGER": "MATMUL", "ONNX_MATMUL_F32": "MATMUL",
             "ONNX_QMAX_POOL": "MAX_POOL_2D", "ONNX_MAX_POOL_F32": "MAX_POOL_2D",
             "ONNX_QLINEAR_AVERAGE_POOL": "AVERAGE_POOL_2D", "ONNX_AVERAGE_POOL_F32": "AVERAGE_POOL_2D",
             "ONNX_QLINEAR_ADD": "ADD", "ONNX_ADD_F32": "ADD", "ONNX_RELU_F32": "RELU", "ONNX_CLIP_F32": "RELU6",
             "ONNX_QUANTIZE_LINEAR": "QUANTIZE", "ONNX_DEQUANTIZE_LINEAR": "DEQUANTIZE"}
FAMILIES = {"non-neural": "nonneural", "snn": "snn"}  # runtime op families with their own cost models


@dataclass(frozen=True)
class Work:
    kind: str  # conv | dwconv | fc | maxpool | avgpool | eltwise | softmax | copy | convert | nonneural | snn | generic
    op: str
    float_math: bool  # arithmetic in floating point (float32 tensors, or a float side of a conversion)
    double: bool  # ... in float64: the node's first input is float64 (libsvm-exact non-neural kernels)
    macs: int  # the runtime's MAC count for the node
    outputs: int  # output elements
    reduction: int  # terms summed per output (Kh*Kw*Cin for conv, taps for dw/pool, Cin for fc)
    valid_terms: int  # terms actually computed over the whole node (padding taps skipped)
    rows: int  # outer dimension a kernel parallelises over (output rows, or output neurons for fc)
    row_outputs: int  # output elements per row
    channels: int  # output channels (or neurons)
    in_bytes: int  # activation bytes read
    weight_bytes: int  # constant bytes read
    out_bytes: int  # bytes written
    window: tuple = ()  # (Kh, Kw, stride_h, stride_w) for windowed ops
    events: dict | None = None  # loop events of our C kernel (native_events.py), None if not modelled


def node_work(node: Node, graph: Graph, macs: int) -> Work:
    t = graph.tensors
    ins = [t[i] for i in node.inputs if i >= 0]
    outs = [t[i] for i in node.outputs]
    act_in = [x for x in ins if x.storage != CONST]
    const_in = [x for x in ins if x.storage == CONST]
    in_bytes = sum(x.nbytes for x in act_in)
    w_bytes = sum(x.nbytes for x in const_in)
    out_bytes = sum(x.nbytes for x in outs)
    n_out = sum(_size(x.shape) for x in outs)
    float_math = any(x.dtype.startswith("float") for x in ins + outs)
    double = bool(ins) and ins[0].dtype == "float64"
    base = dict(op=node.op, float_math=float_math, double=double, macs=macs, outputs=n_out, in_bytes=in_bytes,
                weight_bytes=w_bytes, out_bytes=out_bytes, events=native_events.events(node, graph))
    op = base_op(node.op)
    if op in CONV_OPS | DEPTHWISE_OPS | MAX_POOL_OPS | AVG_POOL_OPS and len(ins[0].shape) == 4 and len(outs[0].shape) == 4:
        return _windowed(node, ins, outs, base)
    if op in FC_OPS:
        cin = ins[0].shape[-1] if ins[0].shape else 1
        cout = outs[0].shape[-1] if outs[0].shape else 1
        return Work("fc", reduction=cin, valid_terms=n_out * cin, rows=cout,
                    row_outputs=max(n_out // max(cout, 1), 1), channels=cout, **base)
    family = runtime_kernels.info(node.op).family
    if family in FAMILIES:  # parallel over the table rows: support vectors, points, trees, units
        table = const_in[0].shape[0] if const_in and const_in[0].shape else 1
        terms = macs or sum(_size(x.shape) for x in act_in)  # MACs, or one step per input element
        return Work(FAMILIES[family], reduction=1, valid_terms=terms, rows=max(table, 1), row_outputs=n_out,
                    channels=n_out, **base)
    kind = ("eltwise" if op in ELTWISE_OPS else "copy" if op in COPY_OPS else "convert" if op in CONVERT_OPS
            else "softmax" if op in SOFTMAX_OPS else "avgpool" if op in AVG_POOL_OPS else "generic")
    if kind == "convert":
        base["float_math"] = True  # (de)quantization scales in float
    last = outs[0].shape[-1] if outs[0].shape else 1
    rows = max(n_out // max(last, 1), 1)
    reduction = max(_size(ins[0].shape) // max(n_out, 1), 1) if ins else 1
    return Work(kind, reduction=reduction, valid_terms=n_out * reduction, rows=rows, row_outputs=last,
                channels=last, **base)


def conv2d_work(h: int, w: int, cin: int, cout: int, k: int, stride: int = 1) -> Work:
    """The Work of one int8 k x k SAME convolution on an h x w x cin map, for what-if studies."""
    g = Graph()
    ho, wo = math.ceil(h / stride), math.ceil(w / stride)
    x = g.add_tensor(Tensor("x", "int8", (1, h, w, cin)))
    wt = g.add_tensor(Tensor("w", "int8", (k, k, cin, cout), data=np.zeros((k, k, cin, cout), np.int8)))
    y = g.add_tensor(Tensor("y", "int8", (1, ho, wo, cout)))
    node = g.add_node("CONV_2D", [x, wt], [y], {"stride": [stride, stride], "dilation": [1, 1],
                                                "pad": [_same_pad(h, ho, k, stride, 1), _same_pad(w, wo, k, stride, 1)]})
    return node_work(node, g, ho * wo * cout * k * k * cin)


def base_op(op: str) -> str:
    """The op family: float variants are named like CONV_2D_F32; ONNX ops as in ONNX_BASE."""
    return ONNX_BASE.get(op) or (op[:-4] if op.endswith("_F32") else op)


def _windowed(node: Node, ins, outs, base: dict) -> Work:
    op = base_op(node.op)
    nchw = node.op in ONNX_BASE
    if nchw:
        (_, cin, h, w), (_, cout, ho, wo) = ins[0].shape, outs[0].shape
        groups = int(node.attrs.get("group", 1))
        if op in CONV_OPS and groups > 1:  # terms per output: one group's input channels
            op, cin = ("DEPTHWISE_CONV_2D", cin) if groups == cin == cout else (op, cin // groups)
    else:
        _, h, w, cin = ins[0].shape
        _, ho, wo, cout = outs[0].shape
    if op in CONV_OPS | DEPTHWISE_OPS:
        kh, kw = tuple(ins[1].shape[2:]) if nchw else native_events.filter_hw(ins[1].shape, op in DEPTHWISE_OPS)
    else:  # the importer's window; global pooling when the shapes say so, else window = stride
        kh, kw = _pair(node, "filter") or _pair(node, "kernel_shape") or (
            (h, w) if ho == wo == 1 else (max(h // ho, 1), max(w // wo, 1)))
    sh, sw = _pair(node, "stride") or _pair(node, "strides") or (_infer_stride(h, ho, kh), _infer_stride(w, wo, kw))
    dh, dw = _pair(node, "dilation") or _pair(node, "dilations") or (1, 1)
    pad_h, pad_w = _pair(node, "pad") or _pair(node, "pads") or (  # ONNX pads: top, left first
        _same_pad(h, ho, kh, sh, dh), _same_pad(w, wo, kw, sw, dw))
    valid_hw = _valid(h, ho, kh, sh, dh, pad_h) * _valid(w, wo, kw, sw, dw, pad_w)
    if op in CONV_OPS:
        kind, reduction, valid = "conv", kh * kw * cin, valid_hw * cin * cout
    elif op in DEPTHWISE_OPS:
        kind, reduction, valid = "dwconv", kh * kw, valid_hw * cout
    else:
        kind = "maxpool" if op in MAX_POOL_OPS else "avgpool"
        reduction, valid = kh * kw, valid_hw * cout
    return Work(kind, reduction=reduction, valid_terms=int(valid) * outs[0].shape[0], rows=ho * outs[0].shape[0],
                row_outputs=wo * cout, channels=cout, window=(kh, kw, sh, sw), **base)


def _pair(node: Node, name: str):
    """An attribute holding (h, w), as the importers write stride, dilation, pad and filter."""
    value = node.attrs.get(name)
    return None if value is None else (int(value[0]), int(value[1]))


def _infer_stride(size: int, out: int, k: int) -> int:
    if out <= 1:
        return 1
    for s in range(1, size + 1):  # SAME: out = ceil(size/s); VALID: out = ceil((size-k+1)/s)
        if math.ceil(size / s) == out or math.ceil((size - k + 1) / s) == out:
            return s
    return 1


def _same_pad(size, out, k, s, d) -> int:
    return max((out - 1) * s + (k - 1) * d + 1 - size, 0) // 2  # TFLite SAME: odd pixel at the end


def _valid(size, out, k, s, d, pad) -> int:
    """Number of (output position, tap) pairs along one axis that land inside the input."""
    pos = np.arange(out)[:, None] * s - pad + np.arange(k)[None, :] * d
    return int(np.count_nonzero((pos >= 0) & (pos < size)))


def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64)) if shape else 1
