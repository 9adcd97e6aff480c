"""Spiking-network ops, float32: the numpy reference (the spec in code).

Every sum is accumulated in float32 in one fixed order (inputs in index order; for
convolutions input channel, then kernel row, then kernel column), starting from the bias,
so that the Numba and C kernels give the same bits. Skipping a zero input leaves that sum
unchanged, which is why the event-driven and the dense paths agree exactly.

Tensors carry the batch first: x is (B, ...). Neuron parameters are one float32 constant
`params` of shape (rows, N) for the N neurons of a layer (rows listed in NEURON_ROWS).
"""
from __future__ import annotations

import numpy as np

from . import Call, kernel, op_info

# rows of the SNN_NEURON params constant
ALPHA, BETA, GAMMA, THRESHOLD, V_RESET, ALPHA_SYN, BETA_SYN = range(7)
NEURON_ROWS = ("alpha", "beta", "gamma", "threshold", "v_reset", "alpha_syn", "beta_syn")


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(x.shape[0], -1)


# ---- synapses ----------------------------------------------------------------------------

def linear_sums(call: Call, skip_zeros: bool) -> np.ndarray:
    """y = W x + b from W stored transposed (in, out): one weight row per input, added in input
    order from the bias; with skip_zeros only inputs that carry a spike (any non-zero value)."""
    x, wt, b = _flat(call.inputs[0]), call.inputs[1], call.inputs[2]
    y = np.zeros((x.shape[0], wt.shape[1]), np.float32) if b is None else np.tile(b, (x.shape[0], 1))
    rows = np.flatnonzero(np.any(x != 0, axis=0)) if skip_zeros else range(x.shape[1])
    for i in rows:
        y += x[:, i:i + 1] * wt[i]
    events = int(np.count_nonzero(x))
    call.activity = (events, events * wt.shape[1])
    return y


@kernel("SNN_LINEAR", "numpy")
def linear(call: Call):
    """Dense path: every weight visited."""
    return [linear_sums(call, skip_zeros=False)]


@kernel("SNN_LINEAR_EVENT", "numpy")
def linear_event(call: Call):
    """Event path: cost ~ spikes. Skipping a zero input leaves every sum unchanged: the same bits."""
    return [linear_sums(call, skip_zeros=True)]


def linear_macs(node, tensors) -> int:
    return int(np.prod(tensors[node.inputs[1]].shape)) * tensors[node.inputs[0]].shape[0]


def conv_geometry(call: Call):
    """(x as (B,C,H,W), weight as (Co,Ci/g,Kh,Kw), stride, padding, dilation, groups, out (Ho,Wo)).
    Conv1d tensors (rank 3) are the H = 1 case."""
    x, w = call.inputs[0], call.inputs[1]
    if x.ndim == 3:
        x, w = x[:, :, None, :], w[:, :, None, :]
    out = call.out_tensor(0).shape
    ho, wo = (1, out[2]) if len(out) == 3 else out[2:]
    return (x, w, call.attr("stride"), call.attr("padding"), call.attr("dilation"),
            call.attr("groups", 1), (ho, wo))


def conv_sums(call: Call, acc) -> tuple[np.ndarray, int, int]:
    """(convolution sums in dtype `acc`, non-zero inputs, synaptic events), accumulated from the
    bias in (input channel, kernel row, kernel column) order."""
    x, w, (sh, sw), (ph, pw), (dh, dw), groups, (ho, wo) = conv_geometry(call)
    b = call.inputs[2]
    bsz, cin = x.shape[:2]
    cout, cig, kh, kw = w.shape
    cog = cout // groups
    xp = np.zeros((bsz, cin, x.shape[2] + 2 * ph, x.shape[3] + 2 * pw), acc)
    xp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]] = x
    y = np.zeros((bsz, cout, ho, wo), acc)
    if b is not None:
        y += b[None, :, None, None]
    events = 0
    for g in range(groups):
        for ci in range(cig):
            for ky in range(kh):
                for kx in range(kw):
                    patch = xp[:, g * cig + ci, ky * dh:ky * dh + sh * (ho - 1) + 1:sh,
                               kx * dw:kx * dw + sw * (wo - 1) + 1:sw]
                    events += int(np.count_nonzero(patch)) * cog
                    tap = w[g * cog:(g + 1) * cog, ci, ky, kx].astype(acc)
                    y[:, g * cog:(g + 1) * cog] += tap[None, :, None, None] * patch[:, None]
    return y, int(np.count_nonzero(call.inputs[0])), events


@kernel("SNN_CONV2D", "numpy")
@kernel("SNN_CONV2D_EVENT", "numpy")
def conv2d(call: Call):
    """PyTorch Conv2d (Conv1d: H = 1). SNN_CONV2D_EVENT computes the same sums by scattering
    each non-zero input into the outputs it reaches (Numba/C); visiting inputs in (channel,
    row, column) order adds each output's terms in this same (channel, kernel row, kernel
    column) order, so the result is the same bits."""
    y, in_events, events = conv_sums(call, np.float32)
    call.activity = (in_events, events)
    return [y.reshape(call.out_tensor(0).shape)]


def conv_macs(node, tensors) -> int:
    out, w = tensors[node.outputs[0]].shape, tensors[node.inputs[1]].shape
    return int(np.prod(out)) * int(np.prod(w[1:]))


