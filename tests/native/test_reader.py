"""The C .ert reader and interpreter: valid files load and run, every accessor returns what
the writer stored, and hostile files are rejected with a clean error (never a crash/hang)."""
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgert.errors import EdgertError, FormatError, InputError, UnsupportedOpError
from edgert.native import NativeModel, ffi, lib, op_names
from edgert.runtime.format import write_ert
from edgert.runtime.ir import Graph, Tensor

from .models import reshape_chain, rich_model


def refresh_crc(raw: bytearray) -> bytes:
    """Recompute the header CRC so a mutation reaches the checks behind it."""
    struct.pack_into("<I", raw, 12, 0)
    struct.pack_into("<I", raw, 12, zlib.crc32(raw))
    return bytes(raw)


def test_reshape_chain_runs_and_copies():
    m = NativeModel(reshape_chain(3))
    x = np.arange(-8, 8, dtype=np.int8).reshape(2, 8)
    m.set_input(0, x)
    assert m.invoke(activity=True).shape == (3, 4)
    np.testing.assert_array_equal(m.output(0), x.reshape(-1))
    assert [n.op for n in m.nodes] == ["RESHAPE"] * 3


def test_accessors_return_what_the_writer_stored():
    m = NativeModel(rich_model())
    ctx = m._ctx
    t = ffi.new("ert_tensor *")
    assert lib.ert_input(ctx, 0, 1, t) == ffi.NULL          # absent optional input
    assert lib.ert_input_index(ctx, 0, 1) == -1
    assert lib.ert_input_index(ctx, 0, 4) == -1             # past n_inputs
    w = lib.ert_input(ctx, 0, 2, t)
    assert ffi.unpack(ffi.cast("int8_t *", w), 12) == list(range(12))
    assert [lib.ert_scale(ctx, t, c) for c in range(3)] == pytest.approx([0.1, 0.2, 0.3])
    assert [lib.ert_zero_point(ctx, t, c) for c in range(3)] == [0, 1, 2]
    assert lib.ert_scale(ctx, t, 99) == pytest.approx(0.1)  # out-of-range channel clamps to 0
    state = lib.ert_input(ctx, 0, 3, t)
    assert ffi.unpack(ffi.cast("int32_t *", state), 4) == [1, 2, 3, 4]   # init loaded at reset
    assert lib.ert_attr_i32(ctx, 0, b"axis", -7) == 1
    assert lib.ert_attr_i32(ctx, 0, b"missing", -7) == -7
    assert lib.ert_attr_i32(ctx, 0, b"alpha", -7) == -7      # wrong type reads as absent
    assert lib.ert_attr_f32(ctx, 0, b"alpha", 0.0) == 0.25
    assert lib.ert_attr_f64(ctx, 0, b"beta", 0.0) == 1.5
    assert ffi.string(lib.ert_attr_str(ctx, 0, b"mode")) == b"edge"
    n = ffi.new("uint32_t *")
    dims = lib.ert_attr_i32s(ctx, 0, b"dims", n)
    assert ffi.unpack(dims, n[0]) == [1, 2, 3]
    assert lib.ert_scratch(ctx, 0, n) == ffi.NULL and n[0] == 0


def test_state_survives_invoke_and_reset_restores_it():
    m = NativeModel(rich_model())
    m.view(2)[...] = 99
    m.set_input(0, np.ones(4, np.float32))
    m.invoke()
    assert (m.view(2) == 99).all()
    m.reset()
    np.testing.assert_array_equal(m.view(2), [1, 2, 3, 4])


def test_unknown_op_is_named():
    g = Graph()
    x = g.add_tensor(Tensor("x", "int8", (4,), offset=0))
    y = g.add_tensor(Tensor("y", "int8", (4,), offset=16))
    g.add_node("FROBNICATE", [x], [y], name="frob")
    g.inputs, g.outputs = [x], [y]
    with pytest.raises(UnsupportedOpError, match="FROBNICATE.*frob"):
        NativeModel(write_ert(g, 32))
    assert "RESHAPE" in op_names()


def test_op_check_failure_names_node():
    g = Graph()
    x = g.add_tensor(Tensor("x", "int8", (4,), offset=0))
    y = g.add_tensor(Tensor("y", "int8", (5,), offset=16))
    g.add_node("RESHAPE", [x], [y], name="bad_reshape")
    g.inputs, g.outputs = [x], [y]
    with pytest.raises(EdgertError, match="bad_reshape.*sizes differ"):
        NativeModel(write_ert(g, 32))


