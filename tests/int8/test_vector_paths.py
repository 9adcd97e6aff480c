"""Random geometries and scales for the ops with vector paths in C (x86-64: AVX-512 VNNI for
CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, same-shape ADD; generic vectors elsewhere):
channel counts that are not multiples of 16, window lengths that are not multiples of 4,
pixel counts that are not multiples of 8, batches, dilation, padding, output scales that
give positive and negative requantization shifts. The C backend must equal the wheel."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st
from tflite_micro import runtime

import edgert
from tests.int8.test_ops import ACT, SAME, VALID, conv_model
from tests.int8.tflite_builder import OneOp

CASES = settings(max_examples=25, deadline=None, derandomize=True)


def c_equals_wheel(tmp_path, raw: bytes, inputs: list[np.ndarray]) -> None:
    path = tmp_path / "op.tflite"
    path.write_bytes(raw)
    session = edgert.Session(edgert.compile(path), backend="c")
    oracle = runtime.Interpreter.from_bytes(raw, arena_size=1 << 22)
    for x in inputs:
        oracle.set_input(x, 0)
        oracle.invoke()
        want = oracle.get_output(0)
        got = np.asarray(session.run(x)).reshape(want.shape)
        assert np.count_nonzero(got != want) == 0


conv_geometry = st.fixed_dictionaries({
    "batch": st.integers(1, 2), "h": st.integers(1, 9), "w": st.integers(1, 9), "cin": st.integers(1, 24),
    "kh": st.integers(1, 4), "kw": st.integers(1, 4), "stride": st.integers(1, 3), "dilation": st.integers(1, 2),
    "padding": st.sampled_from([SAME, VALID]), "act": st.sampled_from(sorted(ACT)),
    "out_factor": st.sampled_from([0.01, 1.0, 30.0, 1000.0]), "seed": st.integers(0, 2**32 - 1)})


def conv_case(g, depthwise: bool, cout: int):
    rng = np.random.default_rng(g["seed"])
    h = max(g["h"], (g["kh"] - 1) * g["dilation"] + 1)   # VALID needs the window to fit
    w = max(g["w"], (g["kw"] - 1) * g["dilation"] + 1)
    in_shape = (g["batch"], h, w, g["cin"])
    raw = conv_model(rng, depthwise, in_shape, (g["kh"], g["kw"]), cout, (g["stride"],) * 2, g["padding"],
                     (g["dilation"],) * 2, g["act"], True, out_factor=g["out_factor"])
    return raw, [rng.integers(-128, 128, size=in_shape, dtype=np.int8) for _ in range(2)]


@CASES
@given(g=conv_geometry, cout=st.integers(1, 40))
def test_conv2d_random(tmp_path_factory, g, cout):
    raw, inputs = conv_case(g, False, cout)
    c_equals_wheel(tmp_path_factory.mktemp("conv"), raw, inputs)


@CASES
@given(g=conv_geometry)
def test_depthwise_random(tmp_path_factory, g):
    raw, inputs = conv_case(g, True, g["cin"])
    c_equals_wheel(tmp_path_factory.mktemp("dw"), raw, inputs)


@CASES
@given(batches=st.integers(1, 3), depth=st.integers(1, 200), units=st.integers(1, 70),
       out_factor=st.sampled_from([0.01, 1.0, 200.0, 5000.0]), seed=st.integers(0, 2**32 - 1))
def test_fully_connected_random(tmp_path_factory, batches, depth, units, out_factor, seed):
    rng = np.random.default_rng(seed)
    m = OneOp()
    s_in, s_w = 0.04, 0.0005
    x = m.tensor((batches, depth), np.int8, s_in, int(rng.integers(-128, 128)))
    w = m.tensor((units, depth), np.int8, s_w, 0, data=rng.integers(-127, 128, (units, depth), dtype=np.int8))
    b = m.tensor((units,), np.int32, s_in * s_w, 0, data=rng.integers(-3000, 3000, units).astype(np.int32))
    y = m.tensor((batches, units), np.int8, s_in * s_w * np.sqrt(depth) * out_factor, int(rng.integers(-128, 128)))
    raw = m.build("FULLY_CONNECTED", [x, w, b], [y], fusedActivationFunction=0)
    c_equals_wheel(tmp_path_factory.mktemp("fc"), raw,
                   [rng.integers(-128, 128, (batches, depth), dtype=np.int8) for _ in range(2)])


@CASES
@given(shape=st.lists(st.integers(1, 12), min_size=1, max_size=4), scales=st.lists(
    st.floats(0.001, 1.0), min_size=3, max_size=3), zps=st.lists(st.integers(-128, 127), min_size=3, max_size=3),
    act=st.sampled_from(["NONE", "RELU", "RELU6"]), seed=st.integers(0, 2**32 - 1))
def test_add_same_shape_random(tmp_path_factory, shape, scales, zps, act, seed):
    rng = np.random.default_rng(seed)
    shape = tuple(shape)
    m = OneOp()
    a = m.tensor(shape, np.int8, scales[0], zps[0])
    b = m.tensor(shape, np.int8, scales[1], zps[1])
    y = m.tensor(shape, np.int8, scales[2], zps[2])
    raw = m.build("ADD", [a, b], [y], fusedActivationFunction=ACT[act])
    path = tmp_path_factory.mktemp("add") / "add.tflite"
    path.write_bytes(raw)
    session = edgert.Session(edgert.compile(path), backend="c")
    oracle = runtime.Interpreter.from_bytes(raw, arena_size=1 << 22)
    for _ in range(2):
        xa, xb = rng.integers(-128, 128, shape, dtype=np.int8), rng.integers(-128, 128, shape, dtype=np.int8)
        oracle.set_input(xa, 0)
        oracle.set_input(xb, 1)
        oracle.invoke()
        want = oracle.get_output(0)
        got = session.run({session.input_names[0]: xa, session.input_names[1]: xb})
        assert np.count_nonzero(np.asarray(got).reshape(want.shape) != want) == 0
