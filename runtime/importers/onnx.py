"""ONNX importer: a .onnx file or an in-memory onnx.ModelProto -> Graph (docs/onnx.md).

Tensors keep ONNX's NCHW layout. The walk visits nodes in file order (ONNX requires a
topological order) and keeps, per ONNX value name, either a constant (initializer, Constant
node, or a graph input bound with `constants=`), a runtime tensor of the Graph, or a *deferred
DequantizeLinear*: the float value DQ(q) is only materialised when a float op needs it, so
that DQ -> op -> QuantizeLinear chains fuse into integer ops (runtime/importers/onnx_ops.py).

Options:
  constants    {graph input name: array}: bind graph inputs as constants (e.g. the scales and
               zero points the ONNX node tests feed as inputs); quantization parameters must
               be constants, so this is how a model that feeds them as inputs compiles.
  input_shapes {graph input name: shape}: fix symbolic or unknown dimensions.
  batch_size   int: fix a symbolic leading (batch) dimension of every graph input.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgert.errors import FormatError, ModelError, UnsupportedOpError

from ..ir import Graph, Quant, Tensor

OPTIONS = ("constants", "input_shapes", "batch_size")
# Far above any edge model, far below a hostile allocation: elements per tensor, and bytes of
# all activations together (the arena can be no larger).
MAX_ELEMENTS = 1 << 24
MAX_ACTIVATION_BYTES = 1 << 28

# TensorProto.DataType -> numpy dtype name, for the types edgert's ONNX path handles
DTYPES = {1: "float32", 2: "uint8", 3: "int8", 6: "int32", 7: "int64"}
DTYPE_NAMES = {0: "UNDEFINED", 1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32",
               7: "INT64", 8: "STRING", 9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64",
               16: "BFLOAT16"}


def load(path, **options) -> Graph:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ModelError(f"{path}: cannot read ({e.strerror})") from None
    return from_bytes(raw, where=path.name, **options)


def from_bytes(raw: bytes, where: str = "<bytes>", **options) -> Graph:
    import onnx
    from google.protobuf.message import DecodeError

    model = onnx.ModelProto()
    try:
        model.ParseFromString(bytes(raw))
    except (DecodeError, ValueError, RuntimeError) as e:
        raise FormatError(f"{where}: not a valid ONNX protobuf ({e})") from None
    return from_proto(model, where=where, **options)


def from_proto(model, where: str = "ModelProto", **options) -> Graph:
    """Import an onnx.ModelProto held in memory."""
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise ModelError(f"{where}: unknown ONNX import option(s) {sorted(unknown)}; known: {list(OPTIONS)}")
    if not model.HasField("graph") or not model.graph.node:
        raise FormatError(f"{where}: ONNX model has no graph or no nodes")
    walk = Walk(model, where, options)
    for node in model.graph.node:
        if not (node.output and node.output[0] in walk.fused):
            convert(walk, node)
    walk.finish()
    return walk.graph


def convert(walk: "Walk", node) -> None:
    """Dispatch one ONNX node to its converter (onnx_ops.py, onnx_fused.py)."""
    from . import onnx_fused, onnx_ops

    converters = {**onnx_ops.CONVERTERS, **onnx_fused.CONVERTERS}
    if node.domain not in ("", "ai.onnx"):
        raise UnsupportedOpError(f"{walk.where}: node {node_label(node)}: operator domain {node.domain!r} is not "
                                 "supported (edgert handles the default ONNX domain)")
    fn = converters.get(node.op_type)
    if fn is None:
        raise UnsupportedOpError(f"{walk.where}: node {node_label(node)}: ONNX op {node.op_type} is not supported; "
                                 "supported: " + ", ".join(sorted(converters)))
    for name in node.input:
        if name:
            walk.require(node, name)
    if len(node.output) < 1 or not node.output[0]:
        raise FormatError(f"{walk.where}: node {node_label(node)} has no output")
    fn(walk, node, onnx_ops.Node(walk, node))


@dataclass
class Deferred:
    """The float value DequantizeLinear(source) that no node has produced yet."""
    source: str  # ONNX name of the quantized value (runtime tensor or constant)
    scale: np.ndarray  # float32, 1 or per-channel values
    zero_point: np.ndarray  # int32, same size
    axis: int  # normalised channel axis (meaningful when per channel)

    @property
    def per_tensor(self) -> bool:
        return self.scale.size == 1


class Walk:
    """State of one import: the Graph being built and what each ONNX value name stands for."""

    def __init__(self, model, where: str, options: dict):
        self.where = where
        self.graph = Graph(meta={"source_format": "onnx", "family": "onnx",
                                 "opset": {d.domain or "ai.onnx": int(d.version) for d in model.opset_import}})
        self.consts: dict[str, np.ndarray] = {}
        self.tensors: dict[str, int] = {}  # ONNX name -> Graph tensor index
        self.deferred: dict[str, Deferred] = {}
        self.fused: set[str] = set()  # first outputs of nodes already folded into an earlier one
        self.activation_bytes = 0
        g = model.graph
        self.outputs = [o.name for o in g.output]
        self.consumers: dict[str, list] = {}
        for node in g.node:
            for name in node.input:
                if name:
                    self.consumers.setdefault(name, []).append(node)
        for init in g.initializer:
            self.consts[init.name] = tensor_array(init, f"initializer {init.name!r}", where)
        bound = options.get("constants") or {}
        inputs = [vi for vi in g.input if vi.name not in self.consts]
        names = {vi.name for vi in inputs}
        stray = set(bound) - names
        if stray:
            raise ModelError(f"{where}: constants= names {sorted(stray)} are not graph inputs; inputs: {sorted(names)}")
        for vi in inputs:
            if vi.name in bound:
                self.consts[vi.name] = self._bound(vi, bound[vi.name])
            else:
                shape = self._input_shape(vi, options)
                self.graph.inputs.append(self.add(vi.name, value_dtype(vi, where), shape))
        if not self.graph.inputs:
            raise ModelError(f"{where}: every graph input is constant; nothing to run")

    def _bound(self, vi, value) -> np.ndarray:
        """A constants= value in the graph input's declared type (Python floats become float32)."""
        dtype = value_dtype(vi, self.where)
        raw = np.asarray(value)
        data = raw.astype(dtype)
        if not np.array_equal(data.astype(raw.dtype), raw, equal_nan=raw.dtype.kind == "f"):
            raise ModelError(f"{self.where}: constants={{{vi.name!r}: ...}} does not fit the input's type {dtype}")
        return data

    def _input_shape(self, vi, options) -> tuple[int, ...]:
        fixed = (options.get("input_shapes") or {}).get(vi.name)
        if fixed is not None:
            return check_shape(tuple(int(d) for d in fixed), f"input {vi.name!r}", self.where)
        t = vi.type.tensor_type
        if not t.HasField("shape"):
            raise ModelError(f"{self.where}: graph input {vi.name!r} has no shape; pass input_shapes={{{vi.name!r}: (...)}}")
        shape = []
        for axis, d in enumerate(t.shape.dim):
            if d.HasField("dim_value") and d.dim_value > 0:
                shape.append(int(d.dim_value))
            elif axis == 0 and options.get("batch_size"):
                shape.append(int(options["batch_size"]))
            else:
                label = d.dim_param or "?"
                raise ModelError(f"{self.where}: graph input {vi.name!r} has a non-static dimension {label!r} at "
                                 f"axis {axis}; edgert needs static shapes: pass batch_size=N (leading axis) or "
                                 f"input_shapes={{{vi.name!r}: (...)}}")
        return check_shape(tuple(shape), f"input {vi.name!r}", self.where)

    # -- values ---------------------------------------------------------------------------
    def add(self, name: str, dtype: str, shape, quant: Quant | None = None, data=None) -> int:
        if name in self.tensors:
            raise FormatError(f"{self.where}: value {name!r} is produced twice")
        check_shape(tuple(shape), f"value {name!r}", self.where)
        self.tensors[name] = self.graph.add_tensor(Tensor(name, dtype, tuple(shape), quant=quant, data=data))
        if data is None:
            self.activation_bytes += self.graph.tensors[-1].nbytes
            if self.activation_bytes > MAX_ACTIVATION_BYTES:
                raise ModelError(f"{self.where}: activations exceed {MAX_ACTIVATION_BYTES >> 20} MiB at {name!r}; "
                                 "edgert targets edge models (check the input shapes)")
        return self.tensors[name]

    def known(self, name: str) -> bool:
        return name in self.consts or name in self.tensors or name in self.deferred

    def require(self, node, name: str) -> None:
        if not self.known(name):
            raise FormatError(f"{self.where}: node {node_label(node)} reads {name!r}, which no earlier node, "
                              "initializer or graph input defines")

    def const(self, node, name: str, what: str) -> np.ndarray:
        """A value that must be known at compile time (initializer / Constant / bound input)."""
        self.require(node, name)
        if name in self.deferred and self.deferred[name].source in self.consts:
            return self.dequantized_const(name)
        if name not in self.consts:
            raise ModelError(f"{self.where}: node {node_label(node)}: {what} {name!r} must be a constant "
                             f"(an initializer), but it is computed at run time; if it is a graph input, "
                             f"bind it with compile(..., constants={{{name!r}: value}})")
        return self.consts[name]

    def dequantized_const(self, name: str) -> np.ndarray:
        d = self.deferred[name]
        q = self.consts[d.source]
        scale, zp = broadcast_params(d, q.ndim)
        return (q.astype(np.float32) - zp.astype(np.float32)) * scale

    def tensor(self, node, name: str) -> int:
        """Graph tensor index of a value, materialising constants and deferred DQs."""
        self.require(node, name)
        if name in self.tensors:
            return self.tensors[name]
        if name in self.deferred:
            d = self.deferred[name]
            if d.source in self.consts:
                return self.add(name, "float32", self.consts[d.source].shape, data=self.dequantized_const(name))
            src = self.graph.tensors[self.tensor(node, d.source)]
            out = self.add(name, "float32", src.shape)
            self.graph.add_node("ONNX_DEQUANTIZE_LINEAR", [self.tensors[d.source]], [out],
                                quant_attrs(d.scale, d.zero_point, d.axis), name=f"{name}_dequantize")
            return out
        data = self.consts[name]
        return self.add(name, array_dtype(data, name, self.where), data.shape, data=data)

    def info(self, node, name: str) -> tuple[str, tuple[int, ...]]:
        """(dtype, shape) of any value."""
        self.require(node, name)
        if name in self.tensors:
            t = self.graph.tensors[self.tensors[name]]
            return t.dtype, t.shape
        if name in self.deferred:
            return "float32", self.info(node, self.deferred[name].source)[1]
        data = self.consts[name]
        return array_dtype(data, name, self.where), tuple(data.shape)

    def only_consumer(self, name: str):
        """The single node reading `name`, when it has exactly one and is no graph output."""
        users = self.consumers.get(name, [])
        if len(users) == 1 and name not in self.outputs:
            return users[0]
        return None

    def finish(self) -> None:
        for name in self.outputs:
            if name in self.consts and name not in self.tensors and name not in self.deferred:
                raise ModelError(f"{self.where}: graph output {name!r} is a constant; nothing computes it")
            if not self.known(name):
                raise FormatError(f"{self.where}: graph output {name!r} is never produced")
            self.graph.outputs.append(self.tensor(None, name))


