"""Writer and strict reader of the .ert model format (docs/ert-format.md).

The reader trusts nothing: every offset, size, count and index is checked before use, and
every failure is a FormatError naming the field. Nothing is allocated from a size the file
claims before that size has been checked against the file's real length.
"""
from __future__ import annotations

import json
import math
import struct
import zlib

import numpy as np

from edgert.errors import FormatError

from .ir import ARENA, CONST, STATE, Graph, Node, Quant, Tensor

MAGIC = b"ERT\0"
VERSION = (1, 0)
NONE = 0xFFFFFFFF
ALIGN = 16
MAX_RANK = 6
MAX_NODE_IO = 16
MAX_NODE_ATTRS = 64

HEADER = struct.Struct("<4sHHIIIIIIIIII16x")  # 64 bytes
SECTION = struct.Struct("<IIII")
TENSOR = struct.Struct("<IBBBx6iIIIiIIII")  # 64 bytes
NODE = struct.Struct("<IIIIIIIIII8x")  # 48 bytes
ATTR = struct.Struct("<IB3xII")  # 16 bytes

STRINGS, TENSORS, NODES, ATTRS, INDICES, DATA, META = range(1, 8)
SECTION_NAMES = {STRINGS: "STRINGS", TENSORS: "TENSORS", NODES: "NODES", ATTRS: "ATTRS",
                 INDICES: "INDICES", DATA: "DATA", META: "META"}
RECORD_SIZE = {STRINGS: 1, TENSORS: TENSOR.size, NODES: NODE.size, ATTRS: ATTR.size,
               INDICES: 4, DATA: 1, META: 1}

DTYPE_CODES = {"int8": 1, "uint8": 2, "int16": 3, "uint16": 4, "int32": 5, "uint32": 6,
               "float32": 7, "float64": 8, "bool": 9, "int64": 10}
DTYPE_NAMES = {v: k for k, v in DTYPE_CODES.items()}
STORAGE_CODES = {CONST: 0, ARENA: 1, STATE: 2}
STORAGE_NAMES = {v: k for k, v in STORAGE_CODES.items()}
ATTR_I32, ATTR_F32, ATTR_STR, ATTR_F64 = 1, 2, 3, 4
ATTR_DTYPES = {ATTR_I32: np.int32, ATTR_F32: np.float32, ATTR_F64: np.float64}


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


# ---------------------------------------------------------------------------------------
# Writer
# ---------------------------------------------------------------------------------------

class _Builder:
    def __init__(self):
        self.strings = bytearray()
        self.string_refs: dict[str, int] = {}
        self.data = bytearray()

    def string(self, s: str) -> int:
        if s not in self.string_refs:
            self.string_refs[s] = len(self.strings)
            self.strings += s.encode("utf-8") + b"\0"
        return self.string_refs[s]

    def blob(self, raw: bytes) -> int:
        self.data += b"\0" * (_align(len(self.data)) - len(self.data))
        offset = len(self.data)
        self.data += raw
        return offset


def _attr_value(name: str, value):
    """Map a Python attribute value to (type code, count, payload bytes or string)."""
    if isinstance(value, str):
        return ATTR_STR, 1, value
    arr = np.asarray(value)
    if arr.dtype == np.bool_ or np.issubdtype(arr.dtype, np.integer):
        if arr.size and (arr.min() < -2**31 or arr.max() >= 2**31):
            raise FormatError(f"attribute {name!r}: integer value does not fit int32")
        return ATTR_I32, arr.size, arr.astype("<i4").tobytes()
    if arr.dtype == np.float64 and isinstance(value, np.ndarray):
        return ATTR_F64, arr.size, arr.astype("<f8").tobytes()
    if np.issubdtype(arr.dtype, np.floating):
        return ATTR_F32, arr.size, arr.astype("<f4").tobytes()
    raise FormatError(f"attribute {name!r}: unsupported value type {type(value).__name__}")


