"""Input encoders (values -> spike trains over T steps) and output decoders (spike trains or
membrane traces -> values) for spiking models. Arrays are time-major: (T, ...)."""
from __future__ import annotations

import numpy as np

from edgert.errors import InputError


def _steps(steps: int) -> int:
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise InputError(f"steps must be a positive integer, got {steps!r}")
    return int(steps)


def _unit(x, what: str) -> np.ndarray:
    x = np.asarray(x, np.float64)
    if x.size and (not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 1):
        raise InputError(f"{what} takes values in [0, 1]; got min {x.min():g}, max {x.max():g}")
    return x


# ---- encoders ----------------------------------------------------------------------------

def direct(x, steps: int) -> np.ndarray:
    """Direct (current) encoding: the analog input repeated at every step."""
    x = np.asarray(x, np.float32)
    return np.broadcast_to(x, (_steps(steps), *x.shape)).copy()


def bernoulli(p, steps: int, seed: int = 0) -> np.ndarray:
    """Rate encoding: at every step each element spikes with probability p (in [0, 1])."""
    p = _unit(p, "bernoulli")
    rng = np.random.default_rng(seed)
    return (rng.random((_steps(steps), *p.shape)) < p).astype(np.float32)


def poisson(rate, steps: int, dt: float, seed: int = 0) -> np.ndarray:
    """Poisson rate encoding: `rate` in events per time unit (Hz for dt in s); a step spikes when
    a Poisson process has at least one event in it, p = 1 - exp(-rate * dt)."""
    rate = np.asarray(rate, np.float64)
    if rate.size and (not np.all(np.isfinite(rate)) or rate.min() < 0):
        raise InputError("poisson rates must be finite and >= 0")
    if not dt > 0:
        raise InputError(f"dt must be > 0, got {dt!r}")
    return bernoulli(-np.expm1(-rate * dt), steps, seed)


def latency(x, steps: int, threshold: float = 0.0) -> np.ndarray:
    """Latency (time-to-first-spike) encoding: one spike per element, at step
    round((1 - x) * (steps - 1)) for x in [0, 1]; larger values fire earlier; elements at or
    below `threshold` never fire."""
    x = _unit(x, "latency")
    steps = _steps(steps)
    t = np.rint((1.0 - x) * (steps - 1)).astype(np.int64)
    out = np.zeros((steps, *x.shape), np.float32)
    fire = x > threshold
    idx = np.nonzero(fire)
    out[(t[fire], *idx)] = 1.0
    return out


def events_to_dense(events, steps: int, shape) -> np.ndarray:
    """A list of (t, index) events (index into the flattened input) -> a (T, *shape) spike array."""
    ev = np.asarray(events)
    shape = tuple(int(d) for d in np.atleast_1d(shape))
    n = int(np.prod(shape))
    steps = _steps(steps)
    if ev.size == 0:
        return np.zeros((steps, *shape), np.float32)
    if ev.ndim != 2 or ev.shape[1] != 2 or not np.issubdtype(ev.dtype, np.integer):
        raise InputError(f"events must be integer (t, index) pairs, shape (E, 2); got {ev.dtype} {ev.shape}")
    t, i = ev[:, 0], ev[:, 1]
    if t.min() < 0 or t.max() >= steps or i.min() < 0 or i.max() >= n:
        raise InputError(f"events out of range: t must be in 0..{steps - 1} and index in 0..{n - 1}")
    out = np.zeros((steps, n), np.float32)
    out[t, i] = 1.0
    return out.reshape(steps, *shape)


def dense_to_events(spikes) -> np.ndarray:
    """(T, ...) spike array -> (E, 2) int64 (t, flat index) events, in time order."""
    s = np.asarray(spikes)
    t, i = np.nonzero(s.reshape(s.shape[0], -1))
    return np.stack([t, i], axis=1).astype(np.int64)


# ---- decoders ----------------------------------------------------------------------------

def spike_counts(spikes) -> np.ndarray:
    """Spikes per output over the whole run."""
    return np.asarray(spikes).sum(axis=0)


def first_spike(spikes) -> np.ndarray:
    """Step of each output's first spike; T (the run length) where it never fired."""
    s = np.asarray(spikes) != 0
    return np.where(s.any(axis=0), s.argmax(axis=0), s.shape[0])


def membrane(trace, reduce: str = "max") -> np.ndarray:
    """Membrane readout of a (T, ...) trace (a non-spiking LI/CubaLI output layer, or a state
    recorded with edgert.runtime.spiking.record): its 'max', 'mean' or 'last' value."""
    trace = np.asarray(trace)
    if reduce == "last":
        return trace[-1]
    if reduce in ("max", "mean"):
        return getattr(trace, reduce)(axis=0)
    raise InputError(f"membrane reduce must be 'max', 'mean' or 'last', got {reduce!r}")


def predict(outputs, decoder: str = "count") -> np.ndarray:
    """Class per sample from a (T, [batch,] classes) run: most spikes ('count'), earliest spike
    ('first') or largest membrane ('membrane')."""
    if decoder == "count":
        return spike_counts(outputs).argmax(axis=-1)
    if decoder == "first":
        return first_spike(outputs).argmin(axis=-1)
    if decoder == "membrane":
        return membrane(outputs).argmax(axis=-1)
    raise InputError(f"decoder must be 'count', 'first' or 'membrane', got {decoder!r}")
