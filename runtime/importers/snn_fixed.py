"""Float spiking Graph -> fixed-point Graph (compile option mode="fixed"), as event cores and
MCUs without an FPU run it. The scheme (docs/spiking.md, "Fixed mode"):

* every activation is int32 with a power-of-two scale: real = q * 2^-f (spikes: f = 0;
  graph inputs: f = FIXED_INPUT_FRAC); the scales are attached as Quant, so Session.quantize
  / dequantize convert;
* weights are int16 with one power-of-two scale per layer (the largest |w| uses the 15 bits);
  a synapse's output has f = f_in + f_w (capped at MAX_FRAC by dropping weight bits);
  biases are int32 at that scale; sums accumulate in 64 bits and saturate to int32;
* membrane potentials are int32 with f_v chosen so the largest |threshold| is about 2^14
  (non-spiking neurons: f_v = 16); decays are Q30 multipliers; the input coefficient is an
  int32 multiplier with its own right shift; every product is rounded half up
  (add 2^(s-1), arithmetic shift right by s).
"""
from __future__ import annotations

import math

import numpy as np

from edgert.errors import ModelError, UnsupportedOpError

from ..ir import ARENA, STATE, Graph, Quant
from ..kernels.snn_ops import ALPHA, ALPHA_SYN, BETA, BETA_SYN, GAMMA, THRESHOLD, V_RESET

FIXED_INPUT_FRAC = 8  # graph inputs: 8 fraction bits (a spike of 1.0 is 256)
MAX_FRAC = 24  # synapse outputs keep 7 integer bits of headroom in int32
THRESHOLD_BITS = 14  # |threshold| maps to about 2^14
DECAY_BITS = 30  # Q30 decay multipliers
LI_FRAC = 16


def _weight_frac(w: np.ndarray, f_in: int) -> int:
    top = float(np.max(np.abs(w))) if w.size else 0.0
    f = 15 if top == 0 else math.floor(math.log2(32767.0 / top))
    return min(f, MAX_FRAC - f_in)


def _q(x, f: int, dtype: str, what: str) -> np.ndarray:
    q = np.rint(np.asarray(x, np.float64) * 2.0 ** f)
    info = np.iinfo(dtype)
    if q.size and (q.min() < info.min or q.max() > info.max):
        raise UnsupportedOpError(f"fixed mode: {what} does not fit {dtype} at 2^-{f} (values up to {np.abs(x).max():g})")
    return q.astype(dtype)


def _shift_for(values: np.ndarray, f: int) -> int:
    """Right shift s such that round(|values| * 2^(f + s)) stays within 2^30."""
    top = float(np.max(np.abs(values))) if values.size else 0.0
    if top == 0:
        return 0
    s = math.floor(DECAY_BITS - math.log2(top) - f)
    if s < 0:
        raise UnsupportedOpError(f"fixed mode: an input coefficient ({top:g} x 2^{f}) is too large for int32")
    return min(s, 62 - 31)


def membrane_frac(n, params: np.ndarray) -> int:
    if not n.attrs["spiking"]:
        return LI_FRAC
    top = max(float(np.abs(params[THRESHOLD]).max()), float(np.abs(params[V_RESET]).max()), 1e-9)
    return min(THRESHOLD_BITS - math.ceil(math.log2(top)), 28)


