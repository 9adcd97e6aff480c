"""The ``sim:`` meter: the real PPK2 driver talking to a PPK2 emulator on a pty, whose
current follows a waveform or the board activity the caller reports.

Typical use with a board (QEMU or real)::

    meter = SimulatedPPK2(active_power_w=0.045, idle_power_w=0.004)   # from a device profile
    meter.configure(supply_voltage=3.3)
    meter.start()
    meter.activity.begin(); board.infer(); meter.activity.end()         # host clock
    trace = meter.stop()      # edges on the timestamp bit delimit each activity window
"""

from __future__ import annotations

import threading
import time

import numpy as np

from .ppk2 import PPK2
from .sim.ppk2_emulator import PPK2Emulator


class ActivitySchedule:
    """When the simulated board is busy, in host ``time.monotonic()`` seconds. Thread-safe:
    the caller adds windows while the emulator thread renders them."""

    def __init__(self):
        self._lock = threading.Lock()
        self._starts: list[float] = []
        self._ends: list[float] = []

    def begin(self, t: float | None = None):
        with self._lock:
            self._starts.append(time.monotonic() if t is None else t)
            self._ends.append(np.inf)  # open until end()

    def end(self, t: float | None = None):
        with self._lock:
            if not self._ends or self._ends[-1] != np.inf:
                raise ValueError("activity end() without a matching begin()")
            self._ends[-1] = time.monotonic() if t is None else t

    def add(self, t_start: float, t_end: float):
        with self._lock:
            self._starts.append(t_start)
            self._ends.append(t_end)

    def windows(self) -> list[tuple[float, float]]:
        with self._lock:
            return list(zip(self._starts, self._ends))

    def active(self, t: np.ndarray) -> np.ndarray:
        """Busy at each time (windows of one board do not overlap)."""
        windows = sorted(self.windows())
        if not windows:
            return np.zeros(np.shape(t), dtype=bool)
        starts, ends = np.array(windows).T
        k = np.searchsorted(starts, t, side="right") - 1
        return (k >= 0) & (t < ends[np.maximum(k, 0)])

    def near_edge(self, t: np.ndarray, width: float) -> np.ndarray:
        """True within ``width`` after any window start or end (timestamp pin held low)."""
        edges = np.sort(np.ravel(self.windows()))
        edges = edges[np.isfinite(edges)]
        if not edges.size:
            return np.zeros(np.shape(t), dtype=bool)
        k = np.searchsorted(edges, t, side="right") - 1
        return (k >= 0) & (t < edges[np.maximum(k, 0)] + width)


class SimulatedPPK2(PPK2):
    """A PPK2 in source mode whose load draws ``active_power_w`` while the board is busy
    and ``idle_power_w`` otherwise (or follows ``waveform(t_meter) -> amperes``). The board's
    timestamp pin, on logic bit ``timestamp_bit``, falls for ``pulse_s`` at each activity
    start and end, as MLPerf Tiny firmware does, so windows are exact to one sample."""

    kind = "sim-ppk2"

    def __init__(self, waveform=None, *, active_power_w: float = 0.05,
                 idle_power_w: float = 0.005, voltage: float = 3.3, timestamp_bit: int = 0,
                 pulse_s: float = 100e-6, lag_s: float = 0.1, realtime: bool = True,
                 max_samples: int | None = None):
        self.activity = ActivitySchedule()
        self.active_power_w, self.idle_power_w = active_power_w, idle_power_w
        self.default_voltage = voltage
        self._pulse_s, self._bit = pulse_s, timestamp_bit
        self.emulator = PPK2Emulator(waveform or self._activity_current, self._timestamp_pin,
                                     realtime=realtime, lag_s=lag_s, max_samples=max_samples)
        try:
            super().__init__(self.emulator.port, mode="source", timestamp_bit=timestamp_bit)
        except BaseException:
            self.emulator.close()
            raise

    def _host_time(self, t_meter: np.ndarray) -> np.ndarray:
        return self.emulator.stream_host_t0 + t_meter

    def _activity_current(self, t_meter):
        volts = (self.emulator.vdd_mv or self.default_voltage * 1000) / 1000
        busy = self.activity.active(self._host_time(t_meter))
        return np.where(busy, self.active_power_w, self.idle_power_w) / volts

    def _timestamp_pin(self, t_meter):
        low = self.activity.near_edge(self._host_time(t_meter), self._pulse_s)
        return np.where(low, 0, 1 << self._bit).astype(np.uint8)

    def meter_time(self, host_time: float) -> float:
        # the emulator knows exactly when sample 0 was taken
        return host_time - self.emulator.stream_host_t0

    def _close(self):
        try:
            super()._close()
        finally:
            self.emulator.close()
