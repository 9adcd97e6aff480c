"""Quantized-operator nodes with constant parameters on random data: QLinearConv (strides,
pads, auto_pad, dilations, groups, per-channel weights, bias), QLinearMatMul (per-column b),
ConvInteger, MatMulInteger and QuantizeLinear ties. edgert equals onnxruntime exactly (same
float32 requantization) and onnx.reference within its float64 product (1 LSB near ties)."""
import numpy as np
import pytest
from onnx import helper

import edgert

from onnx_builders import (init, model, onnxruntime_or_none, onnxruntime_run, random_q, reference_run, run_backends,
                           value)


def qlinear_conv_model(rng, x_shape, w_shape, xdt, wdt, per_channel, bias, **attrs):
    m = w_shape[0]
    ws = rng.uniform(0.001, 0.01, m if per_channel else 1).astype(np.float32)
    wzp = (rng.integers(0, 3, ws.size) if wdt == "uint8" else np.zeros(ws.size)).astype(wdt)
    inits = [init("xs", np.float32(0.02)), init("xzp", np.array(rng.integers(100, 150) if xdt == "uint8" else 5, xdt)),
             init("w", random_q(rng, w_shape, wdt)), init("ws", ws if per_channel else ws[0]),
             init("wzp", wzp if per_channel else wzp[0]), init("ys", np.float32(0.03)),
             init("yzp", np.array(120 if xdt == "uint8" else -3, xdt))]
    names = ["x", "xs", "xzp", "w", "ws", "wzp", "ys", "yzp"]
    if bias:
        inits.append(init("b", rng.integers(-2000, 2000, m).astype(np.int32)))
        names.append("b")
    node = helper.make_node("QLinearConv", names, ["y"], **attrs)
    return model([node], [value("x", xdt, x_shape)], [value("y", xdt, [])], inits)


CONVS = [
    dict(x_shape=(1, 3, 9, 9), w_shape=(4, 3, 3, 3), pads=[1, 1, 1, 1]),
    dict(x_shape=(2, 4, 10, 7), w_shape=(6, 2, 3, 2), group=2, strides=[2, 1], pads=[0, 1, 2, 0]),
    dict(x_shape=(1, 4, 12, 12), w_shape=(4, 1, 3, 3), group=4, dilations=[2, 2], auto_pad="SAME_UPPER"),
    dict(x_shape=(1, 2, 8, 8), w_shape=(3, 2, 2, 2), strides=[2, 2], auto_pad="SAME_LOWER"),
    dict(x_shape=(1, 2, 8, 9), w_shape=(5, 2, 3, 3), auto_pad="VALID"),
]


@pytest.mark.parametrize("geom", range(len(CONVS)))
@pytest.mark.parametrize("xdt,wdt", [("uint8", "int8"), ("int8", "int8"), ("uint8", "uint8")])
@pytest.mark.parametrize("per_channel", [False, True])
def test_qlinear_conv(geom, xdt, wdt, per_channel):
    rng = np.random.default_rng(geom * 7 + per_channel)
    spec = dict(CONVS[geom])
    x_shape, w_shape = spec.pop("x_shape"), spec.pop("w_shape")
    m = qlinear_conv_model(rng, x_shape, w_shape, xdt, wdt, per_channel, bias=geom % 2 == 0, **spec)
    compiled = edgert.compile(m)
    for _ in range(3):
        x = random_q(rng, x_shape, xdt)
        y = run_backends(compiled, x)
        ort = onnxruntime_or_none(m, {"x": x})
        assert ort is not None or "dilations" in spec  # onnxruntime: no dilation with SAME_*
        if ort is not None:
            np.testing.assert_array_equal(y, ort)
        assert np.abs(y.astype(int) - reference_run(m, {"x": x}).astype(int)).max() <= 1


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
@pytest.mark.parametrize("a_shape,b_shape", [((5, 16), (16, 7)), ((3, 4, 16), (16, 7)), ((2, 4, 16), (2, 16, 7))])
def test_qlinear_matmul_per_column(dtype, a_shape, b_shape):
    rng = np.random.default_rng(len(a_shape) + len(b_shape))
    n = b_shape[-1]
    bs = rng.uniform(0.001, 0.01, n).astype(np.float32)
    inits = [init("as", np.float32(0.03)), init("azp", np.array(7, dtype)), init("b", random_q(rng, b_shape, dtype)),
             init("bs", bs if len(b_shape) == 2 else np.float32(bs[0])),
             init("bzp", np.array(3 if dtype == "uint8" else -1, dtype)),
             init("ys", np.float32(0.05)), init("yzp", np.array(9, dtype))]
    node = helper.make_node("QLinearMatMul", ["a", "as", "azp", "b", "bs", "bzp", "ys", "yzp"], ["y"])
    m = model([node], [value("a", dtype, a_shape)], [value("y", dtype, [])], inits, opset=21)
    compiled = edgert.compile(m)
    for _ in range(4):
        a = random_q(rng, a_shape, dtype)
        y = run_backends(compiled, a)
        np.testing.assert_array_equal(y, onnxruntime_run(m, {"a": a}))
        assert np.abs(y.astype(int) - reference_run(m, {"a": a}).astype(int)).max() <= 1


