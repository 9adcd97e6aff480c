"""Emulators: outputs are the host's exactly; reports are complete; costs move the way the
hardware says they should (cores, frequency, memory placement, floating point)."""
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

import edgert
from edgert.cli import main
from edgert.emulators import Emulator, emulate
from edgert.errors import InputError, ModelError, ProfileError

MODELS = Path(__file__).resolve().parents[2] / "models" / "mlperf_tiny"
BACKEND = "numpy"  # every backend gives identical outputs; numpy has every op today


@pytest.fixture(scope="module")
def kws():
    return edgert.compile(MODELS / "kws_ref_model.tflite")


@pytest.fixture(scope="module")
def kws_input():
    return np.load(MODELS / "samples" / "kws_sample_input_int8.npy")


def run(model, device, x, **config):
    return Emulator(model, device, backend=BACKEND, **config).run(x)[1]


@pytest.mark.parametrize("device, config", [
    ("gap8", {}), ("gap8", {"fc_only": True}), ("pulp-open", {"cores": 3}),
    ("stm32l4r5", {}), ("stm32l4r5", {"kernels": "cmsis-nn"}), ("rv32imc", {}), ("cortex-m4", {}),
])
def test_outputs_equal_the_host_session_exactly(kws, kws_input, device, config):
    host = edgert.Session(kws, backend=BACKEND).run(kws_input)
    out, report = emulate(kws, device, kws_input, backend=BACKEND, **config)
    assert out.dtype == host.dtype and np.array_equal(out, host)
    assert len(report.nodes) == len(kws.graph.nodes)
    assert report.cycles > 0 and report.latency_s > 0
    assert report.macs == kws.macs


def test_report_json_has_totals_at_top_and_nodes(kws, kws_input, tmp_path):
    report = run(kws, "gap8", kws_input)
    doc = json.loads(report.to_json(tmp_path / "r.json"))
    for key in ("device", "config", "cycles", "latency_s", "energy_j", "peak_bytes", "nodes"):
        assert key in doc
    assert doc["device"] == "gap8" and doc["config"]["cores"] == 8
    assert set(doc["peak_bytes"]) == {"L1", "L2", "L3"}
    assert doc["peak_bytes"]["L1"] <= 65536
    assert doc["latency_s"] == pytest.approx(sum(n["latency_s"] for n in doc["nodes"]))
    assert doc["energy_j"] == pytest.approx(sum(n["energy_j"] for n in doc["nodes"]))
    node = doc["nodes"][0]
    assert {"name", "op", "cycles", "latency_s", "energy_j", "macs", "bytes", "placement"} <= set(node)
    assert set(node["placement"].values()) <= {"L2"}  # KWS fits L2: weights and activations there
    report.plot(tmp_path / "r.png")
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "total:" in report.table()


def test_gap8_cycles_fall_with_cores(kws, kws_input):
    cycles = [run(kws, "gap8", kws_input, cores=c).cycles for c in (1, 2, 4, 8)]
    assert cycles == sorted(cycles, reverse=True)
    speedup = cycles[0] / cycles[-1]
    assert 3.5 < speedup < 8  # parallel, short of ideal: imbalance, conflicts, fork/barrier, DMA


