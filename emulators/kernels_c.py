"""Portable C kernels as scalar code: ours (native/src) and TFLite Micro's reference kernels.

`native_mix`: for the ops and ISAs that emulators/isa_calibration.json covers, a node's
instructions are its loop events (native_events.py) x instructions per event fitted on QEMU
(grounding.py); each event's instructions are split into classes by the composition of its
loop body, so that devices with real timing (stm32l4r5) can turn them into cycles. Other ops
fall back to `reference_mix`: TFLite Micro's reference loops as per-loop-level estimates
(`term` = one multiply-accumulate of the innermost loop, `tap` = one kernel position, `out` =
one output element: requantisation and store, `call` = per invocation). Non-neural and spiking
kernels: dense loops per MAC plus their activity counters.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from .mix import Mix, mix
from .workload import Work

CALIBRATION_PATH = Path(__file__).with_name("isa_calibration.json")

# Innermost loop of a reference int8 MAC: two byte loads, input-offset add, multiply, accumulate,
# index updates and the loop branch. Thumb-2 fuses multiply and add (MLA).
TERM = {
    "rv32imc": mix(load=2, alu=4, mul=1, branch_taken=1),
    "armv7e-m": mix(load=2, alu=2, mul=1, branch_taken=1),  # ldrsb, ldrsb, add, mla, subs, bne
}
TAP = {
    "rv32imc": mix(alu=7, mul=1, branch=3, branch_taken=1),
    "armv7e-m": mix(alu=6, mul=1, branch=3, branch_taken=1),
}
# TFLite's MultiplyByQuantizedMultiplier: 64-bit product, rounding shift, offset, clamp, store.
REQUANT = {
    "rv32imc": mix(load=3, mul=2, mulh=2, alu=16, branch=3, store=1, branch_taken=1),
    "armv7e-m": mix(load=3, mul=1, mulh=1, alu=11, branch=2, store=1, branch_taken=1),
}
CALL = {
    "rv32imc": mix(alu=60, load=30, store=20, jump=6, branch=10),
    "armv7e-m": mix(alu=50, load=30, store=20, jump=6, branch=10),
}
# Per output element of an element-wise int8 op with rescaling of each input (ADD, MUL, ...).
ELTWISE = {
    "rv32imc": mix(load=2, mul=3, mulh=3, alu=22, branch=4, store=1, branch_taken=1),
    "armv7e-m": mix(load=2, mul=3, mulh=3, alu=16, branch=3, store=1, branch_taken=1),
}
# ONNX integer ops requantize each output in float32 (docs/onnx.md): int -> float, multiply by
# the float multiplier, round half to even and back to int, add the zero point, clamp.
ONNX_FLOAT_REQUANT = {"ONNX_QLINEAR_CONV", "ONNX_QLINEAR_MATMUL", "ONNX_QMAX_POOL", "ONNX_QLINEAR_AVERAGE_POOL"}
FLOAT_REQUANT = mix(fcvt=2, flop=1, alu=3, branch=2, store=1)
# ONNX_QLINEAR_ADD evaluates its QDQ graph per element: two dequantizes, add, divide, requantize.
QLINEAR_ADD = mix(load=2, fcvt=3, flop=5, fdiv=1, alu=3, branch=2, store=1, branch_taken=1)
COPY_WORD = mix(load=1, store=1, alu=1, branch_taken=1)  # memcpy, per 4 bytes
SOFTMAX = mix(load=3, mul=8, mulh=8, alu=60, branch=8, store=1, branch_taken=3)  # fixed-point exp, per element
FLOAT_TERM = mix(load=2, flop=2, alu=2, branch_taken=1)  # float MAC: multiply + add


# Instruction-class composition of each loop event's body (fractions; the fitted counts scale them).
_MAC_LOOP = mix(load=5, mul=4, alu=5, branch_taken=1)  # dot / accumulate loop: loads, multiply-adds
_RESCALE = mix(load=3, mul=1, mulh=2, alu=12, branch=3, store=1)  # fixed-point rescale, clamp, store
_BYTE_LOOP = mix(load=1, store=1, alu=2, branch_taken=1)  # gather / copy / fill loops
_CONTROL = mix(alu=6, load=2, store=1, branch=2, branch_taken=1, jump=0.5)  # setup, bounds, dispatch
_FIXED_EXP = mix(alu=20, mul=4, mulh=4, load=1, branch=4, store=1)  # fixed-point exp and reciprocal
EVENT_CLASSES = {
    "tile16_k": _MAC_LOOP, "tile8_k": _MAC_LOOP, "tile1_k": _MAC_LOOP, "quad_k": _MAC_LOOP, "single_k": _MAC_LOOP,
    "mac": _MAC_LOOP, "mac_zero": _MAC_LOOP, "elem": _MAC_LOOP, "elem_zero": _MAC_LOOP, "elem_mult": _MAC_LOOP,
    "tile16_tap": _MAC_LOOP, "tile8_tap": _MAC_LOOP,
    "out": _RESCALE,
    "gather_byte": _BYTE_LOOP, "pad_byte": _BYTE_LOOP, "byte_forward": _BYTE_LOOP, "byte_backward": _BYTE_LOOP,
    ("ADD", "elem"): _RESCALE, ("SOFTMAX", "exp"): _FIXED_EXP, ("SOFTMAX", "exp_bit"): _RESCALE,
}


@cache
def calibration() -> dict:
    """Instructions per loop event, per ISA and op, as fitted by grounding.calibrate()."""
    return json.loads(CALIBRATION_PATH.read_text()) if CALIBRATION_PATH.exists() else {}


def calibrated_mix(work: Work, isa: str) -> Mix | None:
    per_event = calibration().get(isa, {}).get("ops", {}).get(work.op)
    if per_event is None or work.events is None:
        return None
    total = Mix()
    for name, count in work.events.items():
        composition = EVENT_CLASSES.get((work.op, name)) or EVENT_CLASSES.get(name, _CONTROL)
        total = total.plus(composition.scaled(count * per_event.get(name, 0.0) / composition.instructions))
    return total


def native_mix(work: Work, isa: str, fpu: bool = False) -> Mix:
    """Whole-node instruction mix of OUR C kernel (native/src) for `work` on `isa`: calibrated
    where QEMU grounding covers the op, else the reference-loop estimate. The QEMU firmware is
    built for soft float, so float kernels use the calibration only on units without an FPU."""
    calibrated = None if (work.float_math and fpu) else calibrated_mix(work, isa)
    return calibrated if calibrated is not None else reference_mix(work, isa)


def reference_mix(work: Work, isa: str, fpu: bool = False) -> Mix:
    """Whole-node instruction mix of TFLite Micro's reference kernel loops for `work` on `isa`
    (floating point as FPU or soft-float classes alike: the cycle table tells them apart)."""
    if isa not in TERM:
        raise ValueError(f"no portable-C instruction model for ISA {isa!r}; known: {sorted(TERM)}")
    term = FLOAT_TERM if work.float_math else TERM[isa]
    per_out = (mix(load=1, flop=1, fcmp=2, store=1) if work.float_math
               else FLOAT_REQUANT if work.op in ONNX_FLOAT_REQUANT else REQUANT[isa])
    k = work.kind
    if k in ("conv", "dwconv"):
        kh, kw = work.window[:2]
        taps = work.outputs * kh * kw
        return CALL[isa].plus(term.scaled(work.valid_terms), TAP[isa].scaled(taps), per_out.scaled(work.outputs))
    if k == "fc":
        return CALL[isa].plus(term.scaled(work.valid_terms), per_out.scaled(work.outputs))
    if k in ("maxpool", "avgpool"):
        elem = mix(load=1, alu=2, branch=1, branch_taken=1) if k == "maxpool" else mix(load=1, alu=2, branch_taken=1)
        if work.float_math:
            elem = mix(load=1, fcmp=1, branch_taken=1) if k == "maxpool" else mix(load=1, flop=1, branch_taken=1)
        # per output: window bounds (clipped to the input), then the average's divide or the store
        finish = mix(alu=14, branch=4, div=1, store=1) if k == "avgpool" else mix(alu=12, branch=4, store=1)
        if work.op in ONNX_FLOAT_REQUANT:  # the float requantization replaces the divide / plain store
            finish = mix(alu=12, branch=4).plus(FLOAT_REQUANT)
        return CALL[isa].plus(elem.scaled(work.valid_terms), finish.scaled(work.outputs))
    if k == "eltwise":
        body = (mix(load=2, flop=2, store=1, branch_taken=1) if work.float_math
                else QLINEAR_ADD if work.op == "ONNX_QLINEAR_ADD" else ELTWISE[isa])
        return CALL[isa].plus(body.scaled(work.outputs))
    if k == "copy":
        return CALL[isa].plus(COPY_WORD.scaled((work.out_bytes + 3) // 4))
    if k == "convert":
        return CALL[isa].plus(mix(load=1, fcvt=2, flop=2, fcmp=2, alu=4, store=1, branch_taken=1).scaled(work.outputs))
    if k == "softmax":
        body = mix(load=2, fexp=1, flop=3, fdiv=1, store=1, branch_taken=2) if work.float_math else SOFTMAX
        return CALL[isa].plus(body.scaled(work.outputs))
    if k in ("nonneural", "snn"):
        return CALL[isa].plus(family_body(work))
    return CALL[isa].plus(generic_mix(work))


def generic_mix(work: Work) -> Mix:
    """An op without a kernel model: one pass over its inputs and outputs."""
    per = mix(load=1, alu=3, store=1, branch_taken=1)
    if work.float_math:
        per = per.plus(mix(flop=1))
    return per.scaled(max(work.outputs, 1) * max(work.reduction, 1))


# Data-dependent work reported by kernels as activity counters (names from the runtime's op_info),
# as (floating-point kernel, fixed-point kernel) loop bodies.
ACTIVITY = {
    "input_events": (mix(load=2, alu=3, branch_taken=1),) * 2,  # an input spike: find its synapse row
    "synaptic_events": (mix(load=2, flop=1, alu=1, store=1, branch_taken=1),  # weight load, accumulate
                        mix(load=2, alu=2, store=1, branch_taken=1)),
    "neuron_updates": (mix(load=3, flop=3, fcmp=1, alu=2, store=2, branch=1),  # leak, integrate, threshold
                       mix(load=3, mul=1, mulh=1, alu=6, store=2, branch=1)),
    "spikes": (mix(load=1, alu=3, store=1, branch=1),) * 2,  # reset and emit
    "nodes_visited": (mix(load=4, fcmp=1, alu=3, branch_taken=1),  # feature vs threshold, pick a child
                      mix(load=4, alu=4, branch_taken=1)),
    "trees_walked": (mix(load=3, flop=1, alu=4, jump=2), mix(load=3, alu=5, jump=2)),  # root, leaf value
    "kernel_evals": (mix(load=2, fexp=1, flop=2, fma=1, store=1),  # SVM: exp(-gamma d), dual x K
                     mix(load=3, mul=4, mulh=4, alu=30, branch=4, store=1)),  # exp_q24 in integers
    "distances": (mix(load=2, fcmp=2, alu=3, branch=2, store=1),  # k-NN: keep the k nearest
                  mix(load=2, alu=5, branch=2, store=1)),
}
# Dense, data-independent inner loops of the non-neural kernels, per runtime MAC.
NN_MAC = {
    "NN_SVM": (mix(load=2, flop=1, fma=1, branch_taken=0.25), mix(load=2, alu=4, mul=1, mulh=1, branch_taken=0.25)),
    "NN_KNN": (mix(load=2, flop=1, fma=1, branch_taken=0.25), mix(load=2, alu=4, mul=1, mulh=1, branch_taken=0.25)),
    "NN_LINEAR": (mix(load=2, fma=1, branch_taken=0.25), mix(load=2, alu=3, mul=1, mulh=1, branch_taken=0.25)),
    "NN_GNB": (mix(load=3, flop=1, fma=1, branch_taken=0.25), mix(load=3, alu=4, mul=1, mulh=1, branch_taken=0.25)),
    "NN_SCALE": (mix(load=3, fma=1, store=1, branch_taken=1), mix(load=3, mul=1, alu=3, store=1, branch_taken=1)),
    "NN_QUANTIZE": (mix(load=3, fma=1, fcvt=1, fcmp=2, store=1, branch_taken=1),) * 2,
    "NN_DECIDE": (mix(load=1, fcmp=1, branch=1, branch_taken=1), mix(load=1, alu=1, branch=1, branch_taken=1)),
    "NN_PROB": (mix(load=1, fexp=1, fdiv=1, flop=2, store=1),) * 2,
}


def family_body(work: Work) -> Mix:
    """Static part of a non-neural or spiking kernel: its dense loops (the data-dependent work
    comes from activity counters on top). Scalar code, the same on every ISA."""
    base = work.op[:-2] if work.op.endswith("_Q") else work.op
    dense = NN_MAC.get(base)
    if dense is None:  # spiking ops and trees: only state and output writes are data-independent
        return mix(load=1, alu=1, store=1).scaled(work.outputs)
    return dense[0 if work.float_math else 1].scaled(work.valid_terms)


def activity_mix(activity: dict, float_math: bool) -> tuple[Mix, list[str]]:
    """The instruction mix of the counted work, and the counter names without a cost entry."""
    total, unknown = Mix(), []
    for name, count in activity.items():
        variants = ACTIVITY.get(name)
        if variants is None:
            unknown.append(name)
            continue
        total = total.plus(variants[0 if float_math else 1].scaled(count))
    return total, unknown
