"""PULP-NN-style int8 kernels on RI5CY cores with Xpulp: 4 x 8-bit `sdotp`, zero-overhead
hardware loops and post-increment loads (so the inner loops carry no branch or pointer updates).

Structure after Garofalo et al. 2020 (PULP-NN) as summarised in shared/reference/devices.md §1.9:
HWC convolution = im2col + a 4 x 2 MatMul kernel (4 output channels x 2 output pixels: per
inner step 4 weight words and 2 activation words feed 8 sdotp = 32 MACs); parallel over output
rows; depthwise parallel over channels; linear layers parallel over output neurons.
Returns the work as a fixed part and a part divided over `units` (rows, channels or neurons),
so the cluster model can deal the units out to cores.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .kernels_c import FLOAT_REQUANT, ONNX_FLOAT_REQUANT, QLINEAR_ADD, family_body, generic_mix
from .mix import Mix, mix
from .workload import Work

CALL = mix(alu=40, load=20, store=10, jump=4, branch=6)
REQUANT = mix(mul=1, mulh=1, alu=4, store=1)  # TFLite requantisation per output, no loop overhead


def _requant(work: Work) -> Mix:
    """Per-output requantisation: TFLite's fixed point, or ONNX's float32 multiply."""
    return FLOAT_REQUANT if work.op in ONNX_FLOAT_REQUANT else REQUANT


@dataclass(frozen=True)
class Split:
    fixed: Mix  # once per call (on the master core)
    per_unit: Mix  # per row / channel / neuron; units are dealt out to the cores
    units: int


def kernel_split(work: Work) -> Split:
    k = work.kind
    if work.float_math and k in ("conv", "dwconv", "fc"):
        body = mix(load=2, fma=1).scaled(work.valid_terms).plus(mix(load=1, flop=1, fcmp=2, store=1).scaled(work.outputs))
        return Split(CALL, body.scaled(1 / work.rows), work.rows)
    if k == "conv":
        return Split(CALL, _conv_row(work), work.rows)
    if k == "dwconv":
        return Split(CALL, _depthwise_channel(work), work.channels)
    if k == "fc":
        steps = math.ceil(work.reduction / 4)
        per_neuron = mix(load=1.5, simd_mac=1).scaled(steps).plus(_requant(work), mix(alu=4))
        return Split(CALL, per_neuron.scaled(work.row_outputs), work.rows)
    if k in ("maxpool", "avgpool"):
        terms = work.valid_terms / max(work.outputs, 1)
        if work.float_math:
            per_out = mix(load=terms, fcmp=terms, store=1) if k == "maxpool" else mix(load=terms, flop=terms + 1, store=1)
        elif k == "maxpool":  # pv.max.b handles 4 channels per instruction
            per_out = mix(load=terms / 4, simd_mac=terms / 4, store=0.25, alu=1)
        else:
            per_out = mix(load=terms / 4, alu=terms + 3, mul=1, store=1)  # sum, then multiply-shift divide
        if work.op in ONNX_FLOAT_REQUANT and not work.float_math:
            per_out = per_out.plus(FLOAT_REQUANT)
        return Split(CALL, per_out.scaled(work.outputs / work.rows), work.rows)
    if k == "eltwise":
        if work.op in ("RELU", "RELU6") and not work.float_math:
            per = mix(load=0.25, simd_mac=0.25, store=0.25)  # pv.max.b / pv.min.b on 4 lanes
        elif work.float_math:
            per = mix(load=2, flop=2, store=1)
        elif work.op == "ONNX_QLINEAR_ADD":
            per = QLINEAR_ADD
        else:
            per = mix(load=2, mul=2, mulh=2, alu=8, store=1)
        return Split(CALL, per.scaled(work.outputs / work.rows), work.rows)
    if k == "copy":
        return Split(CALL, mix(load=0.25, store=0.25).scaled(work.out_bytes / work.rows), work.rows)
    if k == "convert":
        return Split(CALL, mix(load=1, fcvt=1, flop=1, alu=3, store=1).scaled(work.outputs / work.rows), work.rows)
    if k == "softmax":
        per = (mix(load=2, fexp=1, flop=3, fdiv=1, store=1) if work.float_math
               else mix(load=2, mul=8, mulh=8, alu=50, store=1))
        return Split(CALL, per.scaled(work.outputs), 1)  # one row: the normalisation needs all of it
    if k in ("nonneural", "snn"):  # scalar loops, dealt out over support vectors, points, trees, units
        return Split(CALL, family_body(work).scaled(1 / work.rows), work.rows)
    return Split(CALL, generic_mix(work).scaled(1 / work.rows), work.rows)


def _conv_row(work: Work) -> Mix:
    """One output row: im2col of its pixels, then the 4x2 MatMul over all output channels."""
    kh, kw = work.window[:2]
    cout = work.channels
    pixels = work.row_outputs // cout
    cin = work.reduction // (kh * kw)
    steps = math.ceil(work.reduction / 4)
    blocks, left = divmod(cout, 4)
    pair = (mix(load=6, simd_mac=8).scaled(steps).plus(mix(alu=10))).scaled(blocks).plus(
        (mix(load=3, simd_mac=2).scaled(steps).plus(mix(alu=4))).scaled(left))
    single = (mix(load=5, simd_mac=4).scaled(steps).plus(mix(alu=6))).scaled(blocks).plus(
        (mix(load=2, simd_mac=1).scaled(steps).plus(mix(alu=3))).scaled(left))
    words_per_tap = cin / 4 if cin % 4 == 0 else cin  # byte copies when channels are not word-aligned
    im2col = mix(load=words_per_tap, store=words_per_tap, alu=4, branch=1).scaled(kh * kw)
    return pair.scaled(pixels // 2).plus(single.scaled(pixels % 2), im2col.scaled(pixels), _requant(work).scaled(work.row_outputs))


def _depthwise_channel(work: Work) -> Mix:
    """One channel plane (CHW): per output a sdotp over the window, fed by a column buffer."""
    kh, kw, _, sw = work.window
    steps = math.ceil(kh * kw / 4)
    outputs = work.outputs / work.channels
    per_out = mix(load=2 * steps, simd_mac=steps, alu=3).plus(mix(load=kh * sw, store=kh * sw), _requant(work))
    return per_out.scaled(outputs)
