"""Every part-2 emulator returns exactly the host Session's outputs, with a complete report;
devices that cannot run a model say why."""
import numpy as np
import pytest

import edgert
from edgert.emulators import Emulator, emulate
from edgert.errors import UnsupportedOpError

from part2_nets import BACKEND, NIR, kws_input, tiny

CNN_DEVICES = [("jetson-nano", {}), ("jetson-xavier-nx", {"operating_point": "MODE_10W_2CORE"}),
               ("jetson-orin-nano", {"operating_point": "7W"}), ("jetson-agx-orin", {"batch": 4}),
               ("dpu-b512", {}), ("dpu-b4096", {}), ("zcu102", {}), ("zcu104", {"cores": 1}), ("kv260", {}),
               ("spinnaker2", {}), ("spinnaker2", {"operating_point": "0.5V-150MHz"})]


@pytest.fixture(scope="module")
def kws():
    return tiny("kws_ref_model")


@pytest.mark.parametrize("device, config", CNN_DEVICES)
def test_int8_cnn_outputs_equal_the_host(kws, device, config):
    x = kws_input()
    host = edgert.Session(kws, backend=BACKEND).run(x)
    out, report = emulate(kws, device, x, backend=BACKEND, **config)
    assert out.dtype == host.dtype and np.array_equal(out, host)
    assert len(report.nodes) == len(kws.graph.nodes)
    assert report.latency_s > 0 and report.energy_j > 0
    assert report.to_dict()["summary"] == report.summary


@pytest.mark.parametrize("device", ["jetson-orin-nano", "spinnaker2"])
def test_float_cnn_outputs_equal_the_host(device):
    model = tiny("kws_ref_model_float32")
    x = np.random.default_rng(0).normal(size=model.graph.tensors[model.graph.inputs[0]].shape).astype(np.float32)
    host = edgert.Session(model, backend=BACKEND).run(x)
    out, report = emulate(model, device, x, backend=BACKEND)
    assert np.array_equal(out, host) and report.latency_s > 0


@pytest.mark.parametrize("device", ["spinnaker1", "spinnaker2", "jetson-agx-orin"])
def test_spiking_outputs_equal_the_host_step_by_step(device):
    model = edgert.compile(NIR / "braille_noDelay_bias_zero.nir")
    shape = model.graph.tensors[model.graph.inputs[0]].shape
    xs = (np.random.default_rng(3).random((6, *shape)) < 0.4).astype(np.float32)
    host = edgert.Session(model, backend=BACKEND)
    emulator = Emulator(model, device, backend=BACKEND)
    for x in xs:  # state carries over between steps in both
        assert np.array_equal(emulator.run(x)[0], host.run(x))


@pytest.mark.parametrize("model_name, device, reason", [
    ("kws_ref_model", "spinnaker1", "spiking layers only"),
    ("kws_ref_model_float32", "zcu104", "int8 only"),
    ("kws_ref_model_float32", "dpu-b1024", "quantize the model first"),
])
def test_devices_say_why_they_cannot_run_a_model(model_name, device, reason):
    with pytest.raises(UnsupportedOpError, match="unsupported op") as e:
        Emulator(tiny(model_name), device, backend=BACKEND)
    assert reason in str(e.value)


def test_dpu_refuses_spiking_graphs():
    with pytest.raises(UnsupportedOpError, match="SNN_"):
        Emulator(edgert.compile(NIR / "braille_noDelay_bias_zero.nir"), "kv260", backend=BACKEND)


def _part2_profiles():
    from edgert.devices.profiles import load_all
    return [p.name for p in load_all() if p.kind in ("jetson", "dpu", "spinnaker")]


@pytest.mark.parametrize("device", _part2_profiles())
def test_every_part2_profile_returns_the_host_outputs(kws, device):
    if device == "spinnaker1":  # spiking only: its model is a NIR graph
        model = edgert.compile(NIR / "braille_noDelay_bias_zero.nir")
        x = np.ones(model.graph.tensors[model.graph.inputs[0]].shape, np.float32)
    else:
        model, x = kws, kws_input()
    host = edgert.Session(model, backend=BACKEND).run(x)
    out, report = emulate(model, device, x, backend=BACKEND)
    assert np.array_equal(out, host) and report.latency_s > 0 and report.energy_j > 0