def test_wrong_input_is_input_error():
    m = NativeModel(reshape_chain())
    with pytest.raises(InputError, match="int8 \\(2, 8\\)"):
        m.set_input(0, np.zeros((2, 8), np.float32))
    with pytest.raises(InputError):
        m.set_input("nope", np.zeros((2, 8), np.int8))


@pytest.mark.parametrize("field,value,what", [
    (0, b"XRT\0", "magic"), (4, struct.pack("<H", 2), "major version"),
    (16, struct.pack("<I", 1), "flags"), (20, struct.pack("<I", 8), "arena_size"),
    (24, struct.pack("<I", 17), "section_count"), (28, struct.pack("<I", 1 << 30), "section_table"),
    (36, struct.pack("<I", 0), "graph inputs"), (44, struct.pack("<I", 1000), "graph outputs"),
])
def test_header_fields_are_checked(field, value, what):
    raw = bytearray(reshape_chain())
    raw[field:field + len(value)] = value
    with pytest.raises(FormatError):
        NativeModel(refresh_crc(raw))


def test_crc_and_truncation():
    raw = reshape_chain()
    with pytest.raises(FormatError, match="CRC"):
        NativeModel(raw[:-1] + bytes([raw[-1] ^ 1]))
    with pytest.raises(FormatError, match="file_size"):
        NativeModel(raw[:-16])
    with pytest.raises(FormatError, match="header"):
        NativeModel(raw[:10])


def _section(raw: bytes, kind: int) -> tuple[int, int, int]:
    count, table = struct.unpack_from("<II", raw, 24)
    for i in range(count):
        k, off, size, n = struct.unpack_from("<IIII", raw, table + 16 * i)
        if k == kind:
            return table + 16 * i, off, n
    raise KeyError(kind)


@pytest.mark.parametrize("kind,field,value", [
    (2, 36, 0xFFFFFFF0),   # tensor nbytes inflated
    (2, 8, 0x7FFFFFFF),    # tensor dim inflated
    (2, 32, 0xFFFFFFF0),   # tensor offset far outside the arena
    (2, 0, 0xFFFFFF00),    # tensor name reference
    (3, 12, 0xFFFFFFFF),   # node n_inputs
    (3, 8, 0x7FFFFFFF),    # node inputs_first
    (3, 36, 0x7FFFFFF0),   # node scratch size
])
def test_inflated_record_fields(kind, field, value):
    raw = bytearray(rich_model())
    _, off, _ = _section(raw, kind)
    struct.pack_into("<I", raw, off + field, value)
    with pytest.raises(FormatError):
        NativeModel(refresh_crc(raw))


def test_inflated_section_count():
    raw = bytearray(reshape_chain())
    entry, _, n = _section(raw, 2)
    struct.pack_into("<I", raw, entry + 12, n + 1000)
    with pytest.raises(FormatError, match="count"):
        NativeModel(refresh_crc(raw))


VALID = [reshape_chain(), rich_model()]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.sampled_from(range(len(VALID))), data=st.data())
def test_mutated_files_never_crash(which, data):
    """Flip bytes, overwrite u32 fields with extreme values, truncate; the CRC is fixed up
    half of the time so the structural checks behind it are reached."""
    raw = bytearray(VALID[which])
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 4))
        kind = data.draw(st.sampled_from(["flip", "u32"]))
        if kind == "flip":
            raw[pos] ^= 1 << data.draw(st.integers(0, 7))
        else:
            value = data.draw(st.sampled_from([0, 1, 15, 16, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
                                               len(raw), len(raw) + 16]))
            struct.pack_into("<I", raw, pos & ~3, value)
    if data.draw(st.booleans()):
        raw = raw[:data.draw(st.integers(0, len(raw)))]
    if data.draw(st.booleans()) and len(raw) >= 16:
        raw = bytearray(refresh_crc(raw))
    try:
        m = NativeModel(bytes(raw))
    except EdgertError:
        return
    # whatever loads must also run without touching memory outside its arena
    for k in range(len(m.inputs)):
        m.view(m.inputs[k])[...] = 0
    try:
        m.invoke()
    except EdgertError:
        pass


def test_inflated_arena_size_is_refused_before_any_allocation():
    raw = bytearray(reshape_chain())
    struct.pack_into("<I", raw, 20, 0x7FFFFFF0)   # 2 GiB that no tensor uses
    with pytest.raises(FormatError, match="arena_size exceeds"):
        NativeModel(refresh_crc(raw))


def test_op_table_is_sorted_for_binary_search():
    names = [n.encode() for n in op_names()]
    assert names == sorted(names) and len(set(names)) == len(names)
    for n in op_names():   # every op is found by its own name
        assert lib.ert_find_op(n.encode()) != ffi.NULL
