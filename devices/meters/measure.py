"""Energy per inference from a meter and something that runs inferences.

The MLPerf Tiny energy method: run N inferences per window, repeat the window (5 times
in MLPerf Tiny), report the median over windows of (window energy / N). Windows come, best
first, from the timestamp pin the meter recorded, from times the caller reports (board
clock mapped through a :class:`ClockMap`, or host clock), or from the host clock around the
call (uncertain by the host-meter latency, ~1 ms).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from edgert.errors import EdgertError

from .base import Meter
from .sync import ClockMap, pair_edges
from .trace import Trace


@dataclass
class Windows:
    """What ``run_inferences`` may return: inference windows on some clock. ``clock`` is
    "host" (``time.monotonic()``), "meter", or a ClockMap from the board's clock."""

    times: list[tuple[float, float]]
    clock: str | ClockMap = "host"


@dataclass
class MeasureResult:
    energy_per_inference_j: float  # median over runs
    average_power_w: float  # mean power inside the windows (no baseline subtracted)
    latency_s: float  # median over runs of window time / inferences
    runs_energy_per_inference_j: list[float]
    idle_power_w: float | None  # baseline subtracted, when asked for
    inferences_per_run: int
    marker_source: str  # "pin", "reported" or "host"
    windows: list[tuple[float, float]]
    trace: Trace = field(repr=False)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "trace"}


def mlperf_median(values) -> float:
    """MLPerf Tiny reports the median over its repeated windows."""
    if len(values) == 0:
        raise ValueError("no runs to take a median over")
    return float(np.median(values))


def measure_energy(meter: Meter, run_inferences, n: int, repeats: int = 1, *,
                   idle_baseline: bool = False, settle_s: float = 0.05,
                   markers: str = "auto") -> MeasureResult:
    """Start ``meter``, call ``run_inferences(n)`` ``repeats`` times, stop, and compute
    energy per inference. ``run_inferences`` returns None (host-clock window around the
    call), a list of (start, end) host-time windows, or :class:`Windows`. ``markers``:
    "auto" (pin edges if the meter recorded any, else reported/host), "pin", "reported"
    or "host". If ``run_inferences`` raises (a board stops answering), the meter is stopped
    and the trace so far is attached to the exception as ``.partial`` and saved to disk."""
    if markers not in ("auto", "pin", "reported", "host"):
        raise ValueError(f"markers must be auto, pin, reported or host, not {markers!r}")
    meter.start()
    brackets, reported = [], []
    try:
        for _ in range(repeats):
            time.sleep(settle_s)
            h0 = time.monotonic()
            answer = run_inferences(n)
            h1 = time.monotonic()
            brackets.append((meter.meter_time(h0), meter.meter_time(h1)))
            reported.append(_reported_windows(meter, answer))
        time.sleep(settle_s)
    except BaseException as e:
        _keep_partial(meter, e)
        raise
    trace = meter.stop()
    source, runs = _choose_windows(trace, brackets, reported, markers, settle_s / 2)
    inside = [(float(a), float(b)) for run in runs for a, b in run]
    idle = float(trace.idle_power(inside)) if idle_baseline else None
    per_run = [trace.energy_per_inference(run, n, idle or 0.0) for run in runs]
    energies = [float(e) for e, _ in per_run]
    power = float(trace.window_energies(inside).sum()) / sum(b - a for a, b in inside)
    trace.windows = inside
    return MeasureResult(mlperf_median(energies), power, mlperf_median([t for _, t in per_run]),
                         energies, idle, n, source, inside, trace)


def _reported_windows(meter: Meter, answer) -> list[tuple[float, float]] | None:
    if answer is None:
        return None
    if not isinstance(answer, Windows):
        answer = Windows(list(answer))
    if isinstance(answer.clock, ClockMap):
        return answer.clock.windows(answer.times)
    if answer.clock == "host":
        return [(meter.meter_time(a), meter.meter_time(b)) for a, b in answer.times]
    if answer.clock == "meter":
        return [(float(a), float(b)) for a, b in answer.times]
    raise ValueError(f"unknown clock {answer.clock!r}: use 'host', 'meter' or a ClockMap")


def _choose_windows(trace, brackets, reported, markers, margin):
    if markers in ("auto", "pin"):
        runs = _pin_runs(trace, brackets, margin)
        if runs is not None:
            return "pin", runs
        if markers == "pin":
            raise EdgertError("the timestamp pin did not mark every run with start/end "
                              "edges; check its wiring to the meter's logic input, or use "
                              "markers='reported'")
    if markers in ("auto", "reported") and all(r is not None for r in reported):
        return "reported", reported
    if markers == "reported":
        raise EdgertError("run_inferences returned no windows; return (start, end) times "
                          "or use markers='host'")
    return "host", [[b] for b in brackets]


def _pin_runs(trace, brackets, margin):
    """Edge pairs inside each call; pin edges may trail the host clock by a sample, so a
    margin around each call is searched. None unless every run has whole pairs."""
    try:
        runs = [pair_edges([e for e in trace.edges if a - margin <= e <= b + margin])
                for a, b in brackets]
    except ValueError:
        return None
    return runs if runs and all(runs) else None


def _keep_partial(meter: Meter, error: BaseException):
    try:
        partial = meter.stop()
    except EdgertError as meter_error:  # the meter failed too: it saved its own partial
        partial = getattr(meter_error, "partial", None)
    if partial is not None and isinstance(error, Exception):
        path = meter.save_partial(partial)
        error.partial = partial
        error.add_note(f"samples measured before the failure were saved to {path}")