@pytest.mark.parametrize("attrs", [dict(), dict(strides=[2, 2], pads=[1, 0, 1, 2]), dict(group=2, dilations=[1, 2])])
def test_conv_integer(attrs):
    rng = np.random.default_rng(5)
    inits = [init("w", random_q(rng, (4, 2, 3, 3), "uint8")), init("xzp", np.array(128, np.uint8)),
             init("wzp", np.array(100, np.uint8))]
    cin = 2 * attrs.get("group", 1)
    node = helper.make_node("ConvInteger", ["x", "w", "xzp", "wzp"], ["y"], **attrs)
    m = model([node], [value("x", "uint8", (1, cin, 9, 8))], [value("y", "int32", [])], inits, opset=10)
    compiled = edgert.compile(m)
    x = random_q(rng, (1, cin, 9, 8), "uint8")
    y = run_backends(compiled, x)
    np.testing.assert_array_equal(y, reference_run(m, {"x": x}))
    np.testing.assert_array_equal(y, onnxruntime_run(m, {"x": x}))


def test_matmul_integer_per_column_zero_point():
    rng = np.random.default_rng(6)
    inits = [init("b", random_q(rng, (12, 5), "int8")), init("azp", np.array(-3, np.int8)),
             init("bzp", rng.integers(-4, 4, 5).astype(np.int8))]
    node = helper.make_node("MatMulInteger", ["a", "b", "azp", "bzp"], ["y"])
    m = model([node], [value("a", "int8", (6, 12))], [value("y", "int32", [])], inits, opset=10)
    a = random_q(rng, (6, 12), "int8")
    np.testing.assert_array_equal(run_backends(edgert.compile(m), a), reference_run(m, {"a": a}))


@pytest.mark.parametrize("dtype,zp", [("uint8", 128), ("int8", 0)])
def test_quantize_linear_ties_round_half_to_even(dtype, zp):
    """x / scale = k + 0.5 exactly: ONNX rounds to even (TFLite would round away from zero)."""
    x = np.array([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, 1000.0, -1000.0], np.float32)
    inits = [init("s", np.float32(1.0)), init("z", np.array(zp, dtype))]
    node = helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"])
    m = model([node], [value("x", "float32", x.shape)], [value("y", dtype, x.shape)], inits)
    y = run_backends(edgert.compile(m), x)
    lo, hi = np.iinfo(dtype).min, np.iinfo(dtype).max
    assert (y.astype(int) - zp)[:7].tolist() == [0, 2, 2, 4, 0, -2, -2]
    assert y[7] == hi and y[8] == lo
    np.testing.assert_array_equal(y, reference_run(m, {"x": x}))
    np.testing.assert_array_equal(y, onnxruntime_run(m, {"x": x}))
