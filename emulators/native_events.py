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
UNIT_BLOCK = 64  # FULLY_CONNECTED accumulators requantised in one call in int8_fc.c


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


def filter_hw(shape, depthwise: bool) -> tuple[int, int]:
    """(KH, KW) of a filter in edgert's layouts: depthwise [1, KH, KW, C], convolution
    [KH, KW, C_in, C_out] (the TFLite importer transposes OHWI; guessing between the two layouts
    from the channel counts swapped KH and KW when KH = C_in = C_out)."""
    return (int(shape[1]), int(shape[2])) if depthwise else (int(shape[0]), int(shape[1]))


def _geometry(node: Node, graph: Graph):
    t = graph.tensors
    n, h, w, cin = t[node.inputs[0]].shape
    _, oh, ow, cout = t[node.outputs[0]].shape
    if node.op.startswith(("CONV", "DEPTHWISE")):  # int8 and _F32 variants
        kh, kw = filter_hw(t[node.inputs[1]].shape, node.op.startswith("DEPTHWISE"))
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


def _channel_tiles(cout: int) -> tuple[int, int, int, int]:
    """int8_conv.c walks output channels in blocks of OC_BLOCK, each in tiles of 16, 8, then 1:
    (blocks, tiles of 16, of 8, of 1) over all channels."""
    blocks = math.ceil(cout / OC_BLOCK)
    n16 = n8 = n1 = 0
    for c0 in range(0, cout, OC_BLOCK):
        a, rest = divmod(min(OC_BLOCK, cout - c0), 16)
        b, c = divmod(rest, 8)
        n16, n8, n1 = n16 + a, n8 + b, n1 + c
    return blocks, n16, n8, n1


def _requant_calls(cout: int, pixels: int, pixel_blocks: int) -> dict:
    """Requantisation: one call per block of pixels when all channels fit one block (the
    per-channel parameters are repeated 4x up front), else one per pixel and channel block."""
    if cout <= OC_BLOCK:
        return {"requant_call": pixel_blocks, "rep_param": PIX_BLOCK * cout}
    return {"requant_call": pixels * math.ceil(cout / OC_BLOCK), "rep_param": 0}


def _conv(node: Node, graph: Graph) -> dict:
    """int8_conv.c: blocks of 4 output pixels (the tail repeats its last pixel); each pixel's
    K = KH*KW*C_in window is gathered (taps outside the image filled with zp_in) unless a 1x1
    unpadded conv reads it in place; the output channels go in tiles of 16, 8 and 1, each a
    K-step loop over 4 pixels x the tile; each real output is requantised."""
    n, h, w, cin, oh, ow, cout, kh, kw, sh, sw, dh, dw, ph, pw = _geometry(node, graph)
    pixels = n * oh * ow
    blocks = math.ceil(pixels / PIX_BLOCK)
    k_len = kh * kw * cin
    oc_blocks, n16, n8, n1 = _channel_tiles(cout)
    ev = {"call": 1, "block": blocks, "oc_block": blocks * oc_blocks,
          "tile16": blocks * n16, "tile16_k": blocks * n16 * k_len, "tile8": blocks * n8,
          "tile8_k": blocks * n8 * k_len, "tile1": blocks * n1, "tile1_k": blocks * n1 * k_len,
          "out": pixels * cout, **_requant_calls(cout, pixels, blocks)}
    if kh == kw == 1 and ph == pw == 0:
        ev["direct_pixel"] = blocks * PIX_BLOCK
        return ev
    vy, vx = _valid_taps(h, oh, kh, sh, dh, ph), _valid_taps(w, ow, kw, sw, dw, pw)
    repeats = blocks * PIX_BLOCK - pixels  # the tail block gathers the last pixel again
    valid = n * int(vy.sum()) * int(vx.sum()) + repeats * int(vy[-1]) * int(vx[-1])
    ev.update({"gather_row": blocks * PIX_BLOCK * kh, "gather_tap": blocks * PIX_BLOCK * kh * kw,
               "gather_byte": valid * cin, "pad_byte": (blocks * PIX_BLOCK * kh * kw - valid) * cin})
    return ev