def write_ert(graph: Graph, arena_size: int, meta: dict | None = None) -> bytes:
    """Serialise a planned graph (tensor offsets set by the planner) into .ert bytes."""
    b = _Builder()
    tensor_records = []
    for t in graph.tensors:
        if len(t.shape) > MAX_RANK:
            raise FormatError(f"tensor {t.name!r}: rank {len(t.shape)} exceeds {MAX_RANK}")
        shape = list(t.shape) + [0] * (MAX_RANK - len(t.shape))
        if t.storage == CONST:
            offset = b.blob(np.ascontiguousarray(t.data).astype(np.dtype(t.dtype).newbyteorder("<")).tobytes())
        else:
            offset = t.offset
        qc, qaxis, scales, zps = 0, 0, NONE, NONE
        if t.quant is not None:
            qc, qaxis = t.quant.scale.size, t.quant.axis if t.quant.per_channel else 0
            scales = b.blob(t.quant.scale.astype("<f4").tobytes())
            zps = b.blob(t.quant.zero_point.astype("<i4").tobytes())
        init = NONE
        if t.storage == STATE and t.init is not None:
            init = b.blob(np.asarray(t.init, dtype=t.dtype).astype(np.dtype(t.dtype).newbyteorder("<")).tobytes())
        tensor_records.append(TENSOR.pack(b.string(t.name), DTYPE_CODES[t.dtype], len(t.shape),
                                          STORAGE_CODES[t.storage], *shape, offset, t.nbytes,
                                          qc, qaxis, scales, zps, init, 0))
    indices: list[int] = []
    attr_records = []
    node_records = []
    for n in graph.nodes:
        if len(n.inputs) > MAX_NODE_IO or len(n.outputs) > MAX_NODE_IO or len(n.attrs) > MAX_NODE_ATTRS:
            raise FormatError(f"node {n.name!r}: too many inputs, outputs or attributes")
        ins_first = len(indices)
        indices += n.inputs
        outs_first = len(indices)
        indices += n.outputs
        attrs_first = len(attr_records)
        for name, value in n.attrs.items():
            kind, count, payload = _attr_value(name, value)
            ref = b.string(payload) if kind == ATTR_STR else b.blob(payload)
            attr_records.append(ATTR.pack(b.string(name), kind, count, ref))
        node_records.append(NODE.pack(b.string(n.op), b.string(n.name), ins_first, len(n.inputs),
                                      outs_first, len(n.outputs), attrs_first, len(n.attrs),
                                      n.scratch_offset if n.scratch else 0, n.scratch))
    inputs_first = len(indices)
    indices += graph.inputs
    outputs_first = len(indices)
    indices += graph.outputs

    sections = [
        (STRINGS, bytes(b.strings), len(b.strings)),
        (TENSORS, b"".join(tensor_records), len(tensor_records)),
        (NODES, b"".join(node_records), len(node_records)),
        (ATTRS, b"".join(attr_records), len(attr_records)),
        (INDICES, np.asarray(indices, dtype="<i4").tobytes(), len(indices)),
        (DATA, bytes(b.data), len(b.data)),
    ]
    if meta:
        raw = json.dumps(meta, sort_keys=True).encode("utf-8")
        sections.append((META, raw, len(raw)))

    table_offset = HEADER.size
    offset = _align(table_offset + SECTION.size * len(sections))
    table, body = [], bytearray()
    for kind, raw, count in sections:
        table.append(SECTION.pack(kind, offset, len(raw), count))
        body += raw + b"\0" * (_align(len(raw)) - len(raw))
        offset += _align(len(raw))
    head_len = _align(table_offset + SECTION.size * len(sections))
    file_size = head_len + len(body)
    header = HEADER.pack(MAGIC, *VERSION, file_size, 0, 0, arena_size, len(sections), table_offset,
                         inputs_first, len(graph.inputs), outputs_first, len(graph.outputs))
    out = bytearray(header + b"".join(table))
    out += b"\0" * (head_len - len(out))
    out += body
    struct.pack_into("<I", out, 12, zlib.crc32(out))
    return bytes(out)


# ---------------------------------------------------------------------------------------
# Reader
# ---------------------------------------------------------------------------------------

class ErtFile:
    """A parsed, validated .ert file: the graph, the memory plan and the metadata."""

    def __init__(self, graph: Graph, arena_size: int, meta: dict, raw: bytes):
        self.graph = graph
        self.arena_size = arena_size
        self.meta = meta
        self.raw = raw


def _check(cond: bool, what: str):
    if not cond:
        raise FormatError(f"invalid .ert file: {what}")


