"""The .ert writer and strict reader: round trips, and hostile files rejected cleanly."""
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import edgert
from edgert.runtime import format as ert
from edgert.runtime import kernels, planner
from edgert.runtime.ir import STATE, Graph, Quant, Tensor


@kernels.kernel("TEST_SCALE_ADD", "numpy")
def _scale_add(call):
    x, w = call.inputs[0], call.inputs[1]
    return [(x.astype(np.float32) * call.attr("gain") + w).astype(call.out_tensor(0).dtype)]


def small_graph() -> Graph:
    g = Graph()
    x = g.add_tensor(Tensor("x", "float32", (1, 4)))
    w = g.add_tensor(Tensor("w", "float32", (4,), data=np.arange(4, dtype=np.float32)))
    h = g.add_tensor(Tensor("h", "float32", (1, 4)))
    y = g.add_tensor(Tensor("y", "float32", (1, 4)))
    q = g.add_tensor(Tensor("q", "int8", (3, 2), Quant([0.5, 0.25, 0.125], [0, 1, 2], axis=0),
                            data=np.arange(6, dtype=np.int8).reshape(3, 2)))
    s = g.add_tensor(Tensor("s", "int16", (2,), storage=STATE, init=np.array([7, -7], np.int16)))
    g.inputs, g.outputs = [x], [y]
    g.add_node("TEST_SCALE_ADD", [x, w], [h], {"gain": 2.0, "k": [1, 2, 3], "mode": "fast",
                                               "wide": np.array([0.1, 1e-300])})
    g.add_node("TEST_SCALE_ADD", [h, w, -1, q, s], [y], {"gain": 0.5})
    return g


def test_round_trip_preserves_everything():
    model = edgert.compile(small_graph())
    again = ert.read_ert(model.ert)
    g = again.graph
    assert [t.name for t in g.tensors] == ["x", "w", "h", "y", "q", "s"]
    assert g.tensors[4].quant.scale.tolist() == [0.5, 0.25, 0.125]
    assert g.tensors[4].quant.zero_point.tolist() == [0, 1, 2]
    assert g.tensors[4].data.tolist() == [[0, 1], [2, 3], [4, 5]]
    assert g.tensors[5].storage == STATE and g.tensors[5].init.tolist() == [7, -7]
    a = g.nodes[0].attrs
    assert a["gain"] == 2.0 and a["k"] == [1, 2, 3] and a["mode"] == "fast"
    assert a["wide"].dtype == np.float64 and a["wide"][1] == 1e-300
    assert g.nodes[1].inputs[2] == -1
    assert ert.write_ert(g, again.arena_size, again.meta) == model.ert
    y = edgert.Session(model, backend="numpy").run(np.ones((1, 4), np.float32))
    np.testing.assert_array_equal(y, ((np.ones(4) * 2 + np.arange(4)) * 0.5 + np.arange(4))[None])


def test_header_fields_and_alignment():
    raw = edgert.compile(small_graph()).ert
    magic, major, minor, size, crc = struct.unpack_from("<4sHHII", raw)
    assert (magic, major, minor, size) == (b"ERT\0", 1, 0, len(raw))
    n_sections, table = struct.unpack_from("<II", raw, 24)
    for i in range(n_sections):
        kind, off, length, count = struct.unpack_from("<IIII", raw, table + 16 * i)
        assert off % 16 == 0 and off + length <= len(raw)


def test_planner_never_overlaps_live_buffers():
    g = small_graph()
    edgert.compile(g)  # plans in place
    live = planner.lifetimes(g)
    spans = [(g.tensors[i].offset, g.tensors[i].nbytes, *live[i]) for i in live if g.tensors[i].storage != "const"]
    for a in spans:
        for b in spans:
            if a is b or a[3] < b[2] or b[3] < a[2]:
                continue
            assert a[0] + a[1] <= b[0] or b[0] + b[1] <= a[0]


def _refresh_crc(buf: bytearray) -> bytes:
    buf[12:16] = b"\0\0\0\0"
    struct.pack_into("<I", buf, 12, zlib.crc32(buf))
    return bytes(buf)


@pytest.mark.parametrize("mutate, message", [
    (lambda b: b[:40], "shorter than the 64-byte header"),
    (lambda b: b[:-16], "truncated"),
    (lambda b: b"XRT\0" + b[4:], "magic"),
    (lambda b: bytes(b[:100]) + bytes([b[100] ^ 0xFF]) + bytes(b[101:]), "CRC"),
])
def test_corrupt_files_named(mutate, message):
    raw = edgert.compile(small_graph()).ert
    with pytest.raises(edgert.FormatError, match=message):
        ert.read_ert(mutate(raw))


def test_version_rejected():
    raw = bytearray(edgert.compile(small_graph()).ert)
    struct.pack_into("<H", raw, 4, 2)
    with pytest.raises(edgert.FormatError, match="version 2.0"):
        ert.read_ert(_refresh_crc(raw))


VALID = edgert.compile(small_graph()).ert


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(64, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=8),
       st.booleans())
def test_mutated_files_fail_cleanly(edits, fix_crc):
    """Hostile edits past the header (with the CRC recomputed, so the parser's checks are
    reached) either still read or raise FormatError: never another exception."""
    buf = bytearray(VALID)
    for pos, value in edits:
        buf[pos] = value
    raw = _refresh_crc(buf) if fix_crc else bytes(buf)
    try:
        ert.read_ert(raw)
    except edgert.FormatError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 5), st.integers(0, 3), st.sampled_from([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 0x10000]))
def test_inflated_counts_and_offsets(section, field, value):
    """Section table entries set to huge or odd values are rejected, never allocated."""
    buf = bytearray(VALID)
    table = struct.unpack_from("<I", buf, 28)[0]
    struct.pack_into("<I", buf, table + 16 * section + 4 * field, value)
    try:
        ert.read_ert(_refresh_crc(buf))
    except edgert.FormatError:
        pass


def test_quantize_rounds_as_the_source_format():
    g = Graph()
    x = g.add_tensor(Tensor("x", "int8", (1, 4), Quant(0.5, 0)))
    y = g.add_tensor(Tensor("y", "float32", (1, 4)))
    w = g.add_tensor(Tensor("w", "float32", (4,), data=np.zeros(4, np.float32)))
    g.inputs, g.outputs = [x], [y]
    g.add_node("TEST_SCALE_ADD", [x, w], [y], {"gain": 1.0})
    ties = np.array([[0.25, 0.75, -0.25, -0.75]], np.float32)  # x / 0.5 = 0.5, 1.5, -0.5, -1.5
    tflite = edgert.Session(edgert.compile(g), backend="numpy")
    assert tflite.quantize(ties).tolist() == [[1, 2, -1, -2]]
    g.meta["source_format"] = "onnx"
    onnx = edgert.Session(edgert.compile(g), backend="numpy")
    assert onnx.quantize(ties).tolist() == [[0, 2, 0, -2]]


def test_arena_larger_than_any_tensor_is_rejected():
    """A hostile header must not make a reader allocate an arena no tensor uses."""
    buf = bytearray(VALID)
    struct.pack_into("<I", buf, 20, 1 << 30)
    with pytest.raises(edgert.FormatError, match="arena_size"):
        ert.read_ert(_refresh_crc(buf))
