"""Loop-event counts of OUR portable C kernels (native/src/kernels), exactly, from node geometry.

Each function follows its kernel's loop nest and counts how often each loop body runs: an
`event`. Instructions = sum over events of count x instructions-per-event, where the
per-event instruction counts are fitted per ISA to QEMU's exact counts of single-op
micro-benchmarks (emulators/grounding.py) and stored in emulators/isa_calibration.json.
When a kernel's loop structure changes, its function here changes with it and the
calibration is rerun. Ops without a function here are costed by the generic mixes.
"""
from __future__ import annotations

import math

import numpy as np

from edgert.runtime.ir import Graph, Node

OC_BLOCK = POOL_BLOCK = 64  # channels per accumulator block in int8_conv.c / int8_pool.c
PIX_BLOCK = 4  # output pixels sharing each filter row load in int8_conv.c


def events(node: Node, graph: Graph, inputs: list | None = None) -> dict[str, int] | None:
    """Loop events of `node`; ops whose loops depend on the data (SOFTMAX skips the exponential
    of logits far below the maximum) count them from `inputs`, or assume the worst without."""
    fn = _EVENTS.get(node.op)
    if fn is None:
        return None
    counted = fn(node, graph)
    if node.op in DATA_EVENTS:
        counted.update(data_events(node, graph, inputs))
    return {k: int(v) for k, v in counted.items()}


def needs_data(op: str) -> bool:
    return op in DATA_EVENTS


def data_events(node: Node, graph: Graph, inputs: list | None) -> dict[str, int]:
    """Only the data-dependent events of `node` (empty for ops without any)."""
    fn = DATA_EVENTS.get(node.op)
    return {} if fn is None else fn(node, graph, inputs)


def _geometry(node: Node, graph: Graph):
    t = graph.tensors
    n, h, w, cin = t[node.inputs[0]].shape
    _, oh, ow, cout = t[node.outputs[0]].shape
    if node.op.startswith(("CONV", "DEPTHWISE")):
        kh, kw = t[node.inputs[1]].shape[1:3]
    else:
        kh, kw = node.attrs["filter"]
    sh, sw = node.attrs["stride"]
    dh, dw = node.attrs.get("dilation", (1, 1))
    ph, pw = node.attrs["pad"]
    return n, h, w, cin, oh, ow, cout, int(kh), int(kw), int(sh), int(sw), int(dh), int(dw), int(ph), int(pw)


def _valid_taps(size, out, k, s, d, pad) -> np.ndarray:
    """Per output position along one axis: how many of the k taps land inside the input."""
    pos = np.arange(out)[:, None] * s - pad + np.arange(k)[None, :] * d
    return ((pos >= 0) & (pos < size)).sum(axis=1)


def _conv(node: Node, graph: Graph) -> dict:
    """int8_conv.c: blocks of 4 output pixels (the tail repeats its last pixel); each pixel's
    K = KH*KW*C_in window is gathered into scratch (taps outside the image filled with zp_in)
    unless a 1x1 unpadded conv reads it in place; dot_4xn runs K steps of 4 MACs per output
    channel, in blocks of OC_BLOCK channels; each real output is requantised."""
    n, h, w, cin, oh, ow, cout, kh, kw, sh, sw, dh, dw, ph, pw = _geometry(node, graph)
    pixels = n * oh * ow
    blocks = math.ceil(pixels / PIX_BLOCK)
    k_len = kh * kw * cin
    ev = {"call": 1, "block": blocks, "oc_block": blocks * math.ceil(cout / OC_BLOCK), "dot_oc": blocks * cout,
          "dot_k": blocks * cout * k_len, "out": pixels * cout}
    if kh == kw == 1 and ph == pw == 0:
        ev["direct_pixel"] = blocks * PIX_BLOCK
        return ev
    vy, vx = _valid_taps(h, oh, kh, sh, dh, ph), _valid_taps(w, ow, kw, sw, dw, pw)
    repeats = blocks * PIX_BLOCK - pixels  # the tail block gathers the last pixel again
    valid = n * int(vy.sum()) * int(vx.sum()) + repeats * int(vy[-1]) * int(vx[-1])
    ev.update({"gather_row": blocks * PIX_BLOCK * kh, "gather_tap": blocks * PIX_BLOCK * kh * kw, "gather_byte": valid * cin,
               "pad_byte": (blocks * PIX_BLOCK * kh * kw - valid) * cin})
    return ev


