"""The C ONNX kernels against hostile .ert files: compiled ONNX models whose op attributes or
tensor shapes are rewritten (re-planned and re-serialised, so only the kernels' load-time
checks stand in the way), and byte mutations with the CRC fixed up. Every outcome is an edgert
error or a clean run, never a crash or an out-of-bounds access."""
import copy
import struct
import zlib

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import edgert
from edgert.errors import EdgertError
from edgert.native import NativeModel
from edgert.runtime import planner
from edgert.runtime.format import write_ert

import qdq_models as zoo
from test_onnx_float import cnn

MODELS = [edgert.compile(zoo.chain(np.random.default_rng(0))[0]),
          edgert.compile(zoo.add(np.random.default_rng(1), dtype="int8")[0]),
          edgert.compile(zoo.matmul(np.random.default_rng(2))[0]),
          edgert.compile(cnn(np.random.default_rng(3)))]
HOSTILE = st.one_of(st.integers(-3, 40), st.sampled_from([-2**31, 2**31 - 1, 1 << 16, 1 << 20, -129, 256]))


def run_native(raw: bytes) -> None:
    try:
        m = NativeModel(raw)
    except EdgertError:
        return
    for k in range(len(m.inputs)):
        m.view(m.inputs[k])[...] = 0
    try:
        m.invoke()
    except EdgertError:
        pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, len(MODELS) - 1), data=st.data())
def test_rewritten_attrs_and_shapes(which, data):
    graph = copy.deepcopy(MODELS[which].graph)
    for _ in range(data.draw(st.integers(1, 3))):
        node = graph.nodes[data.draw(st.integers(0, len(graph.nodes) - 1))]
        if data.draw(st.booleans()) and node.attrs:
            key = data.draw(st.sampled_from(sorted(node.attrs)))
            value = node.attrs[key]
            if isinstance(value, list) and value and data.draw(st.booleans()):
                value = list(value)
                value[data.draw(st.integers(0, len(value) - 1))] = data.draw(HOSTILE)
            elif isinstance(value, list) and data.draw(st.booleans()):
                value = list(value) + [1] if data.draw(st.booleans()) else list(value)[:-1] or [0]
            elif isinstance(value, float) or (isinstance(value, list) and value and isinstance(value[0], float)):
                value = data.draw(st.sampled_from([0.0, -1.0, float("inf"), float("nan"), 1e30]))
            elif isinstance(value, str):
                continue
            else:
                value = data.draw(HOSTILE)
            node.attrs[key] = value
        else:
            t = graph.tensors[data.draw(st.sampled_from(node.inputs + node.outputs))]
            if t.storage != "arena" or not t.shape:
                continue
            shape = list(t.shape)
            shape[data.draw(st.integers(0, len(shape) - 1))] = data.draw(st.integers(1, 40))
            t.shape = tuple(shape)
    try:
        raw = write_ert(graph, planner.plan(graph), {"family": "onnx"})
    except EdgertError:
        return
    run_native(raw)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, len(MODELS) - 1), data=st.data())
def test_mutated_ert_bytes_with_fixed_crc(which, data):
    raw = bytearray(MODELS[which].ert)
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(64, len(raw) - 4))
        if data.draw(st.booleans()):
            raw[pos] ^= 1 << data.draw(st.integers(0, 7))
        else:
            struct.pack_into("<I", raw, pos & ~3, data.draw(st.sampled_from([0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF])))
    struct.pack_into("<I", raw, 12, 0)
    struct.pack_into("<I", raw, 12, zlib.crc32(raw))
    run_native(bytes(raw))
