"""DPUCZDX8G: channel counts that do not fill the parallelism waste the array; switching off a
branch saves latency and energy; several cores raise throughput, not single-stream latency."""
import numpy as np
import pytest

import edgert
from edgert.devices.profiles import load_profile
from edgert.emulators import Emulator
from edgert.emulators.dpu import layer_cycles
from edgert.emulators.workload import conv2d_work
from edgert.errors import InputError

from part2_nets import BACKEND, tiny


def parallelism(device):
    v = load_profile(device).value
    return [v(f"units.dpu.{k}") for k in ("pixel_parallelism", "input_channel_parallelism",
                                           "output_channel_parallelism", "depthwise_pixel_parallelism")]


@pytest.mark.parametrize("device", ["dpu-b512", "dpu-b1152", "dpu-b4096"])
def test_efficiency_drops_when_channels_do_not_fill_the_array(device):
    pp, icp, ocp, alu = parallelism(device)
    fits = layer_cycles(conv2d_work(8 * pp, 8 * pp, icp * 2, ocp * 2, 3), pp, icp, ocp, alu)
    spill = layer_cycles(conv2d_work(8 * pp, 8 * pp, icp * 2 + 1, ocp * 2 + 1, 3), pp, icp, ocp, alu)
    assert fits[1] == pytest.approx(1.0)  # every lane busy (padded taps are computed too)
    # one channel more than a multiple costs a whole extra pass on both channel axes
    assert spill[0] == pytest.approx(fits[0] * (3 / 2) ** 2)
    assert spill[1] == pytest.approx((2 * icp + 1) / (3 * icp) * (2 * ocp + 1) / (3 * ocp))
    assert spill[1] < 0.6
    narrow_rows = layer_cycles(conv2d_work(8 * pp, pp + 1, icp, ocp, 3), pp, icp, ocp, alu)
    assert narrow_rows[1] == pytest.approx((pp + 1) / (2 * pp))  # one pixel over PP: two pixel passes


def test_bigger_dpus_are_faster_on_a_real_model():
    model = tiny("vww_96_int8")
    x = np.zeros(model.graph.tensors[model.graph.inputs[0]].shape, np.int8)
    latency = [Emulator(model, d, backend=BACKEND).run(x)[1].latency_s for d in ("dpu-b512", "dpu-b1600", "dpu-b4096")]
    assert latency == sorted(latency, reverse=True)


@pytest.fixture(scope="module")
def resnet():
    return tiny("pretrainedResnet_quant")


def test_switching_off_a_branch_saves_latency_and_energy_and_keeps_outputs(resnet):
    x = np.random.default_rng(0).integers(-128, 128, resnet.graph.tensors[resnet.graph.inputs[0]].shape).astype(np.int8)
    host = edgert.Session(resnet, backend=BACKEND).run(x)
    full_out, full = Emulator(resnet, "kv260", backend=BACKEND).run(x)
    branch = ["conv_2d_8", "conv_2d_9", "conv_2d_10", "add_11"]  # the last residual block
    off_out, off = Emulator(resnet, "kv260", backend=BACKEND, disabled=branch).run(x)
    assert np.array_equal(full_out, host) and np.array_equal(off_out, host)
    assert off.energy_j < full.energy_j and off.latency_s < full.latency_s
    assert off.summary["disabled_nodes"] == 4
    assert full.energy_j - off.energy_j == pytest.approx(off.summary["saved_energy_j"])
    assert full.latency_s - off.latency_s == pytest.approx(off.summary["saved_latency_s"])
    by_prefix = Emulator(resnet, "kv260", backend=BACKEND, disabled=["conv_2d_1*"]).run(x)[1]
    assert by_prefix.summary["disabled_nodes"] == 2  # conv_2d_1 and conv_2d_10


def test_disabling_an_unknown_node_or_asking_for_absent_cores_is_an_error(resnet):
    with pytest.raises(InputError, match="no node matches"):
        Emulator(resnet, "zcu104", backend=BACKEND, disabled=["camera_encoder*"])
    for cores in (0, 3, 1.5):
        with pytest.raises(InputError, match="cores"):
            Emulator(resnet, "zcu104", backend=BACKEND, cores=cores)


def test_more_cores_raise_throughput_not_single_stream_latency(resnet):
    x = np.zeros(resnet.graph.tensors[resnet.graph.inputs[0]].shape, np.int8)
    one = Emulator(resnet, "zcu102", backend=BACKEND, cores=1).run(x)[1]
    three = Emulator(resnet, "zcu102", backend=BACKEND).run(x)[1]
    assert three.latency_s == pytest.approx(one.latency_s)
    assert one.summary["throughput_per_s"] < three.summary["throughput_per_s"] <= 3 * one.summary["throughput_per_s"] * (1 + 1e-9)
