"""Per-op int8 kernels (numpy, numba, C) against the tflite-micro wheel, one op per model:
strides, padding, dilation, fused activations, per-channel weights, depth multipliers,
broadcasting ADD, pooling windows clipped at the border, softmax beta, (de/re)quantize."""
from __future__ import annotations

import numpy as np
import pytest
from tflite_micro import runtime

import edgert
from tests.int8.tflite_builder import OneOp

BACKENDS = ("c", "numba", "numpy")
SAME, VALID = 0, 1
ACT = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}


def check(tmp_path, raw: bytes, inputs: list[np.ndarray]):
    """Every backend equals the oracle on every input; returns the oracle outputs."""
    path = tmp_path / "op.tflite"
    path.write_bytes(raw)
    model = edgert.compile(path)
    oracle = runtime.Interpreter.from_bytes(raw, arena_size=1 << 22)
    expected = []
    for x in inputs:
        oracle.set_input(x, 0)
        oracle.invoke()
        expected.append(oracle.get_output(0).copy())
    for backend in BACKENDS:
        session = edgert.Session(model, backend=backend)
        for x, want in zip(inputs, expected):
            got = session.run(x)
            assert got.dtype == want.dtype
            diff = np.count_nonzero(got.reshape(want.shape) != want)
            assert diff == 0, f"{backend}: {diff} of {want.size} elements differ"
    return expected


def random_int8(rng, shape, n=4):
    return [rng.integers(-128, 128, size=shape, dtype=np.int8) for _ in range(n)]


def assert_spread(outputs):
    """The case exercises real arithmetic: outputs are not all clamped to one value."""
    assert len(np.unique(np.concatenate([o.ravel() for o in outputs]))) > 3


