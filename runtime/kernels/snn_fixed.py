"""Spiking-network ops, fixed point (compile option mode="fixed"; scheme in
runtime/importers/snn_fixed.py): numpy reference, with Numba kernels for the hot loops.

int32 activations, int16 weights, int64 sums saturated to int32, products rounded half up
by an arithmetic right shift. Integer arithmetic is exact, so every backend and both synapse
paths agree bit for bit whatever the summation order.
"""
from __future__ import annotations

import numpy as np

from . import Call, kernel, op_info
from . import snn_ops as ref
from .snn_numba import linear_rows
from .snn_ops import ALPHA, ALPHA_SYN, BETA, BETA_SYN, GAMMA

I32_MIN, I32_MAX = -(2 ** 31), 2 ** 31 - 1
DECAY_SHIFT = 30


def sat32(a: np.ndarray) -> np.ndarray:
    return np.clip(a, I32_MIN, I32_MAX).astype(np.int32)


def rshift(a: np.ndarray, s: int) -> np.ndarray:
    """round(a / 2^s), halves rounded up (int64 in, int64 out)."""
    return a if s == 0 else (a + (1 << (s - 1))) >> s


def _flat64(x: np.ndarray) -> np.ndarray:
    return x.reshape(x.shape[0], -1).astype(np.int64)


@kernel("SNN_LINEAR_FX", "numpy")
@kernel("SNN_LINEAR_EVENT_FX", "numpy")
def linear(call: Call):
    """W x + b from int16 W stored transposed (in, out); exact in int64, so both paths agree."""
    x, wt, b = _flat64(call.inputs[0]), call.inputs[1].astype(np.int64), call.inputs[2]
    y = x @ wt
    if b is not None:
        y = y + b
    events = int(np.count_nonzero(x))
    return_activity(call, events, events * y.shape[1])
    return [sat32(y)]


def return_activity(call: Call, events: int, synaptic: int) -> None:
    call.activity = (events, synaptic)


@kernel("SNN_CONV2D_FX", "numpy")
def conv2d(call: Call):
    y, in_events, events = ref.conv_sums(call, np.int64)
    return_activity(call, in_events, events)
    return [sat32(y).reshape(call.out_tensor(0).shape)]


@kernel("SNN_SUMPOOL2D_FX", "numpy")
def sumpool2d(call: Call):
    return [sat32(ref.window_sums(call, np.int64))]


@kernel("SNN_SCALE_FX", "numpy")
def scale(call: Call):
    x, s = call.inputs[0], call.inputs[1].reshape(-1).astype(np.int64)
    return [sat32(_flat64(x) * s).reshape(x.shape)]


@kernel("SNN_ADD_FX", "numpy")
def add(call: Call):
    """Inputs aligned to the finest scale (left shifts, attr `shifts`) and summed."""
    y = np.zeros(call.inputs[0].shape, np.int64)
    for x, s in zip(call.inputs, call.attr("shifts")):
        y += x.astype(np.int64) << s
    return [sat32(y)]


@kernel("SNN_THRESHOLD_FX", "numpy")
def threshold(call: Call):
    x, th = call.inputs[0], call.inputs[1]
    z = x.reshape(x.shape[0], -1) > th.reshape(-1)
    call.activity = (int(z.sum()),)
    return [z.astype(np.int32).reshape(x.shape)]


@kernel("SNN_NEURON_FX", "numpy")
def neuron(call: Call):
    """The float neuron step in integers: decays Q30, the input gains int32 multipliers with
    right shifts `shift_in` / `shift_syn`, results saturated to int32."""
    wide = lambda a: sat32(a).astype(np.int64)
    shift_in, shift_syn = call.attr("shift_in"), call.attr("shift_syn", 0)
    return ref.neuron_step(
        call,
        lambda p, i, x: wide(rshift(p[ALPHA_SYN] * i, DECAY_SHIFT) + rshift(p[BETA_SYN] * x, shift_syn)),
        lambda p, v, d: wide(rshift(p[ALPHA] * v, DECAY_SHIFT) + rshift(p[BETA] * d, shift_in) + p[GAMMA]),
        sat32, work=np.int64)


# ---- Numba: the synapse loops of snn_numba, with 64-bit sums -------------------------------

@kernel("SNN_LINEAR_FX", "numba")
@kernel("SNN_LINEAR_EVENT_FX", "numba")
def linear_numba(call: Call):
    x = call.inputs[0].reshape(call.inputs[0].shape[0], -1).astype(np.int64)  # 64-bit products
    wt, b = call.inputs[1], call.inputs[2]
    y = np.zeros((x.shape[0], wt.shape[1]), np.int64)
    if b is not None:
        y += b
    linear_rows(x, wt, y, call.node.op == "SNN_LINEAR_EVENT_FX")
    events = int(np.count_nonzero(x))
    return_activity(call, events, events * wt.shape[1])
    return [sat32(y)]


for _op, _fn in (("SNN_CONV2D_FX", conv2d), ("SNN_SUMPOOL2D_FX", sumpool2d), ("SNN_SCALE_FX", scale),
                 ("SNN_ADD_FX", add), ("SNN_THRESHOLD_FX", threshold), ("SNN_NEURON_FX", neuron)):
    kernel(_op, "numba")(_fn)

for _op in ("SNN_LINEAR_FX", "SNN_LINEAR_EVENT_FX", "SNN_CONV2D_FX"):
    op_info(_op, macs=ref.linear_macs if "LINEAR" in _op else ref.conv_macs,
            activity=("input_events", "synaptic_events"), family="snn")
op_info("SNN_NEURON_FX", activity=("neuron_updates", "spikes"), family="snn")
op_info("SNN_THRESHOLD_FX", activity=("spikes",), family="snn")
for _op in ("SNN_SUMPOOL2D_FX", "SNN_SCALE_FX", "SNN_ADD_FX"):
    op_info(_op, family="snn")