def window_sums(call: Call, acc) -> np.ndarray:
    """Sums over each pooling window (zero padding), in dtype `acc`, in (row, column) order."""
    x = call.inputs[0]
    (kh, kw), (sh, sw), (ph, pw) = call.attr("kernel"), call.attr("stride"), call.attr("padding")
    ho, wo = call.out_tensor(0).shape[2:]
    xp = np.zeros(x.shape[:2] + (x.shape[2] + 2 * ph, x.shape[3] + 2 * pw), acc)
    xp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]] = x
    y = np.zeros(x.shape[:2] + (ho, wo), acc)
    for ky in range(kh):
        for kx in range(kw):
            y += xp[:, :, ky:ky + sh * (ho - 1) + 1:sh, kx:kx + sw * (wo - 1) + 1:sw]
    return y


@kernel("SNN_SUMPOOL2D", "numpy")
def sumpool2d(call: Call):
    """Window sums times `scale` (1 for SumPool2d, 1/window for AvgPool2d)."""
    y = window_sums(call, np.float32)
    scale = np.float32(call.attr("scale", 1.0))
    return [y if scale == 1 else y * scale]


@kernel("SNN_SCALE", "numpy")
def scale(call: Call):
    x, s = call.inputs[0], call.inputs[1]
    return [(_flat(x) * s.reshape(-1)).reshape(x.shape)]


@kernel("SNN_ADD", "numpy")
def add(call: Call):
    """Sum of the inputs in order: NIR adds every edge that enters a node."""
    y = call.inputs[0].copy()
    for x in call.inputs[1:]:
        y += x
    return [y]


@kernel("SNN_COPY", "numpy")
def copy(call: Call):
    """Identity: a recurrent value into its STATE tensor, or a relabelled value to a graph output."""
    return [call.inputs[0].reshape(call.out_tensor(0).shape).copy()]


@kernel("SNN_THRESHOLD", "numpy")
def threshold(call: Call):
    x, th = call.inputs[0], call.inputs[1]
    z = _flat(x) > th.reshape(-1)
    call.activity = (int(z.sum()),)
    return [z.astype(np.float32).reshape(x.shape)]


# ---- neurons -----------------------------------------------------------------------------

def neuron_step(call: Call, current, integrate, store, work=None):
    """One step of a LIF / IF / LI / Integrator / CubaLIF / CubaLI population (update form and
    attrs synapse, spiking, reset, reset_next, cuba_new: runtime/spiking.py), with the
    arithmetic passed in: current(p, i, x) -> new synaptic current, integrate(p, v, drive) ->
    new v, store(a) -> the array as the tensors hold it; inputs are cast to dtype `work` when
    given. Float and fixed point share this.
    Inputs: x, params, v [, i]; outputs: out (spikes, or v when not spiking), v [, i]."""
    ins = [a if a is None or work is None else a.astype(work) for a in call.inputs]
    x, p, v = _flat(ins[0]), ins[1], _flat(ins[2])
    spiking, synapse = call.attr("spiking"), call.attr("synapse")
    subtract, late = call.attr("reset") == 1, call.attr("reset_next") == 1
    th = p[THRESHOLD]
    if spiking and late:  # the reset of the previous step's spikes happens now
        fired = v > th
        if not subtract:
            v = np.where(fired, p[V_RESET], v)
    outs = []
    drive = x
    if synapse:
        i = _flat(ins[3])
        i_new = current(p, i, x)
        drive = i_new if call.attr("cuba_new") else i
        outs = [store(i_new).reshape(call.inputs[3].shape)]
    v = integrate(p, v, drive)
    if spiking and late and subtract:
        v = np.where(fired, v - th, v)
    if spiking:
        z = v > th
        if not late:
            v = np.where(z, v - th, v) if subtract else np.where(z, p[V_RESET], v)
        out = store(z)
        call.activity = (v.size, int(z.sum()))
    else:
        out = store(v)
        call.activity = (v.size, 0)
    shape = call.inputs[0].shape
    return [out.reshape(shape), store(v).reshape(shape)] + outs


@kernel("SNN_NEURON", "numpy")
def neuron(call: Call):
    return neuron_step(call, lambda p, i, x: p[ALPHA_SYN] * i + p[BETA_SYN] * x,
                       lambda p, v, d: p[ALPHA] * v + p[BETA] * d + p[GAMMA],
                       lambda a: a.astype(np.float32))


@kernel("SNN_DELAY", "numpy")
def delay(call: Call):
    """y(t) = x(t - steps) per element; buf (D, B, N) holds x(t-1) .. x(t-D)."""
    x, steps, buf = call.inputs[0], call.inputs[1].reshape(-1), call.inputs[2]
    flat = _flat(x)
    y = flat.copy()
    delayed = steps > 0
    y[:, delayed] = buf[steps[delayed] - 1, :, np.flatnonzero(delayed)].T
    new_buf = np.concatenate([flat[None], buf[:-1]])
    return [y.reshape(x.shape), new_buf]


op_info("SNN_LINEAR", macs=linear_macs, activity=("input_events", "synaptic_events"), family="snn")
op_info("SNN_LINEAR_EVENT", macs=linear_macs, activity=("input_events", "synaptic_events"), family="snn")
for _op in ("SNN_CONV2D", "SNN_CONV2D_EVENT"):
    op_info(_op, macs=conv_macs, activity=("input_events", "synaptic_events"), family="snn")
op_info("SNN_NEURON", activity=("neuron_updates", "spikes"), family="snn")
op_info("SNN_THRESHOLD", activity=("spikes",), family="snn")
for _op in ("SNN_SUMPOOL2D", "SNN_SCALE", "SNN_ADD", "SNN_DELAY", "SNN_COPY"):
    op_info(_op, family="snn")
