"""Jetson: nvpmodel modes, batch, precision and fusion move latency and energy the way the
hardware does."""
import numpy as np
import pytest

from edgert.emulators import Emulator

from part2_nets import BACKEND, tiny

MODES = ["MAXN", "50W", "30W", "15W"]  # jetson-agx-orin, fastest first


@pytest.fixture(scope="module")
def vww():
    return tiny("vww_96_int8")


def run(model, device, **config):
    spec = model.graph.tensors[model.graph.inputs[0]]
    x = np.random.default_rng(0).integers(-128, 128, spec.shape).astype(spec.dtype)
    return Emulator(model, device, backend=BACKEND, **config).run(x)[1]


def test_lower_power_modes_are_slower_and_draw_less(vww):
    reports = [run(vww, "jetson-agx-orin", operating_point=m, batch=256) for m in MODES]  # compute-bound
    latency = [r.latency_s for r in reports]
    power = [r.summary["average_power_w"] for r in reports]
    assert latency == sorted(latency) and latency[0] < latency[-1]
    assert power == sorted(power, reverse=True)
    # the GPU rail falls faster than the clock from MAXN to 50W: less energy per inference
    assert reports[1].summary["energy_per_inference_j"] < reports[0].summary["energy_per_inference_j"]


def test_orin_nano_super_modes_are_faster_than_the_original(vww):
    original, super_ = run(vww, "jetson-orin-nano", operating_point="15W", batch=32), \
        run(vww, "jetson-orin-nano", operating_point="MAXN_SUPER", batch=32)
    assert super_.latency_s < original.latency_s
    seven = run(vww, "jetson-orin-nano", operating_point="7W", batch=32)
    assert seven.latency_s > original.latency_s and seven.summary["average_power_w"] < original.summary["average_power_w"]


def test_batching_raises_throughput_and_lowers_energy_per_inference(vww):
    one, many = run(vww, "jetson-xavier-nx", batch=1), run(vww, "jetson-xavier-nx", batch=16)
    assert many.summary["throughput_per_s"] > 2 * one.summary["throughput_per_s"]
    assert many.summary["energy_per_inference_j"] < one.summary["energy_per_inference_j"]
    assert many.latency_s > one.latency_s


def test_fp16_beats_fp32_on_float_layers():
    model = tiny("kws_ref_model_float32")
    for device in ("jetson-nano", "jetson-agx-orin"):
        fp32, fp16 = run(model, device, batch=16), run(model, device, batch=16, precision="fp16")
        assert fp16.latency_s < fp32.latency_s
        convs = [n for n in fp16.nodes if n.op.startswith("CONV_2D")]
        assert all(n.detail["precision"] == "fp16" for n in convs)
    orin = run(model, "jetson-agx-orin", batch=16, precision="fp16")
    assert any(n.detail["engine"] == "tensor" for n in orin.nodes)  # Nano has no tensor cores
    assert not any(n.detail.get("engine") == "tensor" for n in run(model, "jetson-nano", precision="fp16").nodes)


def test_elementwise_ops_fuse_into_their_producer():
    r = run(tiny("pretrainedResnet_quant"), "jetson-agx-orin")
    adds = [n for n in r.nodes if n.op == "ADD"]
    assert adds and all(n.detail.get("fused") for n in adds)
    assert all(n.detail["launch_s"] == 0 for n in adds)
    reshapes = [n for n in r.nodes if n.op == "RESHAPE"]
    assert all(n.latency_s == 0 for n in reshapes)


def test_first_layer_prefers_cuda_cores_when_channels_fill_no_tensor_tile(vww):
    r = run(vww, "jetson-agx-orin")
    first = r.nodes[0]
    assert first.op == "CONV_2D" and first.detail["engine"] == "cuda"  # 3 input channels
    assert any(n.detail.get("engine") == "tensor" for n in r.nodes[1:])


def test_spiking_layers_run_densely_on_the_gpu_and_trees_on_the_cpu():
    import edgert
    from part2_nets import NIR
    snn = edgert.compile(NIR / "braille_noDelay_bias_zero.nir")
    x = np.ones(snn.graph.tensors[snn.graph.inputs[0]].shape, np.float32)
    r = Emulator(snn, "jetson-orin-nano", backend=BACKEND).run(x)[1]
    assert {n.unit for n in r.nodes} == {"gpu"}
    from sklearn.tree import DecisionTreeClassifier
    from sklearn.datasets import load_iris
    features, labels = load_iris(return_X_y=True)
    trees = edgert.compile(DecisionTreeClassifier(max_depth=3, random_state=0).fit(features, labels))
    shallow = Emulator(trees, "jetson-orin-nano", backend=BACKEND).run(features[:1].astype(np.float32))[1]
    assert "cpu" in {n.unit for n in shallow.nodes} and shallow.latency_s > 0


def test_a_clock_below_the_mode_cap_is_slower_and_draws_less(vww):
    full = run(vww, "jetson-agx-orin", operating_point="50W", batch=256)
    capped = run(vww, "jetson-agx-orin", operating_point="50W", freq_hz=408e6, batch=256)
    assert capped.config["gpu_hz"] == 408e6 and capped.config["operating_point"] == "50W"
    assert capped.latency_s > full.latency_s
    assert capped.summary["average_power_w"] < full.summary["average_power_w"]


def test_bad_batch_or_precision_is_refused(vww):
    from edgert.errors import InputError
    for bad in ({"batch": 0}, {"batch": "8"}, {"precision": "int4"}):
        with pytest.raises(InputError):
            Emulator(vww, "jetson-nano", backend=BACKEND, **bad)
