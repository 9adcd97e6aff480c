"""No emulator is ever faster than its silicon's peak, and costs never fall as work grows."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from edgert.devices.profiles import load_profile
from edgert.emulators import Emulator
from edgert.emulators.dpu import layer_cycles
from edgert.emulators.workload import conv2d_work

from part2_nets import BACKEND, dense_snn, spike_vector, tiny

MODELS = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant"]


def reports(device, **config):
    for name in MODELS:
        model = tiny(name)
        x = np.zeros(model.graph.tensors[model.graph.inputs[0]].shape, np.int8)
        yield Emulator(model, device, backend=BACKEND, **config).run(x)[1]


@pytest.mark.parametrize("device", ["jetson-nano", "jetson-xavier-nx", "jetson-orin-nano", "jetson-agx-orin"])
def test_jetson_never_beats_the_dense_int8_peak(device):
    p = load_profile(device)
    for op in p.operating_points:
        sms = op.fields["active_sms"]
        per_sm = max(p.value("units.gpu.int8_tensor_ops_per_sm_clk"), p.value("units.gpu.int8_cuda_ops_per_sm_clk"))
        peak = sms * op.clocks_hz["gpu"] * per_sm
        for r in reports(device, operating_point=op.name):
            for n in r.nodes:
                if n.macs and n.latency_s:
                    assert 2 * n.macs / n.latency_s <= peak, (op.name, n.name)


@pytest.mark.parametrize("device", ["dpu-b512", "dpu-b2304", "zcu102"])
def test_dpu_never_beats_pp_icp_ocp(device):
    v = load_profile(device).value
    lanes = v("units.dpu.pixel_parallelism") * v("units.dpu.input_channel_parallelism") * v("units.dpu.output_channel_parallelism")
    for r in reports(device):
        for n in r.nodes:
            if n.macs and n.unit == "dpu":
                assert n.macs / n.cycles <= lanes, n.name


def test_spinnaker2_never_beats_its_mac_arrays():
    v = load_profile("spinnaker2").value
    peak = v("units.pe.application_cores") * v("units.pe.mac_array_macs_per_clk")
    for r in reports("spinnaker2"):
        for n in r.nodes:
            if n.macs and n.unit == "mac-array":
                assert n.macs / n.cycles <= peak, n.name


@settings(max_examples=60, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40), cin=st.integers(1, 70), cout=st.integers(1, 70),
       k=st.sampled_from([1, 3, 5]), stride=st.sampled_from([1, 2]))
def test_dpu_layer_cycles_respect_the_array(h, w, cin, cout, k, stride):
    work = conv2d_work(h, w, cin, cout, k, stride)
    for pp, icp, ocp in [(4, 8, 8), (8, 16, 16), (4, 12, 12)]:
        cycles, fill = layer_cycles(work, pp, icp, ocp, pp // 2)
        assert 0 < fill <= 1
        assert cycles * pp * icp * ocp >= work.macs
        bigger, _ = layer_cycles(conv2d_work(h, w, cin + icp, cout, k, stride), pp, icp, ocp, pp // 2)
        assert bigger > cycles  # a whole extra pass of input channels


@pytest.fixture(scope="module")
def snn_emulator():
    return Emulator(dense_snn(300, 300), "spinnaker1", backend=BACKEND)


@settings(max_examples=25, deadline=None)
@given(a=st.integers(0, 300), b=st.integers(0, 300))
def test_spinnaker_cost_never_falls_as_activity_rises(snn_emulator, a, b):
    lo, hi = sorted((a, b))
    costs = []
    for n in (lo, hi):
        snn_emulator.session.reset()
        r = snn_emulator.run(spike_vector(300, n))[1]
        costs.append((r.summary["busiest_core_s"], r.energy_j))
    assert costs[0][0] <= costs[1][0] and costs[0][1] <= costs[1][1]