def _depthwise(node: Node, graph: Graph) -> dict:
    """int8_conv.c: per output pixel and block of OC_BLOCK channels, one pass of the block per
    filter tap (a tap outside the image reads a row of zp_in: same loop), then requantisation."""
    n, h, w, cin, oh, ow, cout, kh, kw, *_ = _geometry(node, graph)
    pixels = n * oh * ow
    blocks = pixels * math.ceil(cout / OC_BLOCK)
    return {"call": 1, "block": blocks, "tap_row": blocks * kh, "tap": blocks * kh * kw,
            "elem": pixels * kh * kw * cout, "out": pixels * cout}


def _pool(node: Node, graph: Graph) -> dict:
    n, h, w, cin, oh, ow, _, kh, kw, sh, sw, _, _, ph, pw = _geometry(node, graph)
    pixels = n * oh * ow
    per_block = math.ceil(cin / POOL_BLOCK)
    window = n * int(_valid_taps(h, oh, kh, sh, 1, ph).sum()) * int(_valid_taps(w, ow, kw, sw, 1, pw).sum())
    return {"call": 1, "pixel": pixels, "block": pixels * per_block, "window": window * per_block,
            "elem": window * cin, "out": pixels * cin}


def _fully_connected(node: Node, graph: Graph) -> dict:
    t = graph.tensors
    units, depth = t[node.inputs[1]].shape
    batches = t[node.inputs[0]].nbytes // depth
    return {"call": 1, "out": batches * units, "mac": batches * units * depth}


def _add(node: Node, graph: Graph) -> dict:
    t = graph.tensors
    a, b, y = t[node.inputs[0]].shape, t[node.inputs[1]].shape, t[node.outputs[0]].shape
    total = int(np.prod(y, dtype=np.int64))
    same = tuple(a) == tuple(b) == tuple(y)
    return {"call": 1, "elem": total if same else 0, "elem_broadcast": 0 if same else total}


def _softmax(node: Node, graph: Graph) -> dict:
    shape = graph.tensors[node.inputs[0]].shape
    total = int(np.prod(shape, dtype=np.int64))
    return {"call": 1, "row": total // shape[-1], "elem": total}


def _softmax_exps(node: Node, graph: Graph, inputs) -> dict:
    """int8_softmax.c evaluates exp (twice: sum, then output) for logits within diff_min of the row max."""
    if inputs is None:
        return {"exp": math.prod(graph.tensors[node.inputs[0]].shape)}
    x = np.asarray(inputs[0], np.int32)
    x = x.reshape(-1, x.shape[-1])
    return {"exp": int(np.count_nonzero(x - x.max(axis=1, keepdims=True) >= int(node.attrs["diff_min"])))}


def _copy(node: Node, graph: Graph) -> dict:
    """copy.c: memmove in the firmware's libc, a byte loop whose cost depends on its direction
    (forward when the output lies below the input in the arena); no copy when they coincide."""
    src, dst = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    size = 0 if src.offset == dst.offset else dst.nbytes
    forward = dst.offset < src.offset
    return {"call": 1, "byte_forward": size if forward else 0, "byte_backward": 0 if forward else size}


def _elementwise(node: Node, graph: Graph) -> dict:
    return {"call": 1, "elem": int(np.prod(graph.tensors[node.outputs[0]].shape, dtype=np.int64))}


_EVENTS = {
    "CONV_2D": _conv, "DEPTHWISE_CONV_2D": _depthwise, "AVERAGE_POOL_2D": _pool, "MAX_POOL_2D": _pool,
    "FULLY_CONNECTED": _fully_connected, "ADD": _add, "SOFTMAX": _softmax, "RESHAPE": _copy,
    "QUANTIZE": _elementwise, "REQUANTIZE": _elementwise, "DEQUANTIZE": _elementwise,
}
DATA_EVENTS = {"SOFTMAX": _softmax_exps}
