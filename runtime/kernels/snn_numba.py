"""Spiking-network ops, float32: Numba kernels, the same loops (and sum order) as the C kernels
in native/src/kernels/snn_float.c. Ops without a hot loop reuse the numpy reference."""
from __future__ import annotations

import numpy as np
from numba import njit

from . import Call, kernel
from . import snn_ops as ref


# The loop below serves float32 (y float32) and fixed point (y int64, x widened to int64)
# alike: y starts at the bias and leaves with the sums; wt is W transposed, (in, out).

@njit(cache=True)
def linear_rows(x, wt, y, skip_zeros):
    for i in range(x.shape[1]):  # inputs outermost: a weight row is read once per batch
        for b in range(x.shape[0]):
            xv = x[b, i]
            if xv != 0 or not skip_zeros:
                for o in range(wt.shape[1]):
                    y[b, o] += xv * wt[i, o]


@kernel("SNN_LINEAR", "numba")
@kernel("SNN_LINEAR_EVENT", "numba")
def linear(call: Call):
    x = np.ascontiguousarray(call.inputs[0]).reshape(call.inputs[0].shape[0], -1)
    wt, b = call.inputs[1], call.inputs[2]
    y = np.zeros((x.shape[0], wt.shape[1]), np.float32) if b is None else np.tile(b, (x.shape[0], 1))
    linear_rows(x, wt, y, call.node.op == "SNN_LINEAR_EVENT")
    events = int(np.count_nonzero(x))
    call.activity = (events, events * wt.shape[1])
    return [y]


@njit(cache=True)
def _conv(x, w, bias, y, sh, sw, ph, pw, dh, dw, groups):
    bsz, cin, h, wd = x.shape
    cout, cig, kh, kw = w.shape
    cog = cout // groups
    events = 0
    for b in range(bsz):
        for co in range(cout):
            c0 = (co // cog) * cig
            for oy in range(y.shape[2]):
                for ox in range(y.shape[3]):
                    acc = bias[co]
                    for ci in range(cig):
                        for ky in range(kh):
                            iy = oy * sh - ph + ky * dh
                            if iy < 0 or iy >= h:
                                continue
                            for kx in range(kw):
                                ix = ox * sw - pw + kx * dw
                                if ix < 0 or ix >= wd:
                                    continue
                                xv = x[b, c0 + ci, iy, ix]
                                if xv != 0:
                                    acc += xv * w[co, ci, ky, kx]
                                    events += 1
                    y[b, co, oy, ox] = acc
    return events


@njit(cache=True)
def _conv_event(x, w, bias, y, sh, sw, ph, pw, dh, dw, groups):
    """Scatter: every non-zero input adds into the outputs it reaches (same sums as _conv)."""
    bsz, cin, h, wd = x.shape
    cout, cig, kh, kw = w.shape
    cog = cout // groups
    events = 0
    for b in range(bsz):
        for co in range(cout):
            y[b, co] = bias[co]
        for ci in range(cin):
            g, cl = ci // cig, ci % cig
            for iy in range(h):
                for ix in range(wd):
                    xv = x[b, ci, iy, ix]
                    if xv == 0:
                        continue
                    for ky in range(kh):
                        ny = iy + ph - ky * dh
                        if ny < 0 or ny % sh != 0 or ny // sh >= y.shape[2]:
                            continue
                        for kx in range(kw):
                            nx = ix + pw - kx * dw
                            if nx < 0 or nx % sw != 0 or nx // sw >= y.shape[3]:
                                continue
                            for co in range(g * cog, (g + 1) * cog):
                                y[b, co, ny // sh, nx // sw] += xv * w[co, cl, ky, kx]
                            events += cog
    return events


@kernel("SNN_CONV2D", "numba")
@kernel("SNN_CONV2D_EVENT", "numba")
def conv2d(call: Call):
    x, w, (sh, sw), (ph, pw), (dh, dw), groups, (ho, wo) = ref.conv_geometry(call)
    b = call.inputs[2] if call.inputs[2] is not None else np.zeros(w.shape[0], np.float32)
    y = np.empty((x.shape[0], w.shape[0], ho, wo), np.float32)
    run = _conv_event if call.node.op == "SNN_CONV2D_EVENT" else _conv
    events = run(np.ascontiguousarray(x), np.ascontiguousarray(w), b, y, sh, sw, ph, pw, dh, dw, groups)
    call.activity = (int(np.count_nonzero(call.inputs[0])), events)
    return [y.reshape(call.out_tensor(0).shape)]


@njit(cache=True)
def _neuron(x, p, v, i, out, v_out, i_out, synapse, spiking, subtract, late, cuba_new):
    spikes = 0
    for b in range(x.shape[0]):
        for k in range(x.shape[1]):
            vv = v[b, k]
            drive = x[b, k]
            th = p[3, k]
            fired = spiking and late and vv > th
            if fired and not subtract:
                vv = p[4, k]
            if synapse:
                i_new = p[5, k] * i[b, k] + p[6, k] * x[b, k]
                drive = i_new if cuba_new else i[b, k]
                i_out[b, k] = i_new
            vv = p[0, k] * vv + p[1, k] * drive + p[2, k]
            if fired and subtract:
                vv = vv - th
            if spiking:
                z = vv > th
                if z and not late:
                    vv = vv - th if subtract else p[4, k]
                out[b, k] = np.float32(1.0) if z else np.float32(0.0)
                spikes += z
            else:
                out[b, k] = vv
            v_out[b, k] = vv
    return spikes


@kernel("SNN_NEURON", "numba")
def neuron(call: Call):
    shape = call.inputs[0].shape
    flat = lambda a: np.ascontiguousarray(a).reshape(shape[0], -1)
    x, v = flat(call.inputs[0]), flat(call.inputs[2])
    synapse = bool(call.attr("synapse"))
    i = flat(call.inputs[3]) if synapse else v
    out, v_out, i_out = np.empty_like(x), np.empty_like(x), np.empty_like(x)
    spikes = _neuron(x, call.inputs[1], v, i, out, v_out, i_out, synapse, bool(call.attr("spiking")),
                     call.attr("reset") == 1, call.attr("reset_next") == 1, bool(call.attr("cuba_new")))
    call.activity = (x.size, spikes)
    outs = [out.reshape(shape), v_out.reshape(shape)]
    return outs + [i_out.reshape(shape)] if synapse else outs


for _op in ("SNN_SUMPOOL2D", "SNN_SCALE", "SNN_ADD", "SNN_THRESHOLD", "SNN_DELAY", "SNN_COPY"):
    kernel(_op, "numba")(getattr(ref, _op[4:].lower()))
