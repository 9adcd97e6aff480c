"""Compiler: Graph -> validated, planned, serialised .ert Model."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgert.errors import FormatError, ModelError, UnsupportedOpError

from . import kernels, planner
from .format import read_ert, write_ert
from .importers import import_model
from .ir import ARENA, CONST, STATE, Graph

PRODUCER = "edgert 0.1.0"


@dataclass
class Model:
    """A compiled model: the .ert bytes and the graph they encode."""
    ert: bytes
    graph: Graph
    arena_size: int
    meta: dict

    @classmethod
    def from_bytes(cls, raw: bytes) -> "Model":
        f = read_ert(raw)
        return cls(f.raw, f.graph, f.arena_size, f.meta)

    def save(self, path) -> None:
        Path(path).write_bytes(self.ert)

    @property
    def weight_bytes(self) -> int:
        return sum(t.nbytes for t in self.graph.tensors if t.storage == CONST)

    @property
    def macs(self) -> int:
        return sum(kernels.macs(n, self.graph.tensors) for n in self.graph.nodes)

    @property
    def family(self) -> str:
        return self.meta.get("family", "")


def load(path) -> Model:
    """Load a compiled .ert file (validated), or compile any other model file."""
    path = Path(path)
    if path.suffix.lower() != ".ert":
        return compile(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ModelError(f"{path}: cannot read ({e.strerror})") from None
    return Model.from_bytes(raw)


def _validate(graph: Graph) -> None:
    n = len(graph.tensors)
    known = kernels.known_ops("numpy")
    if not graph.inputs or not graph.outputs:
        raise ModelError("graph has no inputs or no outputs")
    written = set(graph.inputs)
    for i, t in enumerate(graph.tensors):
        if t.storage in (CONST, STATE):
            written.add(i)
    for node in graph.nodes:
        if node.op not in known:
            raise UnsupportedOpError(f"op {node.op} (node {node.name!r}) is not supported; supported ops: "
                                     + ", ".join(sorted(known)))
        for t in node.inputs:
            if t >= n:
                raise ModelError(f"node {node.name!r}: input tensor {t} does not exist")
            if t >= 0 and t not in written:
                raise ModelError(f"node {node.name!r}: reads tensor {graph.tensors[t].name!r} before anything writes it")
        for t in node.outputs:
            if not 0 <= t < n or graph.tensors[t].storage == CONST:
                raise ModelError(f"node {node.name!r}: output {t} is missing or constant")
            written.add(t)
    for t in graph.outputs:
        if t not in written:
            raise ModelError(f"graph output {graph.tensors[t].name!r} is never written")


def _prune(graph: Graph) -> Graph:
    """Drop tensors no node, input or output refers to; renumber the rest."""
    used = set(graph.inputs) | set(graph.outputs)
    for node in graph.nodes:
        used.update(i for i in node.inputs + node.outputs if i >= 0)
    used.update(i for i, t in enumerate(graph.tensors) if t.storage == STATE)
    order = sorted(used)
    remap = {old: new for new, old in enumerate(order)}
    graph.tensors = [graph.tensors[i] for i in order]
    for node in graph.nodes:
        node.inputs = [remap[i] if i >= 0 else -1 for i in node.inputs]
        node.outputs = [remap[i] for i in node.outputs]
    graph.inputs = [remap[i] for i in graph.inputs]
    graph.outputs = [remap[i] for i in graph.outputs]
    return graph


def _io_in_arena(graph: Graph) -> None:
    """Graph inputs and outputs must be plain arena tensors (the caller reads and writes them)."""
    for i in graph.inputs + graph.outputs:
        if graph.tensors[i].storage != ARENA:
            raise ModelError(f"graph input/output {graph.tensors[i].name!r} must be an activation, "
                             f"not {graph.tensors[i].storage}")


def compile(src, **options) -> Model:
    """Import (if needed), validate, plan memory and serialise a model to .ert."""
    source_name = str(src) if isinstance(src, (str, Path)) else type(src).__name__
    if isinstance(src, (str, Path)) and Path(src).suffix.lower() == ".ert":
        return load(src)
    graph = import_model(src, **options)
    graph = _prune(graph)
    _validate(graph)
    _io_in_arena(graph)
    arena = planner.plan(graph)
    meta = dict(graph.meta)
    meta.setdefault("producer", PRODUCER)
    meta.setdefault("source", Path(source_name).name)
    if isinstance(src, (str, Path)):
        meta.setdefault("source_sha256", hashlib.sha256(Path(src).read_bytes()).hexdigest())
    try:
        raw = write_ert(graph, arena, meta)
    except FormatError as e:
        raise ModelError(f"cannot serialise model: {e}") from None
    return Model.from_bytes(raw)
