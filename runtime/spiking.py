"""Spiking models on the host: time-stepping conventions and the multi-step run.

NIR states continuous-time dynamics; every backend discretises them its own way. The
conventions below are compile options (`edgert.compile(net.nir, integrator="exact", ...)`),
recorded in the .ert meta under "spiking", and turned into per-neuron coefficients at compile
time so that every kernel runs one update form (docs/spiking.md):

    v <- alpha * v + beta * drive + gamma          drive = input (LIF) or synaptic current
    i <- alpha_syn * i + beta_syn * input          (CubaLIF / CubaLI only)
    z  = v > threshold; on a spike v <- v_reset (reset="zero") or v - threshold ("subtract")

One Session.run is one time step; neuron state lives in STATE tensors that persist across
runs and are restored by Session.reset().
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from edgert.errors import InputError, ModelError

INTEGRATORS = ("euler", "exact")
RESETS = ("zero", "subtract")
TIMINGS = ("same", "next")
CUBA_ORDERS = ("old", "new")
SYNAPSES = ("event", "dense")
MODES = ("float", "fixed")
# NIR metadata key under which edgert's exporter records the conventions (a JSON object); the
# importer takes them as defaults, so an exported graph re-imports with the same dynamics
CONVENTIONS_KEY = "edgert_conventions"


@dataclass(frozen=True)
class Conventions:
    """How a NIR graph is discretised. Defaults follow Norse (the NIR paper's reference)."""
    dt: float = 1e-4  # step length, in the graph's time unit (the NIR fixtures use seconds)
    integrator: str = "euler"  # "euler": forward Euler; "exact": exponential (zero-order hold)
    reset: str = "zero"  # "zero": v <- v_reset (NIR's field); "subtract": v <- v - threshold
    reset_timing: str = "same"  # "same": reset right after the spike; "next": at the next step,
    #                             after the leak and undecayed (snnTorch's reset_delay=True)
    spike_delay: int = 0  # steps before a neuron's spikes reach the next layer (Lava: 1)
    cuba_order: str = "old"  # CubaLIF: v integrates the current before ("old", Norse) or after
    #                          ("new", snnTorch Synaptic) this step's input enters it
    synapses: str = "event"  # "event": visit only inputs that spiked (cost ~ spikes); "dense": all
    mode: str = "float"  # "float" (float32) or "fixed" (int16 weights, int32 state)
    batch: int = 1  # samples run side by side (leading dimension of every tensor)

    def __post_init__(self):
        checks = [("integrator", INTEGRATORS), ("reset", RESETS), ("reset_timing", TIMINGS),
                  ("cuba_order", CUBA_ORDERS), ("synapses", SYNAPSES), ("mode", MODES)]
        for name, allowed in checks:
            if getattr(self, name) not in allowed:
                raise ModelError(f"spiking option {name}={getattr(self, name)!r}: use one of {allowed}")
        if not (isinstance(self.dt, (int, float)) and math.isfinite(self.dt) and self.dt > 0):
            raise ModelError(f"spiking option dt={self.dt!r}: must be a positive finite number")
        if self.spike_delay not in (0, 1):
            raise ModelError(f"spiking option spike_delay={self.spike_delay!r}: use 0 (same step) or 1 (next step)")
        if not (isinstance(self.batch, int) and 1 <= self.batch <= 65536):
            raise ModelError(f"spiking option batch={self.batch!r}: must be an integer in 1..65536")

    def as_meta(self) -> dict:
        return asdict(self)


def leaky_coefficients(conv: Conventions, tau, r, v_leak):
    """(alpha, beta, gamma) of v <- alpha*v + beta*I + gamma for tau dv/dt = (v_leak - v) + r I.
    Computed in float64 from the file's values, rounded once to float32."""
    tau, r, v_leak = (np.asarray(a, np.float64) for a in (tau, r, v_leak))
    if conv.integrator == "euler":
        a = conv.dt / tau
        return 1.0 - a, a * r, a * v_leak
    d = np.exp(-conv.dt / tau)
    return d, r * (1.0 - d), v_leak * (1.0 - d)


def integrator_coefficients(conv: Conventions, r):
    """dv/dt = r I (IF, Integrator): exact and Euler agree for an input held over the step."""
    r = np.asarray(r, np.float64)
    return np.ones_like(r), conv.dt * r, np.zeros_like(r)


# ---------------------------------------------------------------------------------------
# Multi-step execution
# ---------------------------------------------------------------------------------------

def _split_steps(session, inputs) -> tuple[int, list[np.ndarray]]:
    names = session.input_names
    if isinstance(inputs, dict):
        if set(inputs) != set(names):
            raise InputError(f"inputs by name: expected {names}, got {sorted(inputs)}")
        arrays = [np.asarray(inputs[n]) for n in names]
    elif len(names) == 1:
        arrays = [np.asarray(inputs)]
    else:
        raise InputError(f"this model has {len(names)} inputs {names}: pass a dict of [T, ...] arrays by name")
    steps = {a.shape[0] if a.ndim else -1 for a in arrays}
    if len(steps) != 1 or -1 in steps:
        raise InputError("run_steps needs arrays with the time steps first, all of the same length; "
                         f"got shapes {[a.shape for a in arrays]}")
    return steps.pop(), arrays


def _as_input(session, k: int, x: np.ndarray) -> np.ndarray:
    """Spikes may come as bool or float; a fixed-point model takes its quantized integers."""
    d = session.input_details()[k]
    if np.issubdtype(np.dtype(d["dtype"]), np.integer) and d["scale"] is not None:
        if x.dtype == np.bool_ or np.issubdtype(x.dtype, np.floating):
            return session.quantize(x.astype(np.float32), k)
    if x.dtype == np.bool_:
        return x.astype(d["dtype"])
    return x


def run_steps(session, inputs, observer=None):
    """Run T time steps. `inputs` is a [T, ...] array (or a dict of them by input name); the
    result is a [T, ...] array (or a dict by output name). State carries over from earlier
    calls: call session.reset() to start afresh. `observer` is passed to every Session.run."""
    steps, arrays = _split_steps(session, inputs)
    arrays = [_as_input(session, k, a) for k, a in enumerate(arrays)]
    if session.backend == "c" and observer is None:
        return _run_native(session, steps, arrays)
    names = session.input_names
    outs: list[list[np.ndarray]] = [[] for _ in session.output_names]
    for t in range(steps):
        feed = arrays[0][t] if len(names) == 1 else {n: a[t] for n, a in zip(names, arrays)}
        y = session.run(feed, observer=observer)
        for k, v in enumerate([y] if len(outs) == 1 else [y[n] for n in session.output_names]):
            outs[k].append(v)
    stacked = [np.stack(o) if o else np.zeros((0,)) for o in outs]
    return stacked[0] if len(stacked) == 1 else dict(zip(session.output_names, stacked))


def _run_native(session, steps: int, arrays: list[np.ndarray]):
    """The C backend without an observer: one ert_invoke per step on the arena views, without
    Session.run's per-call dispatch (inputs are still checked step by step)."""
    graph, nm = session.graph, session._native
    ins = [nm.view(i) for i in graph.inputs]
    outs = [nm.view(o) for o in graph.outputs]
    results = [np.empty((steps, *v.shape), v.dtype) for v in outs]
    for step in range(steps):
        for i, view, a in zip(graph.inputs, ins, arrays):
            view[...] = session._check_input(i, a[step])
        nm.invoke()
        for r, v in zip(results, outs):
            r[step] = v
    return results[0] if len(results) == 1 else dict(zip(session.output_names, results))


class ActivityTotals:
    """An observer that totals each node's activity counters: totals[node][counter]."""

    def __init__(self):
        self.totals: dict[str, dict[str, int]] = {}

    def __call__(self, rec) -> None:
        node = self.totals.setdefault(rec.name, {})
        for k, v in rec.activity.items():
            node[k] = node.get(k, 0) + v


def activity(session, inputs) -> dict[str, dict[str, int]]:
    """Run T steps and total each node's activity counters (node name -> counter -> total)."""
    totals = ActivityTotals()
    run_steps(session, inputs, observer=totals)
    return totals.totals


def step_inputs(session, x, steps: int | None, events: bool = False, rate: float = 0.1, seed: int = 0) -> np.ndarray:
    """The (T, ...) input of a multi-step run (the CLI's `run --steps`): `x` a dense (T, ...)
    array, cut or zero-padded to `steps`; with events=True, `x` is a list of (t, index) events
    (index into the flattened input); x None: Bernoulli spikes with probability `rate`."""
    from .encoders import bernoulli, events_to_dense
    shape = session.input_details()[0]["shape"]
    if x is None:
        return bernoulli(np.full(shape, rate), steps or 100, seed)
    if events:
        x = np.asarray(x)
        last = int(x[:, 0].max()) + 1 if x.ndim == 2 and len(x) else 1
        return events_to_dense(x, steps or last, shape)
    x = np.asarray(x)
    per_step = x.shape[1:] if x.ndim else ()
    if int(np.prod(per_step)) != int(np.prod(shape)):
        raise InputError(f"input of shape {x.shape}: expected (T, {', '.join(map(str, shape))}) for this model "
                         "(or pass events with --events)")
    if steps is None or steps == len(x):
        return x
    if steps < len(x):
        return x[:steps]
    return np.concatenate([x, np.zeros((steps - len(x), *per_step), x.dtype)])


def record(session, inputs, nodes) -> dict[str, np.ndarray]:
    """Run T steps and return each named neuron node's membrane potential after every step,
    as (T, ...) float arrays (fixed-point models: dequantized)."""
    graph = session.graph
    wanted = {n.name: n for n in graph.nodes if n.name in set(nodes)}
    missing = [n for n in nodes if n not in wanted or not wanted[n].op.startswith("SNN_NEURON")]
    if missing:
        raise InputError(f"no neuron nodes named {missing}; neurons: "
                         f"{[n.name for n in graph.nodes if n.op.startswith('SNN_NEURON')]}")
    traces: dict[str, list[np.ndarray]] = {n: [] for n in nodes}

    def keep(rec):
        if rec.name in traces:
            q = graph.tensors[wanted[rec.name].outputs[1]].quant
            v = rec.outputs[1].astype(np.float64)
            traces[rec.name].append(v * q.scale[0] if q is not None else v)
    run_steps(session, inputs, observer=keep)
    return {n: np.stack(v) for n, v in traces.items()}