def read_ert(raw: bytes) -> ErtFile:
    raw = bytes(raw)
    _check(len(raw) >= HEADER.size, f"file is {len(raw)} bytes, shorter than the 64-byte header")
    (magic, major, minor, file_size, crc, flags, arena_size, n_sections, table_offset,
     inputs_first, n_inputs, outputs_first, n_outputs) = HEADER.unpack_from(raw, 0)
    _check(magic == MAGIC, f"bad magic {magic!r} (not an .ert file)")
    _check(major == VERSION[0], f"version {major}.{minor} is not supported (this reader reads {VERSION[0]}.x)")
    _check(file_size == len(raw), f"header says {file_size} bytes but the file has {len(raw)} (truncated or padded)")
    body = bytearray(raw)
    body[12:16] = b"\0\0\0\0"
    _check(zlib.crc32(body) == crc, "CRC mismatch (file corrupted)")
    _check(flags == 0, f"unknown flags 0x{flags:x}")
    _check(arena_size % ALIGN == 0, f"arena_size {arena_size} is not a multiple of {ALIGN}")
    _check(1 <= n_sections <= 16, f"section_count {n_sections} outside 1..16")
    _check(table_offset >= HEADER.size and table_offset % 4 == 0
           and table_offset + SECTION.size * n_sections <= len(raw),
           "section table outside the file or misaligned")

    sections: dict[int, tuple[int, int, int]] = {}
    spans = []
    for i in range(n_sections):
        kind, off, size, count = SECTION.unpack_from(raw, table_offset + SECTION.size * i)
        name = SECTION_NAMES.get(kind, f"kind {kind}")
        _check(off % ALIGN == 0, f"section {name} offset {off} not {ALIGN}-aligned")
        _check(off >= table_offset + SECTION.size * n_sections and off + size <= len(raw),
               f"section {name} [{off}, {off + size}) outside the file")
        for a, b in spans:
            _check(off + size <= a or off >= b or size == 0, f"section {name} overlaps another section")
        spans.append((off, off + size))
        if kind in RECORD_SIZE:
            _check(kind not in sections, f"section {name} appears twice")
            _check(size == count * RECORD_SIZE[kind], f"section {name}: size {size} != count {count} x {RECORD_SIZE[kind]}")
            sections[kind] = (off, size, count)
    for kind in (STRINGS, TENSORS, NODES, ATTRS, INDICES, DATA):
        _check(kind in sections, f"required section {SECTION_NAMES[kind]} missing")

    s_off, s_size, _ = sections[STRINGS]
    _check(s_size == 0 or raw[s_off + s_size - 1] == 0, "STRINGS does not end in a NUL")
    d_off, d_size, _ = sections[DATA]
    i_off, _, n_idx = sections[INDICES]
    indices = np.frombuffer(raw, dtype="<i4", count=n_idx, offset=i_off)

    def string(ref: int, what: str) -> str:
        _check(ref < s_size, f"{what}: string reference {ref} outside STRINGS ({s_size} bytes)")
        end = raw.find(b"\0", s_off + ref, s_off + s_size)
        _check(end >= 0, f"{what}: unterminated string")
        try:
            return raw[s_off + ref:end].decode("utf-8")
        except UnicodeDecodeError:
            raise FormatError(f"invalid .ert file: {what}: string is not UTF-8") from None

    def data(offset: int, nbytes: int, what: str) -> bytes:
        _check(offset != NONE and offset + nbytes <= d_size, f"{what}: data [{offset}, +{nbytes}) outside DATA ({d_size} bytes)")
        return raw[d_off + offset:d_off + offset + nbytes]

    graph = Graph()
    t_off, _, n_tensors = sections[TENSORS]
    for i in range(n_tensors):
        (name_ref, dtype, rank, storage, *rest) = TENSOR.unpack_from(raw, t_off + TENSOR.size * i)
        shape, (offset, nbytes, qc, qaxis, scales, zps, init, _res) = rest[:MAX_RANK], rest[MAX_RANK:]
        name = string(name_ref, f"tensor {i} name")
        what = f"tensor {i} ({name!r})"
        _check(dtype in DTYPE_NAMES, f"{what}: unknown dtype code {dtype}")
        _check(rank <= MAX_RANK, f"{what}: rank {rank} > {MAX_RANK}")
        _check(storage in STORAGE_NAMES, f"{what}: unknown storage code {storage}")
        _check(all(d >= 0 for d in shape[:rank]) and all(d == 0 for d in shape[rank:]), f"{what}: bad shape {shape}")
        dt = DTYPE_NAMES[dtype]
        elems = math.prod(shape[:rank])  # Python ints: no overflow for hostile shapes
        _check(elems * np.dtype(dt).itemsize == nbytes, f"{what}: nbytes {nbytes} does not match shape {shape[:rank]} of {dt}")
        quant = None
        if qc:
            _check(0 <= qaxis < max(rank, 1), f"{what}: quant_axis {qaxis} outside rank {rank}")
            _check(qc == 1 or (rank > 0 and qc == shape[qaxis]), f"{what}: quant_count {qc} does not match shape[{qaxis}]")
            sc = np.frombuffer(data(scales, 4 * qc, f"{what} scales"), "<f4")
            zp = np.frombuffer(data(zps, 4 * qc, f"{what} zero points"), "<i4")
            quant = Quant(sc.copy(), zp.copy(), qaxis)
        st = STORAGE_NAMES[storage]
        t = Tensor(name, dt, tuple(shape[:rank]), quant)
        t.storage = st
        if st == CONST:
            t.data = np.frombuffer(data(offset, nbytes, what), np.dtype(dt).newbyteorder("<")).astype(dt).reshape(t.shape)
        else:
            _check(offset % ALIGN == 0 and offset + nbytes <= arena_size, f"{what}: arena [{offset}, +{nbytes}) outside the {arena_size}-byte arena or misaligned")
            t.offset = offset
            if st == STATE and init != NONE:
                t.init = np.frombuffer(data(init, nbytes, f"{what} init"), np.dtype(dt).newbyteorder("<")).astype(dt).reshape(t.shape)
        graph.tensors.append(t)

    def index_range(first: int, count: int, what: str) -> list[int]:
        _check(first <= n_idx and count <= n_idx - first, f"{what}: indices [{first}, +{count}) outside INDICES ({n_idx})")
        out = [int(v) for v in indices[first:first + count]]
        return out

    a_off, _, n_attrs = sections[ATTRS]
    n_off, _, n_nodes = sections[NODES]
    for i in range(n_nodes):
        (op_ref, name_ref, ins_first, n_in, outs_first, n_out, attrs_first, n_at,
         scratch_offset, scratch) = NODE.unpack_from(raw, n_off + NODE.size * i)
        op = string(op_ref, f"node {i} op")
        name = string(name_ref, f"node {i} name")
        what = f"node {i} ({name!r}, {op})"
        _check(n_in <= MAX_NODE_IO and 1 <= n_out <= MAX_NODE_IO and n_at <= MAX_NODE_ATTRS, f"{what}: bad counts")
        ins = index_range(ins_first, n_in, f"{what} inputs")
        outs = index_range(outs_first, n_out, f"{what} outputs")
        _check(all(-1 <= k < n_tensors for k in ins), f"{what}: input tensor index out of range {ins}")
        _check(all(0 <= k < n_tensors and graph.tensors[k].storage != CONST for k in outs), f"{what}: output index out of range or constant {outs}")
        _check(attrs_first <= n_attrs and n_at <= n_attrs - attrs_first, f"{what}: attributes outside ATTRS")
        _check(scratch == 0 or (scratch_offset % ALIGN == 0 and scratch_offset + scratch <= arena_size), f"{what}: scratch outside the arena")
        attrs = {}
        for k in range(attrs_first, attrs_first + n_at):
            a_name_ref, kind, count, value = ATTR.unpack_from(raw, a_off + ATTR.size * k)
            a_name = string(a_name_ref, f"{what} attribute {k} name")
            _check(a_name not in attrs, f"{what}: duplicate attribute {a_name!r}")
            if kind == ATTR_STR:
                attrs[a_name] = string(value, f"{what} attribute {a_name!r}")
            else:
                _check(kind in ATTR_DTYPES, f"{what} attribute {a_name!r}: unknown type {kind}")
                dt = np.dtype(ATTR_DTYPES[kind])
                _check(count <= d_size // dt.itemsize, f"{what} attribute {a_name!r}: count {count} too large")
                arr = np.frombuffer(data(value, count * dt.itemsize, f"{what} attribute {a_name!r}"), dt.newbyteorder("<")).astype(dt)
                attrs[a_name] = arr if kind == ATTR_F64 else (arr.item() if count == 1 else arr.tolist())
        node = Node(op, ins, outs, attrs, name, scratch, scratch_offset)
        graph.nodes.append(node)

    slots = [t.offset + _align(max(t.nbytes, 1)) for t in graph.tensors if t.storage != CONST]
    slots += [n.scratch_offset + _align(n.scratch) for n in graph.nodes if n.scratch]
    _check(arena_size <= max(slots, default=0),
           f"arena_size {arena_size} exceeds the highest tensor or scratch slot {max(slots, default=0)}")

    graph.inputs = index_range(inputs_first, n_inputs, "graph inputs")
    graph.outputs = index_range(outputs_first, n_outputs, "graph outputs")
    _check(n_inputs >= 1 and n_outputs >= 1, "graph needs at least one input and one output")
    for k in graph.inputs + graph.outputs:
        _check(0 <= k < n_tensors and graph.tensors[k].storage == ARENA, f"graph input/output {k} is not an arena tensor")

    meta = {}
    if META in sections:
        m_off, m_size, _ = sections[META]
        try:
            meta = json.loads(raw[m_off:m_off + m_size].decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise FormatError("invalid .ert file: META is not UTF-8 JSON") from None
        _check(isinstance(meta, dict), "META is not a JSON object")
    graph.meta = meta
    return ErtFile(graph, arena_size, meta, raw)
