"""The four float32 MLPerf Tiny models against the tflite-micro wheel, every backend, within
1e-5 relative to the largest output magnitude (float32 summation order is the only
difference). kws_ref_model_float32 is a hybrid model (int8 conv weights, float activations)
that TFLite Micro refuses to run; edgert dequantizes those weights at import, so its oracle
is the same model with the weights dequantized into float32 buffers."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from tflite_micro import runtime

import edgert
from edgert.errors import EdgertError
from tests.float.dequantized_model import dequantize_weights
from tests.int8.tflite_builder import OneOp

MODELS_DIR = Path(__file__).resolve().parents[2] / "models" / "mlperf_tiny"
MODELS = ["kws_ref_model_float32", "vww_96_float", "pretrainedResnet", "ad01_fp32"]
BACKENDS = ("c", "numba", "numpy")
RTOL = 1e-5


@functools.cache
def compiled(name: str):
    return edgert.compile(MODELS_DIR / f"{name}.tflite")


def oracle(name: str):
    raw = (MODELS_DIR / f"{name}.tflite").read_bytes()
    if name == "kws_ref_model_float32":
        raw = dequantize_weights(raw)
    return runtime.Interpreter.from_bytes(raw)


def test_tflm_refuses_the_hybrid_kws_model():
    """Why the KWS float oracle is the rewritten model (fails if TFLM starts accepting it)."""
    with pytest.raises(RuntimeError):
        runtime.Interpreter.from_file(str(MODELS_DIR / "kws_ref_model_float32.tflite"))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", MODELS)
def test_float_model_matches_tflm(name, backend):
    model = compiled(name)
    it = oracle(name)
    shape = it.get_input_details(0)["shape"]
    rng = np.random.default_rng(len(name))
    session = edgert.Session(model, backend=backend)
    for k in range(5):
        x = (rng.standard_normal(shape) * (1 + 4 * k)).astype(np.float32)
        it.set_input(x, 0)
        it.invoke()
        want = it.get_output(0)
        got = session.run(x).reshape(want.shape)
        err = np.abs(got.astype(np.float64) - want).max() / np.abs(want).max()
        assert err <= RTOL, f"{name} {backend} input {k}: relative error {err:.2e}"


@pytest.mark.parametrize("op", ["CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D", "ADD", "SOFTMAX"])
def test_float_ops_with_options(tmp_path, op):
    """Float ops with the options the four models do not cover: stride 2, SAME padding with
    clipped windows, dilation, RELU6 / RELU_N1_TO_1, depth multiplier 2, broadcasting ADD."""
    rng = np.random.default_rng(len(op))
    m = OneOp()
    x = m.tensor((1, 9, 8, 4), np.float32)
    if op == "CONV_2D":
        w = m.tensor((6, 3, 3, 4), np.float32, data=rng.standard_normal((6, 3, 3, 4)))
        b = m.tensor((6,), np.float32, data=rng.standard_normal(6))
        y = m.tensor((1, 9, 8, 6), np.float32)
        raw = m.build(op, [x, w, b], [y], padding=0, strideH=1, strideW=1, dilationHFactor=2,
                      dilationWFactor=1, fusedActivationFunction=3)
    elif op == "DEPTHWISE_CONV_2D":
        w = m.tensor((1, 3, 3, 8), np.float32, data=rng.standard_normal((1, 3, 3, 8)))
        b = m.tensor((8,), np.float32, data=rng.standard_normal(8))
        y = m.tensor((1, 5, 4, 8), np.float32)
        raw = m.build(op, [x, w, b], [y], padding=0, strideH=2, strideW=2, depthMultiplier=2,
                      dilationHFactor=1, dilationWFactor=1, fusedActivationFunction=2)
    elif op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        y = m.tensor((1, 3, 3, 4), np.float32)
        raw = m.build(op, [x], [y], padding=0, strideH=3, strideW=3, filterHeight=4, filterWidth=4,
                      fusedActivationFunction=1)
    elif op == "ADD":
        bt = m.tensor((4,), np.float32, data=rng.standard_normal(4))
        y = m.tensor((1, 9, 8, 4), np.float32)
        raw = m.build(op, [x, bt], [y], fusedActivationFunction=3)
    else:
        y = m.tensor((1, 9, 8, 4), np.float32)
        raw = m.build(op, [x], [y], beta=0.7)
    path = tmp_path / "op.tflite"
    path.write_bytes(raw)
    model = edgert.compile(path)
    it = runtime.Interpreter.from_bytes(raw, arena_size=1 << 20)
    xv = (rng.standard_normal((1, 9, 8, 4)) * 3).astype(np.float32)
    it.set_input(xv, 0)
    it.invoke()
    want = it.get_output(0)
    for backend in BACKENDS:
        got = edgert.Session(model, backend=backend).run(xv)
        err = np.abs(got - want).max() / np.abs(want).max()
        assert err <= RTOL, f"{op} {backend}: relative error {err:.2e}"


def test_unsupported_activation_is_named(tmp_path):
    m = OneOp()
    x = m.tensor((1, 4, 4, 2), np.float32)
    y = m.tensor((1, 4, 4, 2), np.float32)
    path = tmp_path / "tanh.tflite"
    path.write_bytes(m.build("MAX_POOL_2D", [x], [y], padding=0, strideH=1, strideW=1, filterHeight=2,
                             filterWidth=2, fusedActivationFunction=4))
    with pytest.raises(EdgertError, match="TANH"):
        edgert.compile(path)
