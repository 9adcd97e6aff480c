"""Bad ONNX input gets a clear edgert error: unsupported op / attribute / dtype names the node,
non-static shapes and runtime scales explain the compile option to use, and mutated model bytes
(hypothesis) raise only edgert errors; whatever still compiles runs on the C backend."""
from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

import edgert
from edgert.errors import EdgertError, FormatError, ModelError, UnsupportedOpError
from edgert.runtime.importers.onnx import from_bytes
from edgert.runtime.session import Session

from onnx_builders import QDQ, init, model, value

NODE_TESTS = Path(__file__).resolve().parents[2] / "models" / "onnx_node_tests" / "node_tests"


def one_node(op, inputs, out_dtype="float32", inits=(), opset=13, **attrs):
    node = helper.make_node(op, [n for n, _, _ in inputs] + [i.name for i in inits], ["y"], name="the_node", **attrs)
    return model([node], [value(n, d, s) for n, d, s in inputs], [value("y", out_dtype, [])], list(inits), opset)


def test_unsupported_op_names_op_and_node():
    m = one_node("Softmax", [("x", "float32", (1, 4))])
    with pytest.raises(UnsupportedOpError, match=r"Softmax 'the_node'.*not supported"):
        edgert.compile(m)


def test_unsupported_attribute_names_it():
    m = one_node("MaxPool", [("x", "float32", (1, 1, 4, 4))], kernel_shape=[2, 2], ceil_mode=1)
    with pytest.raises(UnsupportedOpError, match="ceil_mode"):
        edgert.compile(m)
    m = one_node("Conv", [("x", "float32", (1, 2, 8))], inits=[init("w", np.ones((1, 2, 3), np.float32))])
    with pytest.raises(UnsupportedOpError, match="2-D convolution"):
        edgert.compile(m)


def test_unsupported_dtype():
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT16, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT16, [1, 4])])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    with pytest.raises(UnsupportedOpError, match="FLOAT16"):
        edgert.compile(m)


def test_symbolic_batch_needs_an_option():
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    with pytest.raises(ModelError, match="batch_size"):
        edgert.compile(m)
    compiled = edgert.compile(m, batch_size=3)
    x = np.array([[-1, 2, -3, 4]] * 3, np.float32)
    np.testing.assert_array_equal(Session(compiled, backend="c").run(x), np.maximum(x, 0))
    assert edgert.compile(m, input_shapes={"x": (2, 4)}).graph.tensors[0].shape == (2, 4)
    with pytest.raises(ModelError, match="elements"):
        edgert.compile(m, input_shapes={"x": (1 << 20, 1 << 10)})


def test_runtime_scale_explains_constants_option():
    m = onnx.load(NODE_TESTS / "test_quantizelinear" / "model.onnx")
    with pytest.raises(ModelError, match=r"constants="):
        edgert.compile(m)
    with pytest.raises(ModelError, match="not graph inputs"):
        edgert.compile(m, constants={"nope": np.float32(1)})
    with pytest.raises(ModelError, match="does not fit"):
        edgert.compile(m, constants={"y_scale": 2.0, "y_zero_point": 300})
    compiled = edgert.compile(m, constants={"y_scale": 2.0, "y_zero_point": 128})  # cast to float32 / uint8
    x = np.array([3.0, -1000.0, 0.0, 1.0, 5.0, 1000.0], np.float32)
    np.testing.assert_array_equal(Session(compiled, backend="numpy").run(x), [130, 0, 128, 128, 130, 255])


def test_bad_scale_and_unknown_option():
    m = one_node("QuantizeLinear", [("x", "float32", (4,))], out_dtype="uint8",
                 inits=[init("s", np.float32(0.0)), init("z", np.uint8(3))])
    with pytest.raises(ModelError, match="finite and positive"):
        edgert.compile(m)
    with pytest.raises(ModelError, match="unknown ONNX import option"):
        edgert.compile(onnx.load(NODE_TESTS / "test_qlinearconv" / "model.onnx"), batchsize=1)


def test_corrupt_file_is_a_format_error(tmp_path):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"\x0a\xff\xff\xff\xff\x0f garbage")
    with pytest.raises(FormatError):
        edgert.compile(path)
    path.write_bytes(b"")
    with pytest.raises(FormatError, match="no graph"):
        edgert.compile(path)


