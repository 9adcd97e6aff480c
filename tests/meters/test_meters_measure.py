"""measure_energy end to end: the real PPK2 driver on the emulated kit (sim: meter)."""

import json
import time

import numpy as np
import pytest

from edgert.devices.meters import ClockMap, Windows, measure_energy, open_meter
from edgert.devices.meters.measure import mlperf_median
from edgert.devices.meters.simulated import SimulatedPPK2
from edgert.devices.meters.trace import Trace
from edgert.errors import BoardError

ACTIVE_W, IDLE_W = 0.050, 0.005


@pytest.fixture
def meter():
    m = SimulatedPPK2(active_power_w=ACTIVE_W, idle_power_w=IDLE_W)
    m.configure(supply_voltage=3.3)
    yield m
    m.close()


def board(meter, per_inference_s=0.004, log=None):
    """Runs n 'inferences': busy for n * per_inference_s, as the board would report."""
    def run(n):
        meter.activity.begin()
        time.sleep(n * per_inference_s)
        meter.activity.end()
        if log is not None:
            log.append(meter.activity.windows()[-1])
    return run


def test_pin_markers_give_energy_per_inference(meter):
    log = []
    result = measure_energy(meter, board(meter, log=log), n=10, repeats=3)
    assert result.marker_source == "pin" and len(result.runs_energy_per_inference_j) == 3
    # pin windows sit on the reported activity to within one 10 us sample
    for (a, b), (ha, hb) in zip(result.windows, log):
        assert 0 <= a - meter.meter_time(ha) <= 1e-5 and 0 <= b - meter.meter_time(hb) <= 1e-5
    assert result.energy_per_inference_j == pytest.approx(ACTIVE_W * result.latency_s, rel=0.005)
    assert result.average_power_w == pytest.approx(ACTIVE_W, rel=0.005)
    assert result.trace.meta["lost_samples"] == 0
    json.dumps(result.as_dict())  # plain numbers, ready for --json output


def test_idle_baseline_subtracted(meter):
    result = measure_energy(meter, board(meter), n=5, repeats=2, idle_baseline=True)
    assert result.idle_power_w == pytest.approx(IDLE_W, rel=0.005)
    net = (ACTIVE_W - IDLE_W) * result.latency_s
    assert result.energy_per_inference_j == pytest.approx(net, rel=0.005)


def test_reported_board_clock_windows(meter):
    """The board reports its own microsecond timestamps; a ClockMap puts them on the meter."""
    boot = time.monotonic() - 12.5  # the board's clock started 12.5 s ago, runs 50 ppm fast
    to_board = lambda host: (host - boot) * (1 + 50e-6)  # noqa: E731

    def run(n):
        board(meter)(n)
        a, b = meter.activity.windows()[-1]
        return Windows([(to_board(a), to_board(b))],
                       clock=ClockMap.fit([to_board(a), to_board(b)],
                                          [meter.meter_time(a), meter.meter_time(b)]))

    result = measure_energy(meter, run, n=8, markers="reported")
    assert result.marker_source == "reported"
    assert result.energy_per_inference_j == pytest.approx(ACTIVE_W * result.latency_s, rel=0.005)


def test_host_clock_fallback(meter):
    result = measure_energy(meter, board(meter), n=5, markers="host")
    assert result.marker_source == "host"
    # the host bracket holds the activity plus call overhead drawn at idle power
    ((a, b),) = result.windows
    busy = np.diff(meter.activity.windows()[-1])[0]
    expected = ACTIVE_W * busy + IDLE_W * (b - a - busy)
    assert result.energy_per_inference_j * 5 == pytest.approx(expected, rel=0.005)


def test_board_failure_keeps_the_trace(meter, tmp_path):
    meter.partial_dir = tmp_path
    calls = []

    def flaky(n):
        calls.append(n)
        if len(calls) == 2:
            raise BoardError("board stopped answering after 'infer 5'")
        board(meter)(n)

    with pytest.raises(BoardError) as info:
        measure_energy(meter, flaky, n=5, repeats=3)
    assert len(info.value.partial) > 1000 and len(info.value.partial.edges) == 2
    assert any("saved to" in note for note in info.value.__notes__)
    assert list(tmp_path.glob("edgert-partial-sim-ppk2-*.npz"))
    assert not meter.acquiring


def test_sim_spec():
    with open_meter("sim:?active_w=0.02&idle_w=0.001&v=1.8") as m:
        assert (m.active_power_w, m.idle_power_w, m.default_voltage) == (0.02, 0.001, 1.8)


def test_mlperf_median_over_windows():
    t = np.arange(0, 1.0, 1e-4)
    power = np.full(t.size, 0.01)
    windows = [(0.1 * k + 0.01, 0.1 * k + 0.06) for k in range(5)]
    extra = [0.0, 0.02, 0.005, 0.04, 0.01]  # W above baseline in each window
    for (a, b), e in zip(windows, extra):
        power[(t >= a) & (t < b)] += e
    trace = Trace(t, 1.0, power)
    per = [trace.energy_per_inference([w], n=10)[0] for w in windows]
    assert mlperf_median(per) == pytest.approx((0.01 + 0.01) * 0.05 / 10, rel=0.01)


def test_activity_schedule_lookup():
    from edgert.devices.meters.simulated import ActivitySchedule
    sched = ActivitySchedule()
    sched.add(3.0, 4.0)
    sched.add(1.0, 2.0)
    sched.begin(6.0)  # still running
    t = np.array([0.5, 1.0, 1.5, 2.0, 3.5, 4.5, 6.5, 100.0])
    np.testing.assert_array_equal(sched.active(t), [0, 1, 1, 0, 1, 0, 1, 1])
    np.testing.assert_array_equal(sched.near_edge(t, 0.6), [0, 1, 1, 1, 1, 1, 1, 0])
    sched.end(7.0)
    assert not sched.active(np.array([7.0]))[0]