# -- helpers shared with onnx_ops ---------------------------------------------------------

def node_label(node) -> str:
    if node is None:
        return "(graph outputs)"
    return f"{node.op_type} {node.name!r}" if node.name else f"{node.op_type} (output {list(node.output)[:1]})"


def check_shape(shape: tuple[int, ...], what: str, where: str) -> tuple[int, ...]:
    if any(d < 0 for d in shape):
        raise ModelError(f"{where}: {what} has a negative dimension {shape}")
    if int(np.prod(shape, dtype=object)) > MAX_ELEMENTS:
        raise ModelError(f"{where}: {what} has shape {shape}, over {MAX_ELEMENTS} elements")
    return shape


def value_dtype(vi, where: str) -> str:
    elem = vi.type.tensor_type.elem_type
    if elem not in DTYPES:
        raise UnsupportedOpError(f"{where}: graph input {vi.name!r} has element type "
                                 f"{DTYPE_NAMES.get(elem, elem)}; edgert's ONNX path takes "
                                 "FLOAT, UINT8, INT8, INT32 and INT64")
    return DTYPES[elem]


def array_dtype(data: np.ndarray, name: str, where: str) -> str:
    if data.dtype.name not in DTYPES.values():
        raise UnsupportedOpError(f"{where}: value {name!r} has dtype {data.dtype}; edgert's ONNX path "
                                 "takes float32, uint8, int8, int32 and int64")
    return data.dtype.name


