import numpy as np
import pytest

from edgert.devices.meters.sync import ClockMap, last_two_edges, logic_edges, pair_edges

FS = 100_000


def pin_trace(edge_times, seconds=0.1, bit=3, low_s=50e-6):
    """Pin idles high and falls for low_s at each edge time."""
    t = np.arange(int(seconds * FS)) / FS
    low = np.zeros(t.size, bool)
    for e in edge_times:
        low |= (t >= e) & (t < e + low_s)
    return t, np.where(low, 0, 1 << bit).astype(np.uint8) | 0b1  # other bits busy


def test_falling_edges_within_one_sample():
    true = [0.0123456, 0.0301, 0.05000001, 0.0777]
    t, logic = pin_trace(true)
    found = logic_edges(t, logic, bit=3)
    assert found.size == len(true)
    assert np.all((found - true >= 0) & (found - true <= 1 / FS))


def test_hold_filter_drops_glitches():
    t, logic = pin_trace([0.01, 0.02])
    logic[5000] &= ~np.uint8(1 << 3)  # one-sample glitch at 50 ms
    assert logic_edges(t, logic, 3).size == 3
    assert logic_edges(t, logic, 3, hold_s=20e-6).size == 2


def test_pairs_and_last_two():
    assert pair_edges([1, 2, 3, 4]) == [(1, 2), (3, 4)]
    with pytest.raises(ValueError, match="cannot be paired"):
        pair_edges([1, 2, 3])
    assert last_two_edges([0.5, 1, 2, 3]) == (2.0, 3.0)


def test_clock_fit_recovers_offset_and_drift_and_aligns_windows():
    board = np.array([10.0, 200.0, 400.0, 900.0])  # seconds since the board booted
    offset, rate = -9.87654, 1 + 37e-6  # 37 ppm crystal error
    meter = offset + rate * board
    clock = ClockMap.fit(board, meter)
    assert clock.drift_ppm == pytest.approx(37, abs=1e-3)
    board_windows = [(500.0, 500.012), (800.1, 800.2)]
    for (a, b), (ma, mb) in zip(board_windows, clock.windows(board_windows)):
        assert abs(ma - (offset + rate * a)) < 1 / FS and abs(mb - (offset + rate * b)) < 1 / FS


def test_single_sync_edge_offset_only():
    clock = ClockMap.from_sync(board_time=5.0, meter_time=0.25)
    assert clock(6.0) == pytest.approx(1.25)