def test_big_convolution_nears_pulp_nn_peak():
    """A large 3x3 convolution's inner loops sit within reach of PULP-NN's published 15.5
    MAC/cycle on 8 cores; the padding border is skipped, so valid terms < MACs."""
    from edgert.devices.profiles import load_profile
    from edgert.emulators.kernels_pulpnn import kernel_split
    from edgert.emulators.mix import cycle_table, cycles
    from edgert.emulators.workload import conv2d_work
    work = conv2d_work(16, 16, 64, 64, 3)
    assert work.kind == "conv" and work.rows == 16 and work.valid_terms == 14 * 14 * 9 * 64 * 64 + 4 * 14 * 6 * 64 * 64 + 4 * 4 * 64 * 64
    split = kernel_split(work)
    per_core = cycles(split.per_unit, cycle_table(load_profile("gap8"), False)) * (work.rows // 8)
    assert 12 < work.macs / per_core < 19


def test_energy_follows_the_operating_points(kws, kws_input):
    """Within one voltage, a lower clock wastes leakage over a longer run; dropping to the
    lower-voltage point saves dynamic energy (V^2) — the fastest 1.0 V clock is the optimum."""
    energy = {f: run(kws, "gap8", kws_input, freq_hz=f * 1e6).energy_j for f in (50, 90, 120, 175)}
    latency = {f: run(kws, "gap8", kws_input, freq_hz=f * 1e6).latency_s for f in (50, 90, 175)}
    assert latency[50] > latency[90] > latency[175]
    assert energy[50] > energy[90]  # same 1.0 V point: leakage x longer time
    assert energy[120] > energy[90]  # 120 MHz needs the 1.2 V point
    assert energy[175] < energy[120]  # same 1.2 V point again: faster is cheaper
    assert run(kws, "gap8", kws_input, freq_hz=90e6).config["operating_point"] == "1.0V"


def test_weights_beyond_l2_pay_l3_traffic(kws, kws_input):
    in_l2 = run(kws, "gap8", kws_input)
    in_l3 = run(kws, "gap8", kws_input, weights="l3")
    assert in_l3.peak_bytes["L3"] == kws.weight_bytes and in_l2.peak_bytes["L3"] == 0
    assert in_l3.latency_s > in_l2.latency_s  # double buffering hides most of KWS's small weight tiles
    assert in_l3.energy_j > in_l2.energy_j + kws.weight_bytes * 100e-12  # HyperRAM bytes are expensive
    slow_link = max(in_l3.nodes, key=lambda n: n.detail["l3_s"])
    assert slow_link.latency_s >= slow_link.detail["l3_s"]  # a node never beats its own L3 transfer
    assert sum(n.detail["l3_bytes"] for n in in_l3.nodes) >= kws.weight_bytes


def test_model_larger_than_l2_streams_weights_from_l3():
    model = edgert.compile(MODELS / "pretrainedResnet_large_int8.tflite")
    assert model.weight_bytes + model.arena_size > 512000  # does not fit GAP8's L2 budget
    x = np.zeros(model.graph.tensors[model.graph.inputs[0]].shape, np.int8)
    report = run(model, "gap8", x)
    assert 0 < report.peak_bytes["L3"] < model.weight_bytes
    assert any("stream from L3" in n for n in report.notes)
    assert sum(n.detail["l3_bytes"] for n in report.nodes) > 0
    with pytest.raises(ModelError, match="do not fit"):
        Emulator(model, "gap8", backend=BACKEND, weights="l2")


def test_float_on_gap8_is_far_slower_and_the_fpu_closes_the_gap(kws, kws_input):
    kws_f = edgert.compile(MODELS / "kws_ref_model_float32.tflite")
    x_f = np.random.default_rng(0).standard_normal(kws_f.graph.tensors[kws_f.graph.inputs[0]].shape).astype(np.float32)
    gap8_int, gap8_float = run(kws, "gap8", kws_input).cycles, run(kws_f, "gap8", x_f).cycles
    pulp_int, pulp_float = run(kws, "pulp-open", kws_input).cycles, run(kws_f, "pulp-open", x_f).cycles
    assert gap8_float > 20 * gap8_int  # soft-float: tens of cycles per operation
    assert pulp_float < gap8_float / 10  # the shared FPUs recover most of it
    assert pulp_float < 5 * pulp_int


def test_cmsis_nn_beats_reference_kernels_and_flash_wait_states_cost(kws, kws_input):
    ref = run(kws, "stm32l4r5", kws_input, kernels="reference")
    native = run(kws, "stm32l4r5", kws_input)
    cmsis = run(kws, "stm32l4r5", kws_input, kernels="cmsis-nn")
    assert 2.5 < ref.cycles / cmsis.cycles < 8  # CMSIS-NN paper: 4.6x
    assert cmsis.cycles < min(native.cycles, ref.cycles)  # SIMD beats both scalar styles
    in_sram = run(kws, "stm32l4r5", kws_input, weights="sram")
    assert in_sram.cycles < native.cycles
    assert sum(n.detail["flash_stall_cycles"] for n in in_sram.nodes) == 0
    with pytest.raises(InputError, match="cmsis-nn"):
        Emulator(kws, "rv32imc", backend=BACKEND, kernels="cmsis-nn")


def test_isa_profiles_count_instructions(kws, kws_input):
    report = run(kws, "rv32imc", kws_input)
    for node in report.nodes:
        assert node.cycles == pytest.approx(node.detail["instructions"])  # one cycle per instruction
    assert report.energy_j is None  # no power figures for an ISA model


def test_bad_configuration_is_named(kws):
    with pytest.raises(InputError, match="cores"):
        Emulator(kws, "gap8", backend=BACKEND, cores=9)
    with pytest.raises(InputError, match="no option"):
        Emulator(kws, "gap8", backend=BACKEND, kernels="cmsis-nn")
    with pytest.raises(ProfileError, match="exceeds"):
        Emulator(kws, "gap8", backend=BACKEND, freq_hz=400e6)
    with pytest.raises(ProfileError, match="unknown device"):
        Emulator(kws, "gap42", backend=BACKEND)


def test_cli_devices_and_emulate(tmp_path):
    runner = CliRunner()
    listing = runner.invoke(main, ["devices"])
    assert listing.exit_code == 0 and "gap8" in listing.output and "stm32l4r5" in listing.output
    shown = runner.invoke(main, ["devices", "show", "gap8"])
    assert shown.exit_code == 0 and "memory.L1.size_bytes" in shown.output and "gap_props" in shown.output
    model = str(MODELS / "kws_ref_model.tflite")
    out = runner.invoke(main, ["emulate", model, "--device", "gap8", "--cores", "4", "--freq", "90MHz",
                               "--backend", BACKEND, "--json", str(tmp_path / "r.json"), "--plot", str(tmp_path / "r.png")])
    assert out.exit_code == 0, out.output
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["config"]["cores"] == 4 and doc["config"]["operating_point"] == "1.0V"
    assert (tmp_path / "r.png").exists()
    every = runner.invoke(main, ["emulate", model, "--device", "all", "--backend", BACKEND])
    assert every.exit_code == 0 and "gap8" in every.output and "rv32imc" in every.output
    bad = runner.invoke(main, ["emulate", model, "--device", "gap8", "--freq", "fast", "--backend", BACKEND])
    assert bad.exit_code == 2 and "frequency" in bad.output


def test_fit_recovers_instructions_per_event():
    """The calibration's least squares returns the per-event counts that generated the data,
    and never a negative one."""
    from edgert.emulators import grounding
    from edgert.emulators.native_events import events
    models = grounding.micro_benchmarks()
    inputs = [grounding.random_inputs(m, np.random.default_rng(k)) for k, m in enumerate(models)]
    def truth(name):  # a made-up cost per event, different for every event
        return 3.0 + len(name)

    counts = [[sum(n * truth(name) for name, n in events(node, m.graph, grounding._node_inputs(m, node, x)).items())
               for node in m.graph.nodes] for m, x in zip(models, inputs)]
    fitted = grounding.fit(models, inputs, counts)
    assert set(fitted) == {n.op for m in models for n in m.graph.nodes}
    for m, x, c in zip(models, inputs, counts):
        assert grounding.predict(m, x, fitted) == pytest.approx(c, rel=1e-4)
    assert all(v >= 0 for coef in fitted.values() for v in coef.values())


def test_softmax_cost_follows_the_logits():
    """int8 SOFTMAX skips the exponential of logits far below the maximum, and each exponential
    costs more the more bits its argument has: the emulator counts both on this run's values."""
    from edgert.emulators import grounding
    from edgert.emulators.kernels_c import calibration
    from edgert.emulators.native_events import data_events
    model = [m for m in grounding.micro_benchmarks() if m.graph.nodes[0].op == "SOFTMAX"][1]
    node, shape = model.graph.nodes[0], model.graph.tensors[model.graph.inputs[0]].shape
    close = np.zeros(shape, np.int8)
    close[..., 1::2] = -5  # every logit within diff_min of the maximum
    spread = np.full(shape, -128, np.int8)
    spread[..., 0] = 127  # one logit far above the rest
    counts = {name: data_events(node, model.graph, [x]) for name, x in (("close", close), ("spread", spread))}
    assert counts["close"]["exp"] == shape[-1] // 2 and counts["spread"]["exp"] == 0
    assert counts["close"]["exp_bit"] > 0
    cost = {name: Emulator(model, "rv32imc", backend=BACKEND).run(x)[1].cycles for name, x in
            (("close", close), ("spread", spread))}
    per_event = calibration()["rv32imc"]["ops"]["SOFTMAX"]
    expected = sum((counts["close"][e] - counts["spread"][e]) * per_event.get(e, 0.0) for e in counts["close"])
    assert expected > 0 and cost["close"] - cost["spread"] == pytest.approx(expected)


@pytest.mark.parametrize("isa", ["rv32imc", "armv7e-m"])
def test_isa_grounding_on_kws_within_targets(kws, kws_input, isa):
    """QEMU counts every instruction of our C kernels running KWS; the emulator, calibrated on
    single-op micro-benchmarks only, predicts each op type within 10 % and the model within 5 %."""
    from edgert.emulators import grounding
    x = {kws.graph.tensors[kws.graph.inputs[0]].name: kws_input}
    (measured,) = grounding.measure([kws], [x], grounding.BOARDS[isa])
    result = grounding.compare(kws, x, measured, isa)
    assert {r.what for r in result["ops"]} == {n.op for n in kws.graph.nodes}
    assert grounding.within_targets(result), (
        "predicted vs QEMU instructions off target; if native/src kernels changed their loops, update "
        "emulators/native_events.py and run `python -m edgert.emulators.grounding calibrate`: "
        f"{[(r.what, round(r.error, 3)) for r in result['ops'] + result['model']]}")


@pytest.fixture(scope="module")
def svm_pair():
    """An RBF SVM compiled twice: libsvm-exact float64, and fixed point (int16 / int32)."""
    from sklearn.datasets import make_classification
    from sklearn.svm import SVC
    from edgert.runtime.importers.sklearn import from_estimator
    x, y = make_classification(300, 8, random_state=0)
    svc = SVC(kernel="rbf").fit(x, y)
    return (edgert.compile(from_estimator(svc)), edgert.compile(from_estimator(svc, mode="fixed", calibration=x)),
            x[:1].astype(np.float32))


def test_float_non_neural_on_gap8_is_far_slower_than_fixed_point(svm_pair):
    floating, fixed, x = svm_pair
    for device in ("gap8", "pulp-open", "stm32l4r5"):
        out, report = emulate(floating, device, x, backend=BACKEND)
        assert np.array_equal(out["label"], edgert.Session(floating, backend=BACKEND).run(x)["label"])
        assert report.cycles > 5 * run(fixed, device, x).cycles
    # the SVM computes in float64: PULP-OPEN's single-precision FPUs cannot help, soft-double runs
    assert run(floating, "pulp-open", x).cycles == pytest.approx(run(floating, "gap8", x).cycles, rel=0.05)


def test_tree_cost_follows_the_nodes_visited():
    """A decision tree's cost comes from the runtime's activity counter: an input that walks a
    longer path costs more, by the visited nodes' worth."""
    from sklearn.tree import DecisionTreeClassifier
    from edgert.runtime.importers.sklearn import from_estimator
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 4)).astype(np.float32)
    y = (x[:, 0] > 0) | ((x[:, 1] > 0.5) & (x[:, 2] < 0.3) & (x[:, 3] > -0.2))
    tree = DecisionTreeClassifier(random_state=0).fit(x, y)
    model = edgert.compile(from_estimator(tree))
    depth = tree.decision_path(x).sum(axis=1).A.ravel()
    short, long_ = x[[int(np.argmin(depth))]], x[[int(np.argmax(depth))]]
    assert depth.max() - depth.min() >= 3
    for device in ("gap8", "stm32l4r5"):
        emulator = Emulator(model, device, backend=BACKEND)
        visits = {}
        observer_costs = {}
        for name, sample in (("short", short), ("long", long_)):
            records = []
            emulator.session.run(sample, observer=records.append)
            visits[name] = sum(r.activity.get("nodes_visited", 0) for r in records)
            observer_costs[name] = emulator.run(sample)[1].cycles
        assert visits["long"] > visits["short"]
        assert observer_costs["long"] > observer_costs["short"]


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 40), st.integers(1, 12), st.integers(1, 4), st.integers(1, 3), st.integers(0, 6))
def test_tap_counts_agree(size, k, stride, dilation, pad):
    """Two ways of counting the taps that land inside the input (per output position, and per
    input position) give the same total, and never more than out x k."""
    from edgert.emulators.native_events import _usage, _valid_taps
    out = (size + 2 * pad - dilation * (k - 1) - 1) // stride + 1
    if out < 1:
        return
    per_output = _valid_taps(size, out, k, stride, dilation, pad)
    per_input = _usage(size, out, k, stride, dilation, pad)
    assert per_output.sum() == per_input.sum() <= out * k
    assert per_input.shape == (size,) and per_output.min() >= 0