def _depthwise(node: Node, graph: Graph) -> dict:
    """int8_conv.c: up to 4 output pixels of a row at a time, per block of OC_BLOCK channels.
    Multiplier-1 blocks narrower than 32 channels first run vector tiles of 16 then 8 channels,
    each always over 4 pixels (past the row end too) with the accumulators held across the
    taps and one source look-up per pixel and tap; the channels left (all of a wider block)
    go through the plain loops: per tap and pixel a multiply-accumulate over them (a tap
    outside the image reads a row of zp_in), one division per channel for multipliers > 1.
    Then requantisation."""
    n, h, w, cin, oh, ow, cout, kh, kw, sh, sw, dh, dw, ph, pw = _geometry(node, graph)
    mult = cout // cin
    pixels = n * oh * ow
    row_blocks = n * oh * math.ceil(ow / PIX_BLOCK)
    oc_blocks = math.ceil(cout / OC_BLOCK)
    vy = int(_valid_taps(h, oh, kh, sh, dh, ph).sum())
    valid = n * vy * int(_valid_taps(w, ow, kw, sw, dw, pw).sum())
    # the tiles' 4 pixels per row block, the ones past the row end included
    tile_valid = n * vy * int(_valid_taps(w, PIX_BLOCK * math.ceil(ow / PIX_BLOCK), kw, sw, dw, pw).sum())
    ev = {"call": 1, "block": row_blocks * oc_blocks, "out": pixels * cout,
          **_requant_calls(cout, pixels, row_blocks)}
    plain_blocks = rest = 0  # blocks with channels left for the plain loops; those channels
    for c0 in range(0, cout, OC_BLOCK):
        nb = min(OC_BLOCK, cout - c0)
        n16 = n8 = 0
        if mult == 1 and nb < 32:
            n16, nb = divmod(nb, 16)
            n8, nb = divmod(nb, 8)
        for lanes, tiles in (("tile16", n16), ("tile8", n8)):
            ev[lanes] = ev.get(lanes, 0) + row_blocks * tiles
            ev[f"{lanes}_tap"] = ev.get(f"{lanes}_tap", 0) + row_blocks * tiles * kh * kw
        ev["tile_source_outside"] = ev.get("tile_source_outside", 0) + (n16 + n8) * (
            row_blocks * PIX_BLOCK * kh * kw - tile_valid)
        plain_blocks, rest = plain_blocks + (nb > 0), rest + nb
    elem = "elem" if mult == 1 else "elem_mult"
    ev.update({"tap": row_blocks * plain_blocks * kh * kw, "tap_pixel": pixels * plain_blocks * kh * kw,
               "tap_outside": (pixels * kh * kw - valid) * plain_blocks, elem: pixels * kh * kw * rest,
               "init": pixels * rest})
    return ev


def _pool(node: Node, graph: Graph) -> dict:
    n, h, w, cin, oh, ow, _, kh, kw, sh, sw, _, _, ph, pw = _geometry(node, graph)
    pixels = n * oh * ow
    per_block = math.ceil(cin / POOL_BLOCK)
    window = n * int(_valid_taps(h, oh, kh, sh, 1, ph).sum()) * int(_valid_taps(w, ow, kw, sw, 1, pw).sum())
    return {"call": 1, "pixel": pixels, "block": pixels * per_block, "window": window * per_block,
            "elem": window * cin, "out": pixels * cin}


