"""SpiNNaker-style event cores: cost follows the activity the runtime counts, real time is lost
where the cycle budget says it must be, and placement / DVFS / router limits act as on silicon."""
import math

import numpy as np
import pytest

from edgert.devices.profiles import load_profile
from edgert.emulators import Emulator
from edgert.errors import InputError, ModelError

from part2_nets import BACKEND, dense_snn, spike_vector

N_IN, N_OUT = 1000, 512  # 512 neurons: two cores of 256 on SpiNNaker 1


@pytest.fixture(scope="module")
def snn():
    return dense_snn(N_IN, N_OUT)


def step(emulator, spikes):
    emulator.session.reset()
    return emulator.run(spike_vector(N_IN, spikes))[1]


def events(report):
    return sum(n.detail.get("synaptic_events", 0) for n in report.nodes)


def test_counters_come_from_the_runtime(snn):
    r = step(Emulator(snn, "spinnaker1", backend=BACKEND), 7)
    assert events(r) == 7 * N_OUT  # every input spike reaches every target neuron
    assert sum(n.detail.get("neuron_updates", 0) for n in r.nodes) == N_OUT


@pytest.mark.parametrize("device", ["spinnaker1", "spinnaker2"])
def test_twice_the_activity_costs_about_twice_the_event_work(snn, device):
    em = Emulator(snn, device, backend=BACKEND)
    quiet, once, twice = step(em, 0), step(em, 10), step(em, 20)
    assert quiet.summary["busiest_core_s"] < once.summary["busiest_core_s"] < twice.summary["busiest_core_s"]
    assert quiet.energy_j < once.energy_j < twice.energy_j
    ratio = (twice.energy_j - quiet.energy_j) / (once.energy_j - quiet.energy_j)
    assert ratio == pytest.approx(2.0, rel=0.05)


def test_real_time_is_lost_where_the_event_budget_runs_out(snn):
    """sPyNNaker's design target is 10,000 synaptic events per ms per core; each input spike brings
    256 events to each core here, so 39 spikes exceed the budget even before neuron updates,
    while a handful fit easily. Between them the step crosses from real time to slipping."""
    em = Emulator(snn, "spinnaker1", backend=BACKEND)
    per_core = N_OUT // 2
    over = math.ceil(10_000 / per_core)
    assert step(em, 5).summary["real_time"]
    late = step(em, over)
    assert not late.summary["real_time"] and late.summary["min_slack"] < 0
    assert late.latency_s > 1e-3 and "misses real time" in late.summary["status"]
    flips = [step(em, n).summary["real_time"] for n in range(5, over + 1)]
    assert flips == sorted(flips, reverse=True)  # one crossing, no flapping


def test_a_longer_timestep_or_a_faster_clock_restores_real_time(snn):
    base = step(Emulator(snn, "spinnaker1", backend=BACKEND, operating_point="130MHz"), 30)
    assert not base.summary["real_time"]
    assert step(Emulator(snn, "spinnaker1", backend=BACKEND, timestep_s=2e-3, operating_point="130MHz"), 30).summary["real_time"]
    assert step(Emulator(snn, "spinnaker1", backend=BACKEND, operating_point="200MHz"), 30).summary["real_time"]


def test_dvfs_on_spinnaker2_trades_speed_for_energy(snn):
    fast = step(Emulator(snn, "spinnaker2", backend=BACKEND, operating_point="0.8V-300MHz"), 20)
    slow = step(Emulator(snn, "spinnaker2", backend=BACKEND, operating_point="0.5V-150MHz"), 20)
    assert slow.summary["busiest_core_s"] == pytest.approx(2 * fast.summary["busiest_core_s"])
    assert slow.energy_j < fast.energy_j  # both keep real time; the low-voltage point spends less


def test_rows_that_do_not_fit_sram_spill_to_dram_and_pay_for_it():
    big = dense_snn(N_IN, N_OUT)  # 1000 rows x 256 synapses per core: 1 MB, far over DTCM
    small = dense_snn(8, N_OUT)  # 8 rows of 1 KB next to 26 KB of neuron state: fits
    r_big = step(Emulator(big, "spinnaker1", backend=BACKEND), 8)
    r_small = Emulator(small, "spinnaker1", backend=BACKEND).run(spike_vector(8, 8))[1]
    proj_big = next(n for n in r_big.nodes if n.op.startswith("SNN_LINEAR"))
    proj_small = next(n for n in r_small.nodes if n.op.startswith("SNN_LINEAR"))
    assert proj_big.detail["rows"] == "SDRAM" and proj_big.detail["dram_bytes"] > 0
    assert proj_small.detail["rows"] == "DTCM" and proj_small.detail["dram_bytes"] == 0
    assert proj_big.cycles > proj_small.cycles  # same events, plus a DMA per received packet
    assert r_big.peak_bytes["SDRAM"] > 0 and r_small.peak_bytes["SDRAM"] == 0


def test_neurons_per_core_sets_the_cores_and_the_slack(snn):
    wide = step(Emulator(snn, "spinnaker1", backend=BACKEND, neurons_per_core=64), 20)
    narrow = step(Emulator(snn, "spinnaker1", backend=BACKEND), 20)
    assert wide.summary["cores"] == N_OUT // 64 and narrow.summary["cores"] == N_OUT // 256
    assert wide.summary["min_slack"] > narrow.summary["min_slack"]


def test_router_table_capacity_is_enforced():
    limit = load_profile("spinnaker1").value("units.router.table_entries")
    import nir
    import edgert
    n = limit + 1  # one source core per neuron at neurons_per_core=1
    rng = np.random.default_rng(0)
    lif = dict(tau=np.full(n, 0.01, np.float32), r=np.ones(n, np.float32), v_leak=np.zeros(n, np.float32),
               v_threshold=np.ones(n, np.float32), v_reset=np.zeros(n, np.float32))
    nodes = {"input": nir.Input(input_type={"input": np.array([4])}),
             "a": nir.Linear(weight=rng.normal(size=(n, 4)).astype(np.float32)), "la": nir.LIF(**lif),
             "b": nir.Linear(weight=rng.normal(size=(2, n)).astype(np.float32)),
             "output": nir.Output(output_type={"output": np.array([2])})}
    model = edgert.compile(nir.NIRGraph(nodes=nodes, edges=[("input", "a"), ("a", "la"), ("la", "b"), ("b", "output")],
                                        type_check=False))
    with pytest.raises(ModelError, match="router needs"):
        Emulator(model, "spinnaker1", backend=BACKEND, neurons_per_core=1)
    Emulator(model, "spinnaker1", backend=BACKEND, neurons_per_core=2)  # half the keys fit


def test_bad_options_are_refused(snn):
    for bad in ({"neurons_per_core": 0}, {"neurons_per_core": "many"}, {"timestep_s": -1e-3}, {"timestep_s": "1ms"}):
        with pytest.raises(InputError):
            Emulator(snn, "spinnaker1", backend=BACKEND, **bad)
    with pytest.raises(InputError, match="no option"):
        Emulator(snn, "spinnaker1", backend=BACKEND, batch=2)
