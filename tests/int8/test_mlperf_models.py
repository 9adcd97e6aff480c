"""The six int8 MLPerf Tiny models, bit-exact (0 differing elements) against the tflite-micro
wheel on every backend: 20 random inputs each (plus the all-min / all-max extremes), the real
samples, and every intermediate tensor (the wheel with kPreserveAllTensors)."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from tflite_micro import runtime

import edgert

MODELS_DIR = Path(__file__).resolve().parents[2] / "models" / "mlperf_tiny"
MODELS = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "pretrainedResnet_large_int8",
          "ad01_int8", "str_ww_ref_model"]
BACKENDS = ("c", "numba", "numpy")
N_RANDOM = 20


def path_of(name: str) -> Path:
    return MODELS_DIR / f"{name}.tflite"


@functools.cache
def compiled(name: str):
    return edgert.compile(path_of(name))


def oracle(name: str, preserve: bool = False):
    config = runtime.InterpreterConfig.kPreserveAllTensors if preserve else runtime.InterpreterConfig.kAllocationRecording
    return runtime.Interpreter.from_file(str(path_of(name)), intrepreter_config=config)


@functools.cache
def random_cases(name: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(inputs, oracle outputs): N_RANDOM uniform int8 inputs plus the two extremes."""
    it = oracle(name)
    shape = it.get_input_details(0)["shape"]
    rng = np.random.default_rng(sum(map(ord, name)))
    xs = [rng.integers(-128, 128, size=shape, dtype=np.int8) for _ in range(N_RANDOM)]
    xs += [np.full(shape, -128, np.int8), np.full(shape, 127, np.int8)]
    ys = []
    for x in xs:
        it.set_input(x, 0)
        it.invoke()
        ys.append(it.get_output(0).copy())
    return xs, ys


def assert_same(got: np.ndarray, want: np.ndarray, what: str) -> None:
    got = np.asarray(got).reshape(want.shape)
    diff = np.count_nonzero(got != want)
    assert got.dtype == want.dtype and diff == 0, f"{what}: {diff} of {want.size} elements differ"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", MODELS)
def test_random_inputs_bit_exact(name, backend):
    session = edgert.Session(compiled(name), backend=backend)
    xs, ys = random_cases(name)
    assert len(xs) >= 20
    for k, (x, want) in enumerate(zip(xs, ys)):
        assert_same(session.run(x), want, f"{name} {backend} input {k}")
    # the inputs are not degenerate: the oracle's outputs differ between inputs
    assert len({y.tobytes() for y in ys}) > 1


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", MODELS)
def test_intermediate_tensors_bit_exact(name, backend):
    """Every node's output equals the oracle's tensor of the same name."""
    model = compiled(name)
    it = oracle(name, preserve=True)
    x, _ = random_cases(name)
    it.set_input(x[0], 0)
    it.invoke()
    records = []
    edgert.Session(model, backend=backend).run(x[0], observer=records.append)
    assert len(records) == len(model.graph.nodes)
    index = tflite_tensor_indices(name)
    for rec in records:
        tensor = model.graph.tensors[model.graph.nodes[rec.index].outputs[0]]
        want = it.GetTensor(index[tensor.name], 0)["tensor_data"]
        assert_same(rec.outputs[0], want, f"{name} {backend} node {rec.index} ({rec.op})")


@functools.cache
def tflite_tensor_indices(name: str) -> dict[str, int]:
    import tflite
    sg = tflite.Model.GetRootAsModel(path_of(name).read_bytes(), 0).Subgraphs(0)
    return {sg.Tensors(i).Name().decode(): i for i in range(sg.TensorsLength())}


@pytest.mark.parametrize("backend", BACKENDS)
def test_kws_sample(backend):
    """The KWS reference submission's embedded MFCC vector is class 5 ("on")."""
    x = np.load(MODELS_DIR / "samples" / "kws_sample_input_int8.npy")
    it = oracle("kws_ref_model")
    it.set_input(x, 0)
    it.invoke()
    want = it.get_output(0)
    got = edgert.Session(compiled("kws_ref_model"), backend=backend).run(x)
    assert_same(got, want, f"kws sample {backend}")
    assert int(np.argmax(got)) == 5


def ad_windows(session) -> np.ndarray:
    """The 196 sliding 5-slice windows of the real ToyCar spectrogram, quantized with the
    model's input parameters (round half away from zero, as the reference submission)."""
    spec = np.fromfile(MODELS_DIR / "samples" / "ad_normal_id_01_00000000_hist_librosa.bin", "<f4").reshape(200, 128)
    windows = np.stack([spec[i:i + 5].ravel() for i in range(196)])
    return np.stack([session.quantize(w[None, :]) for w in windows])


@pytest.mark.parametrize("backend", BACKENDS)
def test_ad_sample(backend):
    session = edgert.Session(compiled("ad01_int8"), backend=backend)
    it = oracle("ad01_int8")
    for k, x in enumerate(ad_windows(session)):
        it.set_input(x, 0)
        it.invoke()
        assert_same(session.run(x), it.get_output(0), f"AD window {k} {backend}")
