"""Python face of the C runtime (native/src, compiled by native/build.py into `_ert`).

    m = NativeModel(ert_bytes)           # validates the file, resolves every op, resets
    m.set_input(0, x)                    # by graph-input position or tensor name
    activity = m.invoke(activity=True)   # (n_nodes, 4) uint32 counters, or None
    y = m.output(0)                      # a copy of graph output 0
    m.invoke_node(i)                     # one node (per-node observers, profiling)
    m.view(t)                            # numpy view of tensor t in the arena / constants
    m.reset()                            # zero the arena, reload STATE initial values

Errors: FormatError (file rejected), UnsupportedOpError (op unknown to the C runtime),
ModelError (op check or kernel failure), InputError (wrong input); every message names the
C status, the failed check and the node.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgert.errors import FormatError, InputError, ModelError, UnsupportedOpError

try:
    from ._ert import ffi, lib
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        "edgert's C runtime (edgert.native._ert) is not built: reinstall with "
        "`pip install -e .` (needs a C compiler) or run `python native/build.py`") from exc

NP_DTYPES = {1: np.int8, 2: np.uint8, 3: np.int16, 4: np.uint16, 5: np.int32, 6: np.uint32,
             7: np.float32, 8: np.float64, 9: np.bool_, 10: np.int64}
STORAGE = {0: "const", 1: "arena", 2: "state"}
N_ACTIVITY = 4
# status codes that mean the file itself is bad (ert.h)
_FORMAT_STATUSES = {1, 2, 3, 4, 5, 6, 7, 8, 9}
_UNSUPPORTED_OP = 10


def status_name(code: int) -> str:
    return ffi.string(lib.ert_status_name(code)).decode()


def op_names() -> list[str]:
    """Ops the C runtime implements."""
    return [ffi.string(lib.ert_op_name(i)).decode() for i in range(lib.ert_op_count())]


def _aligned(nbytes: int, align: int = 16) -> np.ndarray:
    raw = np.zeros(nbytes + align, dtype=np.uint8)
    start = (-raw.ctypes.data) % align
    return raw[start:start + nbytes]


@dataclass(frozen=True)
class TensorInfo:
    index: int
    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    storage: str
    offset: int
    nbytes: int


@dataclass(frozen=True)
class NodeInfo:
    index: int
    op: str
    name: str
    inputs: tuple[int, ...]   # tensor indices, -1 for an absent optional input
    outputs: tuple[int, ...]


class NativeModel:
    """A validated .ert model bound to its own 16-byte-aligned copy and activation arena."""

    def __init__(self, ert: bytes):
        ert = bytes(ert)
        self._buf = _aligned(max(len(ert), 1))
        self._buf[:len(ert)] = np.frombuffer(ert, dtype=np.uint8)
        self._ctx = ffi.new("ert_ctx *")
        self._detail = ffi.new("const char **")
        model = ffi.new("ert_model *")
        # parse first: the header's arena_size may only be trusted once the file is valid
        code = lib.ert_model_parse(model, ffi.from_buffer(self._buf), len(ert), self._detail)
        if code:
            raise FormatError(f".ert file rejected ({status_name(code)}): "
                              f"{ffi.string(self._detail[0]).decode(errors='replace')}")
        self._arena = _aligned(model.arena_size)
        code = lib.ert_init(self._ctx, ffi.from_buffer(self._buf), len(ert),
                            ffi.from_buffer(self._arena), model.arena_size)
        self._check(code)
        m = self._ctx.model
        self.arena_size = m.arena_size
        self.tensors = [self._tensor_info(i) for i in range(m.n_tensors)]
        self.nodes = [self._node_info(i) for i in range(m.n_nodes)]
        self.inputs = [lib.ert_index(ffi.addressof(m), m.inputs_first + k) for k in range(m.n_inputs)]
        self.outputs = [lib.ert_index(ffi.addressof(m), m.outputs_first + k) for k in range(m.n_outputs)]
        self._data_base = self._section_offset(6)  # DATA: where CONST tensor views start

    # ---- description ----
    def _tensor_info(self, i: int) -> TensorInfo:
        t = ffi.new("ert_tensor *")
        lib.ert_tensor_get(ffi.addressof(self._ctx.model), i, t)
        return TensorInfo(i, ffi.string(t.name).decode(errors="replace"), np.dtype(NP_DTYPES[t.dtype]),
                          tuple(t.shape[k] for k in range(t.rank)), STORAGE[t.storage], t.offset, t.nbytes)

    def _node_info(self, i: int) -> NodeInfo:
        n = ffi.new("ert_node *")
        m = ffi.addressof(self._ctx.model)
        lib.ert_node_get(m, i, n)
        return NodeInfo(i, ffi.string(n.op).decode(errors="replace"), ffi.string(n.name).decode(errors="replace"),
                        tuple(lib.ert_index(m, n.inputs_first + k) for k in range(n.n_inputs)),
                        tuple(lib.ert_index(m, n.outputs_first + k) for k in range(n.n_outputs)))

    def _section_offset(self, kind: int) -> int:
        """File offset of a section (the file was validated, so the table is sound)."""
        raw = self._buf
        count, table = (int(v) for v in raw[24:32].view("<u4"))
        for e in raw[table:table + 16 * count].view("<u4").reshape(-1, 4):
            if int(e[0]) == kind:
                return int(e[1])
        return 0

    def _check(self, code: int, node: int | None = None) -> None:
        if not code:
            return
        detail = ffi.string(self._ctx.error_detail).decode(errors="replace") if self._ctx.error_detail else ""
        where = self._ctx.error_node if node is None else node
        if where == 0xFFFFFFFF:
            where = None
        node_desc = ""
        if where is not None:
            n = ffi.new("ert_node *")
            if lib.ert_node_get(ffi.addressof(self._ctx.model), where, n) == 0:
                node_desc = (f" in node {where} '{ffi.string(n.name).decode(errors='replace')}' "
                             f"({ffi.string(n.op).decode(errors='replace')})")
        if code == _UNSUPPORTED_OP:
            raise UnsupportedOpError(f"op '{detail}'{node_desc} is not implemented by the C runtime "
                                     f"(it has: {', '.join(op_names())})")
        if code in _FORMAT_STATUSES:
            raise FormatError(f".ert file rejected ({status_name(code)}): {detail}{node_desc}")
        raise ModelError(f"C runtime error {status_name(code)}{node_desc}: {detail}")

    # ---- tensors ----
    def tensor_index(self, key: int | str, role: str = "input") -> int:
        """Tensor index of graph input/output `key` (position or tensor name)."""
        ios = self.inputs if role == "input" else self.outputs
        if isinstance(key, str):
            for t in ios:
                if self.tensors[t].name == key:
                    return t
            raise InputError(f"no graph {role} named '{key}' (have: {[self.tensors[t].name for t in ios]})")
        if not 0 <= key < len(ios):
            raise InputError(f"graph {role} {key} out of range: the model has {len(ios)}")
        return ios[key]

    def view(self, t: int) -> np.ndarray:
        """numpy view of tensor t: live arena bytes for ARENA/STATE, read-only for CONST."""
        info = self.tensors[t]
        base = self._buf[self._data_base:] if info.storage == "const" else self._arena
        v = base[info.offset:info.offset + info.nbytes].view(info.dtype).reshape(info.shape)
        if info.storage == "const":
            v = v.view()
            v.flags.writeable = False
        return v

    def set_input(self, key: int | str, value) -> None:
        info = self.tensors[self.tensor_index(key, "input")]
        arr = np.asarray(value)
        if arr.dtype != info.dtype or arr.shape != info.shape:
            raise InputError(f"input '{info.name}' must be {info.dtype} {info.shape}, "
                             f"got {arr.dtype} {arr.shape}")
        self.view(info.index)[...] = arr

    def output(self, key: int | str = 0) -> np.ndarray:
        return self.view(self.tensor_index(key, "output")).copy()

    # ---- execution ----
    def reset(self) -> None:
        lib.ert_reset(self._ctx)

    def invoke(self, activity: bool | None = None) -> np.ndarray | None:
        """Run every node. With activity=True, return (n_nodes, 4) uint32 activity counters."""
        if not activity:
            self._check(lib.ert_invoke(self._ctx, ffi.NULL))
            return None
        counters = np.zeros((len(self.nodes), N_ACTIVITY), dtype=np.uint32)
        self._check(lib.ert_invoke(self._ctx, ffi.from_buffer("uint32_t[]", counters)))
        return counters

    def invoke_node(self, i: int) -> np.ndarray:
        """Run node i alone; returns its 4 activity counters."""
        if not 0 <= i < len(self.nodes):
            raise InputError(f"node {i} out of range: the model has {len(self.nodes)}")
        counters = np.zeros(N_ACTIVITY, dtype=np.uint32)
        self._check(lib.ert_invoke_node(self._ctx, i, ffi.from_buffer("uint32_t[]", counters)))
        return counters
