"""Put inference markers on the meter's time base.

Two sources, best first:
* a timestamp pin recorded by the meter itself (PPK2 logic inputs D0..D7, as MLPerf Tiny
  wires its DUT timestamp line): exact to one sample period;
* start/end times the board reports on its own clock, mapped through a clock model
  (offset and drift) fitted on sync events seen by both clocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def logic_edges(t, logic, bit: int, falling: bool = True, hold_s: float = 0.0) -> np.ndarray:
    """Times of edges on one logic input bit.

    An edge is stamped with the first sample in the new state, so it lies within one sample
    period after the true transition. With ``hold_s`` an edge counts only if the new state
    lasts at least that long (EnergyRunner's timestamp-hold filter against glitches)."""
    t = np.asarray(t, dtype=np.float64)
    level = (np.asarray(logic, dtype=np.uint8) >> bit) & 1
    change = np.flatnonzero(np.diff(level.astype(np.int8)) == (-1 if falling else 1)) + 1
    if hold_s > 0 and change.size:
        # position of the next change of any kind after each candidate edge
        any_change = np.flatnonzero(np.diff(level) != 0) + 1
        nxt = np.searchsorted(any_change, change, side="right")
        end = np.where(nxt < any_change.size,
                       t[any_change[np.minimum(nxt, any_change.size - 1)]], np.inf)
        change = change[end - t[change] >= hold_s]
    return t[change]


def pair_edges(edges) -> list[tuple[float, float]]:
    """Consecutive edges as (start, end) windows: (e0, e1), (e2, e3), ..."""
    e = [float(x) for x in edges]
    if len(e) % 2:
        raise ValueError(f"{len(e)} edges cannot be paired into start/end windows; "
                         "the recording probably cut an inference in half")
    return [(e[k], e[k + 1]) for k in range(0, len(e), 2)]


def last_two_edges(edges) -> tuple[float, float]:
    """The MLPerf Tiny window: the last two timestamp events (earlier pin activity ignored)."""
    if len(edges) < 2:
        raise ValueError(f"need at least two timestamp edges, found {len(edges)}; "
                         "check that the timestamp pin is wired to the meter's logic input")
    return float(edges[-2]), float(edges[-1])


@dataclass(frozen=True)
class ClockMap:
    """meter_time = offset + rate * board_time (rate = 1 + drift)."""

    offset: float
    rate: float = 1.0

    @classmethod
    def from_sync(cls, board_time: float, meter_time: float) -> ClockMap:
        """One sync edge seen by both clocks: offset only, drift assumed zero."""
        return cls(meter_time - board_time)

    @classmethod
    def fit(cls, board_times, meter_times) -> ClockMap:
        """Least-squares offset and drift from two or more sync events."""
        b = np.asarray(board_times, dtype=np.float64)
        m = np.asarray(meter_times, dtype=np.float64)
        if b.size != m.size or b.size < 2:
            raise ValueError("fitting a clock needs the same number (>= 2) of board and meter times")
        b0 = b.mean()  # centre first so large clock values do not cost precision
        rate, offset_c = np.polyfit(b - b0, m, 1)
        return cls(offset_c - rate * b0, rate)

    @property
    def drift_ppm(self) -> float:
        return (self.rate - 1.0) * 1e6

    def __call__(self, board_time):
        return self.offset + self.rate * np.asarray(board_time, dtype=np.float64)

    def windows(self, board_windows) -> list[tuple[float, float]]:
        return [(float(self(a)), float(self(b))) for a, b in board_windows]