def _fully_connected(node: Node, graph: Graph) -> dict:
    """int8_fc.c: per batch row and block of UNIT_BLOCK units, four units per pass over the
    input, then the remaining units one by one; each block requantised in one call. float_ops.c: one unit at a time."""
    t = graph.tensors
    units, depth = t[node.inputs[1]].shape
    batches = math.prod(t[node.inputs[0]].shape) // depth
    if node.op.endswith("_F32"):
        return {"call": 1, "out": batches * units, "mac": batches * units * depth}
    quads, singles = divmod(units, 4)  # UNIT_BLOCK (64) is a multiple of 4: blocks change neither
    return {"call": 1, "batch": batches, "block": batches * math.ceil(units / UNIT_BLOCK), "quad": batches * quads, "quad_k": batches * quads * depth,
            "single": batches * singles, "single_k": batches * singles * depth, "out": batches * units}


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
    """int8_softmax.c evaluates the fixed-point exp (twice: sum, then output) for logits within
    diff_min of the row maximum; exp(0) returns at once, and every other exp multiplies once
    per set bit of its argument's integer part (gemmlowp's exp_on_negative_values). Without
    the values: every logit pays a full exp with all seven bits set (the upper bound)."""
    size = math.prod(graph.tensors[node.inputs[0]].shape)
    if inputs is None:
        return {"exp": size, "exp_bit": 7 * size, "exp_max": 0}
    x = np.asarray(inputs[0], np.int64)
    x = x.reshape(-1, x.shape[-1])
    d = x - x.max(axis=1, keepdims=True)
    computed = d >= int(node.attrs["diff_min"])
    a = _srdhm((d[computed & (d != 0)] << int(node.attrs["shift"])), int(node.attrs["multiplier"]))
    quarter = 1 << 24
    rem = ((a & (quarter - 1)) - quarter) - a
    bits = sum(int(np.count_nonzero((rem >> (24 + k)) & 1)) for k in range(7))
    return {"exp": int(a.size), "exp_bit": bits, "exp_max": int(np.count_nonzero(d == 0))}


def _srdhm(a: np.ndarray, b: int) -> np.ndarray:
    """gemmlowp SaturatingRoundingDoublingHighMul on int64 arrays (C division truncates)."""
    ab = a * b
    q = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    return np.sign(q) * (np.abs(q) >> 31)


def _usage(size, out, k, s, d, pad) -> np.ndarray:
    """How many (output position, tap) pairs along one axis read each input position."""
    pos = (np.arange(out)[:, None] * s - pad + np.arange(k)[None, :] * d).ravel()
    return np.bincount(pos[(pos >= 0) & (pos < size)], minlength=size)


def _zero_macs(node: Node, graph: Graph, inputs) -> dict:
    """Soft float returns early when an operand is 0.0 (common after ReLU): splits the
    multiply-adds (pooling: additions) into those whose input activation is zero and the rest,
    counted on this run's values (none assumed zero without)."""
    base = "elem" if node.op == "AVERAGE_POOL_2D_F32" else "mac"
    total = _EVENTS[node.op](node, graph)[base]
    if inputs is None:
        return {base: total, f"{base}_zero": 0}
    zeros = np.asarray(inputs[0]) == 0
    if node.op == "FULLY_CONNECTED_F32":
        zero = int(zeros.sum()) * graph.tensors[node.inputs[1]].shape[0]
    else:
        n, h, w, cin, oh, ow, cout, kh, kw, sh, sw, dh, dw, ph, pw = _geometry(node, graph)
        usage = np.outer(_usage(h, oh, kh, sh, dh, ph), _usage(w, ow, kw, sw, dw, pw))  # reads per input position
        reads = int((usage * zeros.reshape(n, h, w, -1).sum(axis=(0, 3))).sum())  # of zero channels
        zero = reads * (cout if node.op == "CONV_2D_F32" else 1)
    return {base: total - zero, f"{base}_zero": zero}


def _softmax_f32(node: Node, graph: Graph) -> dict:
    """float_ops.c: per row a max scan, an exponential per element (exp(0) for the row maximum
    returns early), a sum and a division per element."""
    ev = _softmax(node, graph)
    return {"call": 1, "row": ev["row"], "non_max": ev["elem"] - ev["row"], "at_max": ev["row"]}


def _softmax_f32_ties(node: Node, graph: Graph, inputs) -> dict:
    """How many logits equal their row's maximum (each pays only exp(0)); one per row without values."""
    if inputs is None:
        return {}
    x = np.asarray(inputs[0])
    x = x.reshape(-1, x.shape[-1])
    at_max = int(np.count_nonzero(x == x.max(axis=1, keepdims=True)))
    return {"non_max": x.size - at_max, "at_max": at_max}