def _seed_models() -> list[onnx.ModelProto]:
    rng = np.random.default_rng(0)
    b = QDQ(rng, (1, 2, 6, 6), "int8")
    w, ws = b.weight((3, 2, 3, 3), 0)
    b.stage("Conv", [b.act(), w, b.bias(3, np.float32(0.02) * ws)], (1, 3, 6, 6), 0.05, act="Relu", pads=[1, 1, 1, 1])
    b.stage("MaxPool", [b.act()], (1, 3, 3, 3), 0.05, kernel_shape=[2, 2], strides=[2, 2])
    b.stage("GlobalAveragePool", [b.act()], (1, 3, 1, 1), 0.02)
    qdq = b.build()
    inits = [init("as", np.float32(0.03)), init("azp", np.uint8(7)), init("b", rng.integers(0, 255, (2, 8, 3), np.uint8)),
             init("bs", np.float32(0.01)), init("bzp", np.uint8(3)), init("ys", np.float32(0.05)), init("yzp", np.uint8(9))]
    node = helper.make_node("QLinearMatMul", ["a", "as", "azp", "b", "bs", "bzp", "ys", "yzp"], ["y"])
    qop = model([node], [value("a", "uint8", (2, 4, 8))], [value("y", "uint8", [])], inits, opset=21)
    return [qdq, qop]


SEEDS = _seed_models()


def _compile_and_run(compiled_from) -> None:
    """Compile (any edgert error is a fine answer); if it compiles, the C backend runs it."""
    try:
        compiled = edgert.compile(compiled_from)
    except EdgertError:
        return
    feed = {t.name: np.zeros(t.shape, t.dtype) for t in (compiled.graph.tensors[i] for i in compiled.graph.inputs)}
    try:
        Session(compiled, backend="c").run(feed)
    except EdgertError:
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, len(SEEDS) - 1), data=st.data())
def test_mutated_model_bytes_raise_only_edgert_errors(which, data):
    raw = bytearray(SEEDS[which].SerializeToString())
    kind = data.draw(st.sampled_from(["flip", "truncate", "insert", "set"]))
    pos = data.draw(st.integers(0, len(raw) - 1))
    if kind == "flip":
        raw[pos] ^= 1 << data.draw(st.integers(0, 7))
    elif kind == "truncate":
        del raw[pos:]
    elif kind == "insert":
        raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=8))
    else:
        raw[pos] = data.draw(st.sampled_from([0x00, 0x7F, 0x80, 0xFF]))
    try:
        graph = from_bytes(bytes(raw), where="mutated.onnx")
    except EdgertError:
        return
    _compile_and_run(graph)


HOSTILE_INTS = st.one_of(st.integers(-3, 12), st.sampled_from([0, -1, 2**31 - 1, -2**31, 2**40, 1 << 20]))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, len(SEEDS) - 1), data=st.data())
def test_mutated_model_fields_raise_only_edgert_errors(which, data):
    """Structure-aware mutations the byte flips rarely reach: attribute values, tensor dims,
    op types, input wiring, graph input shapes."""
    m = onnx.ModelProto()
    m.CopyFrom(SEEDS[which])
    g = m.graph
    kind = data.draw(st.sampled_from(["attr", "dims", "op", "wire", "input_shape", "dtype"]))
    node = g.node[data.draw(st.integers(0, len(g.node) - 1))]
    if kind == "attr" and node.attribute:
        a = node.attribute[data.draw(st.integers(0, len(node.attribute) - 1))]
        if a.ints:
            a.ints[data.draw(st.integers(0, len(a.ints) - 1))] = data.draw(HOSTILE_INTS)
        else:
            a.i = data.draw(HOSTILE_INTS)
    elif kind == "dims" and g.initializer:
        t = g.initializer[data.draw(st.integers(0, len(g.initializer) - 1))]
        if t.dims:
            t.dims[data.draw(st.integers(0, len(t.dims) - 1))] = data.draw(HOSTILE_INTS)
        else:
            t.dims.append(data.draw(HOSTILE_INTS))
    elif kind == "op":
        node.op_type = data.draw(st.sampled_from(["Conv", "MatMul", "Gemm", "Add", "MaxPool", "AveragePool",
                                                  "QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger",
                                                  "QuantizeLinear", "DequantizeLinear", "Relu", "Clip", "Reshape",
                                                  "Flatten", "GlobalAveragePool", "Identity"]))
    elif kind == "wire" and node.input:
        names = [i.name for i in g.initializer] + [o for n in g.node for o in n.output] + ["", "nowhere"]
        node.input[data.draw(st.integers(0, len(node.input) - 1))] = data.draw(st.sampled_from(names))
    elif kind == "input_shape":
        dims = g.input[0].type.tensor_type.shape.dim
        dims[data.draw(st.integers(0, len(dims) - 1))].dim_value = data.draw(HOSTILE_INTS.filter(lambda v: v < 2**62))
    elif kind == "dtype" and g.initializer:
        t = g.initializer[data.draw(st.integers(0, len(g.initializer) - 1))]
        t.data_type = data.draw(st.sampled_from([1, 2, 3, 5, 6, 7, 10, 11]))
    _compile_and_run(m)