def conv_model(rng, depthwise, in_shape, k, cout, stride, padding, dilation, act, per_channel, mult=1, out_factor=30.0):
    m = OneOp()
    cin = in_shape[3]
    s_in, zp_in = 0.05, int(rng.integers(-20, 20))
    n_scales = cout if per_channel else 1
    s_w = rng.uniform(0.005, 0.02, n_scales).astype(np.float32)
    w_shape = (1, k[0], k[1], cout) if depthwise else (cout, k[0], k[1], cin)
    w = rng.integers(-127, 128, size=w_shape, dtype=np.int8)
    taps = k[0] * k[1] * (1 if depthwise else cin)
    s_out = float(s_in * s_w.mean() * np.sqrt(taps) * out_factor)
    bias = rng.integers(-2000, 2000, size=cout).astype(np.int32)
    x = m.tensor(in_shape, np.int8, s_in, zp_in)
    wt = m.tensor(w_shape, np.int8, s_w, np.zeros(n_scales, np.int64), axis=3 if depthwise else 0, data=w)
    bt = m.tensor((cout,), np.int32, s_in * s_w, np.zeros(n_scales, np.int64), data=bias)
    eff = [(kk - 1) * d + 1 for kk, d in zip(k, dilation)]
    if padding == SAME:
        oh, ow = (-(-in_shape[1] // stride[0]), -(-in_shape[2] // stride[1]))
    else:
        oh, ow = ((in_shape[1] - eff[0]) // stride[0] + 1, (in_shape[2] - eff[1]) // stride[1] + 1)
    y = m.tensor((in_shape[0], oh, ow, cout), np.int8, s_out, int(rng.integers(-10, 10)))
    opts = dict(padding=padding, strideH=stride[0], strideW=stride[1], dilationHFactor=dilation[0],
                dilationWFactor=dilation[1], fusedActivationFunction=ACT[act])
    if depthwise:
        opts["depthMultiplier"] = mult
    return m.build("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", [x, wt, bt], [y], **opts)


@pytest.mark.parametrize("in_shape,k,cout,stride,padding,dilation,act,per_channel", [
    ((1, 9, 9, 3), (3, 3), 8, (1, 1), SAME, (1, 1), "NONE", True),
    ((1, 10, 7, 4), (3, 3), 6, (2, 2), SAME, (1, 1), "RELU", True),
    ((1, 11, 11, 5), (5, 3), 4, (2, 1), VALID, (1, 1), "RELU6", False),
    ((1, 12, 12, 4), (3, 3), 5, (1, 1), SAME, (2, 2), "NONE", True),
    ((1, 12, 10, 3), (3, 2), 4, (1, 2), VALID, (2, 3), "RELU_N1_TO_1", True),
    ((1, 8, 8, 16), (1, 1), 24, (1, 1), VALID, (1, 1), "RELU", True),
    ((1, 9, 9, 16), (1, 1), 8, (2, 2), SAME, (1, 1), "NONE", True),
    ((2, 6, 5, 3), (3, 3), 7, (1, 1), SAME, (1, 1), "NONE", True),
    ((1, 49, 10, 1), (10, 4), 8, (2, 2), SAME, (1, 1), "RELU", True),
])
def test_conv2d(tmp_path, in_shape, k, cout, stride, padding, dilation, act, per_channel):
    rng = np.random.default_rng(hash((in_shape, k, stride)) % 2**32)
    raw = conv_model(rng, False, in_shape, k, cout, stride, padding, dilation, act, per_channel)
    out = check(tmp_path, raw, random_int8(rng, in_shape))
    assert_spread(out)


@pytest.mark.parametrize("in_shape,k,mult,stride,padding,dilation,act", [
    ((1, 9, 9, 8), (3, 3), 1, (1, 1), SAME, (1, 1), "RELU"),
    ((1, 10, 10, 3), (3, 3), 2, (2, 2), SAME, (1, 1), "NONE"),
    ((1, 11, 9, 70), (3, 3), 1, (2, 1), VALID, (1, 1), "RELU6"),
    ((1, 12, 12, 4), (3, 3), 1, (1, 1), SAME, (2, 2), "NONE"),
    ((1, 24, 1, 6), (5, 1), 1, (1, 1), VALID, (1, 1), "RELU"),
])
def test_depthwise(tmp_path, in_shape, k, mult, stride, padding, dilation, act):
    rng = np.random.default_rng(hash((in_shape, k, mult)) % 2**32)
    raw = conv_model(rng, True, in_shape, k, in_shape[3] * mult, stride, padding, dilation, act, True, mult)
    out = check(tmp_path, raw, random_int8(rng, in_shape))
    assert_spread(out)


@pytest.mark.parametrize("batches,depth,units,act", [(1, 64, 12, "NONE"), (3, 40, 7, "RELU"), (2, 300, 5, "RELU6")])
def test_fully_connected(tmp_path, batches, depth, units, act):
    rng = np.random.default_rng(depth)
    m = OneOp()
    s_in, s_w = 0.04, 0.0005
    x = m.tensor((batches, depth), np.int8, s_in, 7)
    w = m.tensor((units, depth), np.int8, s_w, 0, data=rng.integers(-127, 128, (units, depth), dtype=np.int8))
    b = m.tensor((units,), np.int32, s_in * s_w, 0, data=rng.integers(-3000, 3000, units).astype(np.int32))
    y = m.tensor((batches, units), np.int8, s_in * s_w * np.sqrt(depth) * 200, -3)
    raw = m.build("FULLY_CONNECTED", [x, w, b], [y], fusedActivationFunction=ACT[act])
    assert_spread(check(tmp_path, raw, random_int8(rng, (batches, depth))))


@pytest.mark.parametrize("op", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("in_shape,f,stride,padding,act", [
    ((1, 9, 9, 5), (3, 3), (2, 2), SAME, "NONE"),
    ((1, 10, 7, 3), (2, 3), (2, 1), VALID, "RELU"),
    ((1, 25, 5, 70), (25, 5), (1, 1), VALID, "NONE"),
    ((1, 6, 6, 4), (4, 4), (3, 3), SAME, "RELU6"),
])
def test_pool(tmp_path, op, in_shape, f, stride, padding, act):
    rng = np.random.default_rng(in_shape[1] * 7 + f[0])
    m = OneOp()
    x = m.tensor(in_shape, np.int8, 0.05, -4)
    if padding == SAME:
        oh, ow = -(-in_shape[1] // stride[0]), -(-in_shape[2] // stride[1])
    else:
        oh, ow = (in_shape[1] - f[0]) // stride[0] + 1, (in_shape[2] - f[1]) // stride[1] + 1
    y = m.tensor((1, oh, ow, in_shape[3]), np.int8, 0.05, -4)
    raw = m.build(op, [x], [y], padding=padding, strideH=stride[0], strideW=stride[1], filterHeight=f[0],
                  filterWidth=f[1], fusedActivationFunction=ACT[act])
    check(tmp_path, raw, random_int8(rng, in_shape))


@pytest.mark.parametrize("shape_a,shape_b,act", [
    ((1, 8, 8, 16), (1, 8, 8, 16), "NONE"),
    ((1, 8, 8, 16), (1, 8, 8, 16), "RELU"),
    ((1, 5, 4, 3), (1, 1, 1, 3), "NONE"),
    ((1, 5, 4, 3), (3,), "RELU6"),
    ((2, 1, 4, 1), (1, 3, 1, 5), "NONE"),
])
def test_add(tmp_path, shape_a, shape_b, act):
    rng = np.random.default_rng(len(shape_b) * 10 + shape_a[1])
    m = OneOp()
    a = m.tensor(shape_a, np.int8, 0.07, 5)
    b = m.tensor(shape_b, np.int8, 0.03, -9)
    y = m.tensor(np.broadcast_shapes(shape_a, shape_b), np.int8, 0.09, -2)
    raw = m.build("ADD", [a, b], [y], fusedActivationFunction=ACT[act])
    path = tmp_path / "add.tflite"
    path.write_bytes(raw)
    model = edgert.compile(path)
    oracle = runtime.Interpreter.from_bytes(raw, arena_size=1 << 22)
    for _ in range(3):
        xa, xb = rng.integers(-128, 128, shape_a, dtype=np.int8), rng.integers(-128, 128, shape_b, dtype=np.int8)
        oracle.set_input(xa, 0)
        oracle.set_input(xb, 1)
        oracle.invoke()
        want = oracle.get_output(0)
        names = edgert.Session(model, backend="numpy").input_names
        for backend in BACKENDS:
            got = edgert.Session(model, backend=backend).run(dict(zip(names, (xa, xb))))
            assert np.array_equal(got, want), backend


@pytest.mark.parametrize("shape,s_in,beta", [((1, 12), 0.1, 1.0), ((3, 10), 0.5, 1.0), ((2, 40), 0.02, 2.0),
                                             ((1, 4, 7), 1.0, 0.5)])
def test_softmax(tmp_path, shape, s_in, beta):
    rng = np.random.default_rng(shape[-1])
    m = OneOp()
    x = m.tensor(shape, np.int8, s_in, 3)
    y = m.tensor(shape, np.int8, 1 / 256, -128)
    raw = m.build("SOFTMAX", [x], [y], beta=beta)
    assert_spread(check(tmp_path, raw, random_int8(rng, shape, 6)))


def test_quantize_dequantize_requantize(tmp_path):
    rng = np.random.default_rng(5)
    m = OneOp()
    x = m.tensor((4, 50), np.float32)
    y = m.tensor((4, 50), np.int8, 0.05, -7)
    raw = m.build("QUANTIZE", [x], [y])
    values = [rng.normal(0, 3, (4, 50)).astype(np.float32),
              (np.arange(200, dtype=np.float32).reshape(4, 50) - 100) * np.float32(0.025)]  # exact ties
    assert_spread(check(tmp_path, raw, values))

    m = OneOp()
    x = m.tensor((4, 50), np.int8, 0.05, -7)
    y = m.tensor((4, 50), np.float32)
    check(tmp_path, m.build("DEQUANTIZE", [x], [y]), random_int8(rng, (4, 50)))

    m = OneOp()
    x = m.tensor((4, 50), np.int8, 0.05, -7)
    y = m.tensor((4, 50), np.int8, 0.11, 12)
    assert_spread(check(tmp_path, m.build("QUANTIZE", [x], [y]), random_int8(rng, (4, 50))))


def test_reshape(tmp_path):
    m = OneOp()
    x = m.tensor((1, 2, 3, 4), np.int8, 0.5, 1)
    shape = m.tensor((2,), np.int32, data=np.array([1, 24], np.int32))
    y = m.tensor((1, 24), np.int8, 0.5, 1)
    check(tmp_path, m.build("RESHAPE", [x, shape], [y]), random_int8(np.random.default_rng(0), (1, 2, 3, 4)))