def _copy(node: Node, graph: Graph) -> dict:
    """copy.c: memmove in the firmware's libc, a byte loop whose cost depends on its direction
    (forward when the output lies below the input in the arena); no copy when they coincide."""
    src, dst = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    size = 0 if src.offset == dst.offset else dst.nbytes
    forward = dst.offset < src.offset
    return {"call": 1, "byte_forward": size if forward else 0, "byte_backward": 0 if forward else size}


def _elementwise(node: Node, graph: Graph) -> dict:
    return {"call": 1, "elem": int(np.prod(graph.tensors[node.outputs[0]].shape, dtype=np.int64))}


def _conv_f32(node: Node, graph: Graph) -> dict:
    """float_conv.c: per output pixel, the filter rows and taps inside the image; per such tap
    and input channel, a multiply-add into every output channel (soft float on the QEMU boards)."""
    n, h, w, cin, oh, ow, cout, kh, kw, sh, sw, dh, dw, ph, pw = _geometry(node, graph)
    vy, vx = _valid_taps(h, oh, kh, sh, dh, ph), _valid_taps(w, ow, kw, sw, dw, pw)
    pixels = n * oh * ow
    taps_in = n * int(vy.sum()) * int(vx.sum())
    return {"call": 1, "pixel": pixels, "out": pixels * cout, "row": pixels * kh,
            "tap": n * int(vy.sum()) * ow * kw, "tap_in": taps_in, "ic": taps_in * cin, "mac": taps_in * cin * cout}


def _depthwise_f32(node: Node, graph: Graph) -> dict:
    """float_conv.c: per output pixel, every channel per tap inside the image."""
    n, h, w, cin, oh, ow, cout, kh, kw, sh, sw, dh, dw, ph, pw = _geometry(node, graph)
    vy, vx = _valid_taps(h, oh, kh, sh, dh, ph), _valid_taps(w, ow, kw, sw, dw, pw)
    pixels = n * oh * ow
    taps_in = n * int(vy.sum()) * int(vx.sum())
    return {"call": 1, "pixel": pixels, "out": pixels * cout, "row": pixels * kh,
            "tap": n * int(vy.sum()) * ow * kw, "tap_in": taps_in, "mac": taps_in * cout}


def _pool_f32(node: Node, graph: Graph) -> dict:
    """float_ops.c: per output pixel, every channel at each window position inside the image."""
    n, h, w, cin, oh, ow, _, kh, kw, sh, sw, _, _, ph, pw = _geometry(node, graph)
    pixels = n * oh * ow
    window = n * int(_valid_taps(h, oh, kh, sh, 1, ph).sum()) * int(_valid_taps(w, ow, kw, sw, 1, pw).sum())
    return {"call": 1, "pixel": pixels, "window": window, "elem": window * cin, "out": pixels * cin}


_EVENTS = {
    "CONV_2D": _conv, "DEPTHWISE_CONV_2D": _depthwise, "AVERAGE_POOL_2D": _pool, "MAX_POOL_2D": _pool,
    "FULLY_CONNECTED": _fully_connected, "ADD": _add, "SOFTMAX": _softmax, "RESHAPE": _copy,
    "QUANTIZE": _elementwise, "REQUANTIZE": _elementwise, "DEQUANTIZE": _elementwise,
    "CONV_2D_F32": _conv_f32, "DEPTHWISE_CONV_2D_F32": _depthwise_f32, "AVERAGE_POOL_2D_F32": _pool_f32,
    "MAX_POOL_2D_F32": _pool_f32, "FULLY_CONNECTED_F32": _fully_connected, "ADD_F32": _elementwise,
    "SOFTMAX_F32": _softmax_f32,
}
DATA_EVENTS = {"SOFTMAX": _softmax_exps, "CONV_2D_F32": _zero_macs, "DEPTHWISE_CONV_2D_F32": _zero_macs,
               "FULLY_CONNECTED_F32": _zero_macs, "AVERAGE_POOL_2D_F32": _zero_macs, "SOFTMAX_F32": _softmax_f32_ties}