def tensor_array(proto, what: str, where: str) -> np.ndarray:
    """TensorProto -> ndarray, checking sizes before anything is allocated from them."""
    from onnx import numpy_helper

    dims = tuple(int(d) for d in proto.dims)
    check_shape(dims, what, where)
    if proto.data_type not in DTYPES:
        raise UnsupportedOpError(f"{where}: {what} has element type {DTYPE_NAMES.get(proto.data_type, proto.data_type)}; "
                                 "edgert's ONNX path takes FLOAT, UINT8, INT8, INT32 and INT64")
    if proto.HasField("data_location") and proto.data_location == 1:
        raise ModelError(f"{where}: {what} keeps its data in an external file; load the model with "
                         "onnx.load(path) (which resolves external data) and pass the ModelProto")
    n = int(np.prod(dims, dtype=np.int64))
    if proto.HasField("raw_data"):
        if len(proto.raw_data) != n * np.dtype(DTYPES[proto.data_type]).itemsize:
            raise FormatError(f"{where}: {what}: raw_data holds {len(proto.raw_data)} bytes for shape {dims}")
    try:
        return np.array(numpy_helper.to_array(proto))
    except (ValueError, TypeError, OverflowError) as e:
        raise FormatError(f"{where}: {what}: malformed tensor data ({e})") from None


def broadcast_params(d: Deferred, ndim: int) -> tuple[np.ndarray, np.ndarray]:
    if d.per_tensor:
        return d.scale.reshape(()), d.zero_point.reshape(())
    shape = [1] * ndim
    shape[d.axis] = d.scale.size
    return d.scale.reshape(shape), d.zero_point.reshape(shape)


def quant_attrs(scale: np.ndarray, zero_point: np.ndarray, axis: int) -> dict:
    return {"scale": [float(s) for s in scale.reshape(-1)], "zero_point": [int(z) for z in zero_point.reshape(-1)],
            "axis": int(axis)}
