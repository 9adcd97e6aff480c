"""CMSIS-NN-style int8 kernels on a Cortex-M with the DSP extension (Lai et al. 2018, arXiv
1801.06601: partial im2col to 16-bit, a 2 x 2 MatMul kernel on SMLAD dual 16-bit MACs).

Per inner step of the 2 x 2 kernel (2 output channels x 2 pixels x 4 input channels = 16 MACs):
2 weight words widened with SXTB16 (about 4 ALU ops each), 4 activation words (already 16-bit),
8 SMLAD and the loop branch. Ops without a CMSIS-NN kernel (float, ONNX's float requantization)
fall back to the portable C model.
"""
from __future__ import annotations

import math

from .kernels_c import CALL, ONNX_FLOAT_REQUANT, REQUANT, reference_mix
from .mix import Mix, mix
from .workload import Work

STEP_2X2 = mix(load=6, alu=8, simd_mac=8, branch_taken=1)
STEP_1X2 = mix(load=4, alu=4, simd_mac=4, branch_taken=1)  # leftover channel or pixel
IM2COL_WORD = mix(load=1, alu=4, store=2)  # 4 int8 -> two 16-bit pairs


def kernel_mix_cmsis(work: Work, isa: str = "armv7e-m", fpu: bool = False) -> Mix:
    if work.float_math or work.kind not in ("conv", "fc", "dwconv") or work.op in ONNX_FLOAT_REQUANT:
        return reference_mix(work, isa)
    steps = math.ceil(work.reduction / 4)
    if work.kind == "dwconv":  # arm_depthwise_conv_s8_opt: SMLAD over 2 channels at a time
        body = mix(load=3, alu=4, simd_mac=2, branch_taken=0.5).scaled(work.valid_terms / 4)
        return CALL[isa].plus(body, REQUANT[isa].scaled(work.outputs))
    cout = work.channels
    pixels = work.outputs // cout
    pairs_c, left_c = divmod(cout, 2)
    pairs_p, left_p = divmod(pixels, 2)
    body = STEP_2X2.scaled(steps * pairs_c * pairs_p).plus(
        STEP_1X2.scaled(steps * (left_c * pairs_p + pairs_c * left_p + left_c * left_p)))
    im2col = IM2COL_WORD.scaled(pixels * steps) if work.kind == "conv" else IM2COL_WORD.scaled(steps)
    return CALL[isa].plus(body, im2col, REQUANT[isa].scaled(work.outputs))
