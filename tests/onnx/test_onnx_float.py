"""Float ONNX graphs (Conv, Gemm, MatMul, Add, Relu, Clip, pools, Reshape, Flatten): the three
backends agree bit for bit (one fixed summation order) and match onnxruntime and
onnx.reference to float32 rounding."""
import numpy as np
import pytest
from onnx import helper

import edgert

from onnx_builders import init, model, onnxruntime_run, reference_run, run_backends, value


def cnn(rng):
    f = lambda *s: rng.normal(0, 0.3, s).astype(np.float32)  # noqa: E731
    inits = [init("w1", f(6, 3, 3, 3)), init("b1", f(6)), init("w2", f(6, 2, 3, 3)), init("lo", np.float32(-0.2)),
             init("hi", np.float32(0.7)), init("shape", np.array([1, -1], np.int64)), init("w3", f(10, 6)),
             init("b3", f(10)), init("w4", f(10, 4)), init("k", f(1, 6, 1, 1))]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], strides=[2, 2], auto_pad="SAME_UPPER"),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["p1", "w2"], ["c2"], group=3, dilations=[2, 2], pads=[2, 2, 2, 2]),
        helper.make_node("Add", ["c2", "k"], ["a2"]),
        helper.make_node("Clip", ["a2", "lo", "hi"], ["r2"]),
        helper.make_node("AveragePool", ["r2"], ["p2"], kernel_shape=[2, 3], strides=[2, 2], pads=[0, 1, 1, 1]),
        helper.make_node("Add", ["p2", "p2"], ["a3"]),
        helper.make_node("GlobalAveragePool", ["a3"], ["g"]),
        helper.make_node("Reshape", ["g", "shape"], ["flat"]),
        helper.make_node("Gemm", ["flat", "w3", "b3"], ["fc"], transB=1, alpha=0.5, beta=2.0),
        helper.make_node("MatMul", ["fc", "w4"], ["y"]),
    ]
    return model(nodes, [value("x", "float32", (1, 3, 15, 15))], [value("y", "float32", (1, 4))], inits)


def test_float_cnn_matches_onnxruntime_and_reference():
    rng = np.random.default_rng(11)
    m = cnn(rng)
    compiled = edgert.compile(m)
    assert "ONNX_CONV_F32" in {n.op for n in compiled.graph.nodes}
    for _ in range(5):
        x = rng.normal(0, 1, (1, 3, 15, 15)).astype(np.float32)
        y = run_backends(compiled, x)
        np.testing.assert_allclose(y, onnxruntime_run(m, {"x": x}), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(y, reference_run(m, {"x": x}), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("trans_a", [0, 1])
def test_gemm_constant_transposes_and_flatten(trans_a):
    rng = np.random.default_rng(12)
    a = rng.normal(0, 1, (8, 3) if trans_a else (3, 8)).astype(np.float32)
    inits = [init("a", a), init("c", rng.normal(0, 1, (3, 5)).astype(np.float32))]
    nodes = [helper.make_node("Flatten", ["x"], ["xf"], axis=1),
             helper.make_node("Gemm", ["a", "xf", "c"], ["y"], transA=trans_a)]
    m = model(nodes, [value("x", "float32", (8, 1, 5))], [value("y", "float32", (3, 5))], inits)
    x = rng.normal(0, 1, (8, 1, 5)).astype(np.float32)
    y = run_backends(edgert.compile(m), x)
    np.testing.assert_allclose(y, onnxruntime_run(m, {"x": x}), rtol=1e-5, atol=1e-6)


def test_average_pool_count_include_pad():
    rng = np.random.default_rng(13)
    nodes = [helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                              count_include_pad=1)]
    m = model(nodes, [value("x", "float32", (2, 2, 5, 6))], [value("y", "float32", (2, 2, 5, 6))], [])
    x = rng.normal(0, 1, (2, 2, 5, 6)).astype(np.float32)
    np.testing.assert_allclose(run_backends(edgert.compile(m), x), onnxruntime_run(m, {"x": x}), rtol=1e-6, atol=1e-7)