class _Fixer:
    def __init__(self, g: Graph):
        self.g = g
        self.producer = {t: n for n in g.nodes for t in n.outputs}
        self.frac: dict[int, int] = {t: FIXED_INPUT_FRAC for t in g.inputs}
        self.visiting: set[int] = set()
        self.done: set[int] = set()
        for n in g.nodes:  # a neuron's output scale depends on its parameters only: known
            if n.op == "SNN_NEURON":  # up front, it resolves every recurrent cycle
                fv = membrane_frac(n, self.const(n.inputs[1]))
                self.frac[n.outputs[0]] = 0 if n.attrs["spiking"] else fv

    def const(self, k: int) -> np.ndarray:
        return self.g.tensors[k].data

    def set_const(self, k: int, data: np.ndarray) -> None:
        t = self.g.tensors[k]
        t.dtype, t.data, t.shape = str(data.dtype), np.ascontiguousarray(data), data.shape

    def f(self, t: int) -> int:
        """Fraction bits of activation t (converting its producer on first use)."""
        if t not in self.frac:
            self.convert(self.producer[t])
        return self.frac[t]

    def convert(self, n) -> None:
        if id(n) in self.done:
            return
        if id(n) in self.visiting:
            raise UnsupportedOpError(f"fixed mode: the cycle through {n.name!r} has no neuron to fix its scale")
        self.visiting.add(id(n))
        getattr(self, "_" + n.op[4:].lower())(n)
        self.visiting.discard(id(n))
        self.done.add(id(n))

    # -- ops --------------------------------------------------------------------------
    def _synapse(self, n, rows: bool) -> None:
        f_in = self.f(n.inputs[0])
        w = self.const(n.inputs[1])
        fw = _weight_frac(w, f_in)
        self.set_const(n.inputs[1], _q(w, fw, "int16", f"weights of {n.name!r}"))
        if n.inputs[2] >= 0:
            self.set_const(n.inputs[2], _q(self.const(n.inputs[2]), f_in + fw, "int32", f"bias of {n.name!r}"))
        n.op += "_FX"
        if rows:  # the C linear kernels sum the batch's outputs in 64-bit scratch
            n.scratch = 8 * w.shape[1] * self.g.tensors[n.outputs[0]].shape[0]
        self.frac[n.outputs[0]] = f_in + fw

    def _linear(self, n):
        self._synapse(n, True)

    def _linear_event(self, n):
        self._synapse(n, True)

    def _conv2d(self, n):
        self._synapse(n, False)

    def _conv2d_event(self, n):  # the fixed conv skips zero inputs tap by tap
        n.op = "SNN_CONV2D"
        self._synapse(n, False)

    def _sumpool2d(self, n):
        window = n.attrs["kernel"][0] * n.attrs["kernel"][1]
        scale = n.attrs.pop("scale", 1.0)
        extra = 0
        if scale != 1.0:
            extra = int(round(math.log2(window)))
            if 2 ** extra != window:
                raise UnsupportedOpError(f"fixed mode: AvgPool2d {n.name!r} needs a power-of-two window, got {window}")
        n.op = "SNN_SUMPOOL2D_FX"
        self.frac[n.outputs[0]] = self.f(n.inputs[0]) + extra

    def _scale(self, n):
        s = self.const(n.inputs[1])
        fs = _weight_frac(s, self.f(n.inputs[0]))
        self.set_const(n.inputs[1], _q(s, fs, "int16", f"scale of {n.name!r}"))
        n.op = "SNN_SCALE_FX"
        self.frac[n.outputs[0]] = self.f(n.inputs[0]) + fs

    def _add(self, n):
        fracs = [self.f(t) for t in n.inputs]
        n.attrs["shifts"] = [max(fracs) - f for f in fracs]
        n.op = "SNN_ADD_FX"
        self.frac[n.outputs[0]] = max(fracs)

    def _threshold(self, n):
        f = self.f(n.inputs[0])
        self.set_const(n.inputs[1], _q(self.const(n.inputs[1]), f, "int32", f"threshold of {n.name!r}"))
        n.op = "SNN_THRESHOLD_FX"
        self.frac[n.outputs[0]] = 0

    def _copy(self, n):
        self.frac[n.outputs[0]] = self.f(n.inputs[0])

    def _delay(self, n):
        self.frac[n.outputs[0]] = self.f(n.inputs[0])

    def _neuron(self, n):
        p = self.const(n.inputs[1]).astype(np.float64)
        synapse = n.attrs["synapse"]
        fv = membrane_frac(n, p)
        fx = self.f(n.inputs[0])
        shift_b = _shift_for(p[BETA], fv - fx)
        rows = [_q(p[ALPHA], DECAY_BITS, "int32", f"decay of {n.name!r}"),
                _q(p[BETA], fv - fx + shift_b, "int32", f"input gain of {n.name!r}"),
                _q(p[GAMMA], fv, "int32", f"leak of {n.name!r}"),
                _q(p[THRESHOLD], fv, "int32", f"threshold of {n.name!r}"),
                _q(p[V_RESET], fv, "int32", f"v_reset of {n.name!r}")]
        if synapse:
            shift_bs = _shift_for(p[BETA_SYN], 0)
            rows += [_q(p[ALPHA_SYN], DECAY_BITS, "int32", f"synaptic decay of {n.name!r}"),
                     _q(p[BETA_SYN], shift_bs, "int32", f"w_in of {n.name!r}")]
            n.attrs["shift_syn"] = shift_bs
            self.frac[n.outputs[2]] = fx
        n.attrs["shift_in"] = shift_b
        self.set_const(n.inputs[1], np.stack(rows))
        n.op = "SNN_NEURON_FX"
        self.frac[n.outputs[1]] = fv


def to_fixed(g: Graph) -> Graph:
    fixer = _Fixer(g)
    for n in g.nodes:
        fixer.convert(n)
    for k, t in enumerate(g.tensors):
        if t.storage in (ARENA, STATE) and t.dtype == "float32":
            t.dtype = "int32"
            f = fixer.frac.get(k)
            if t.init is not None:  # a recurrent Affine's bias, at the scale of the values it stands for
                t.init = _q(t.init, f, "int32", f"initial value of {t.name!r}")
            if f is not None:
                t.quant = Quant(np.float32(2.0 ** -f), 0)
    g.meta["fixed"] = {"input_frac_bits": FIXED_INPUT_FRAC, "weights": "int16", "state": "int32"}
    return g
