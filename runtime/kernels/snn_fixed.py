"""Spiking-network ops, fixed point (compile option mode="fixed"; scheme in
runtime/importers/snn_fixed.py): numpy reference, with Numba kernels for the hot loops.

int32 activations, int16 weights, int64 sums saturated to int32, products rounded half up
by an arithmetic right shift. Integer arithmetic is exact, so every backend and both synapse
paths agree bit for bit whatever the summation order.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import Call, kernel, op_info
from . import snn_ops as ref
from .snn_ops import ALPHA, ALPHA_SYN, BETA, BETA_SYN, GAMMA, THRESHOLD, V_RESET

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
def linear(call: Call):
    x, w, b = _flat64(call.inputs[0]), call.inputs[1].astype(np.int64), call.inputs[2]
    y = x @ w.T if call.node.op == "SNN_LINEAR_FX" else x @ w
    if b is not None:
        y = y + b
    events = int(np.count_nonzero(x))
    return_activity(call, events, events * y.shape[1])
    return [sat32(y)]


kernel("SNN_LINEAR_EVENT_FX", "numpy")(linear)


def return_activity(call: Call, events: int, synaptic: int) -> None:
    call.activity = (events, synaptic)


@kernel("SNN_CONV2D_FX", "numpy")
def conv2d(call: Call):
    x, w, (sh, sw), (ph, pw), (dh, dw), groups, (ho, wo) = ref.conv_geometry(call)
    b = call.inputs[2]
    bsz, cin, h, wd = x.shape
    cout, cig, kh, kw = w.shape
    cog = cout // groups
    xp = np.zeros((bsz, cin, h + 2 * ph, wd + 2 * pw), np.int64)
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    y = np.zeros((bsz, cout, ho, wo), np.int64)
    if b is not None:
        y += b[None, :, None, None]
    events = 0
    for g in range(groups):
        for ci in range(cig):
            for ky in range(kh):
                for kx in range(kw):
                    patch = xp[:, g * cig + ci, ky * dh:ky * dh + sh * (ho - 1) + 1:sh, kx * dw:kx * dw + sw * (wo - 1) + 1:sw]
                    events += int(np.count_nonzero(patch)) * cog
                    y[:, g * cog:(g + 1) * cog] += w[g * cog:(g + 1) * cog, ci, ky, kx][None, :, None, None].astype(np.int64) * patch[:, None]
    return_activity(call, int(np.count_nonzero(call.inputs[0])), events)
    return [sat32(y).reshape(call.out_tensor(0).shape)]


@kernel("SNN_SUMPOOL2D_FX", "numpy")
def sumpool2d(call: Call):
    x = call.inputs[0].astype(np.int64)
    (kh, kw), (sh, sw), (ph, pw) = call.attr("kernel"), call.attr("stride"), call.attr("padding")
    ho, wo = call.out_tensor(0).shape[2:]
    xp = np.zeros(x.shape[:2] + (x.shape[2] + 2 * ph, x.shape[3] + 2 * pw), np.int64)
    xp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]] = x
    y = np.zeros(x.shape[:2] + (ho, wo), np.int64)
    for ky in range(kh):
        for kx in range(kw):
            y += xp[:, :, ky:ky + sh * (ho - 1) + 1:sh, kx:kx + sw * (wo - 1) + 1:sw]
    return [sat32(y)]


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
    """The float neuron step (snn_ops.neuron) in integers: decays Q30, the input coefficient
    an int32 multiplier with right shift `shift_in` (`shift_syn` for the synaptic current)."""
    x, p, v = _flat64(call.inputs[0]), call.inputs[1].astype(np.int64), _flat64(call.inputs[2])
    spiking, synapse = call.attr("spiking"), call.attr("synapse")
    subtract, late = call.attr("reset") == 1, call.attr("reset_next") == 1
    th = p[THRESHOLD]
    if spiking and late:
        fired = v > th
        if not subtract:
            v = np.where(fired, p[V_RESET], v)
    outs = []
    drive = x
    if synapse:
        i = _flat64(call.inputs[3])
        i_new = sat32(rshift(p[ALPHA_SYN] * i, DECAY_SHIFT) + rshift(p[BETA_SYN] * x, call.attr("shift_syn"))).astype(np.int64)
        drive = i_new if call.attr("cuba_new") else i
        outs = [i_new.astype(np.int32).reshape(call.inputs[3].shape)]
    v = sat32(rshift(p[ALPHA] * v, DECAY_SHIFT) + rshift(p[BETA] * drive, call.attr("shift_in")) + p[GAMMA]).astype(np.int64)
    if spiking and late and subtract:
        v = np.where(fired, v - th, v)
    if spiking:
        z = v > th
        if not late:
            v = np.where(z, v - th, v) if subtract else np.where(z, p[V_RESET], v)
        out = z.astype(np.int32)
        call.activity = (v.size, int(z.sum()))
    else:
        out = sat32(v)
        call.activity = (v.size, 0)
    shape = call.inputs[0].shape
    return [out.reshape(shape), sat32(v).reshape(shape)] + outs


# ---- Numba: the hot loops -----------------------------------------------------------------

@njit(cache=True)
def _event_fx(x, wt, y):
    events = 0
    for b in range(x.shape[0]):
        for i in range(x.shape[1]):
            xv = np.int64(x[b, i])
            if xv != 0:
                events += 1
                for o in range(wt.shape[1]):
                    y[b, o] += xv * wt[i, o]
    return events


@njit(cache=True)
def _dense_fx(x, w, y):
    events = 0
    for b in range(x.shape[0]):
        for i in range(x.shape[1]):
            events += x[b, i] != 0
        for o in range(w.shape[0]):
            acc = y[b, o]
            for i in range(x.shape[1]):
                acc += np.int64(x[b, i]) * w[o, i]
            y[b, o] = acc
    return events


@kernel("SNN_LINEAR_FX", "numba")
def linear_numba(call: Call):
    x = np.ascontiguousarray(call.inputs[0]).reshape(call.inputs[0].shape[0], -1)
    w, b = call.inputs[1], call.inputs[2]
    n_out = w.shape[0] if call.node.op == "SNN_LINEAR_FX" else w.shape[1]
    y = np.zeros((x.shape[0], n_out), np.int64)
    if b is not None:
        y += b
    events = (_dense_fx if call.node.op == "SNN_LINEAR_FX" else _event_fx)(x, w, y)
    return_activity(call, events, events * n_out)
    return [sat32(y)]


kernel("SNN_LINEAR_EVENT_FX", "numba")(linear_numba)
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
