"""The graph IR every importer produces and the compiler consumes.

A Graph is a list of tensors and a list of nodes in execution order; nodes refer to tensors
by index. Constants carry their data; quantized tensors carry their scales and zero points.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "float32", "float64", "bool", "int64")

# Storage classes: where a tensor's bytes live at run time.
CONST, ARENA, STATE = "const", "arena", "state"


@dataclass
class Quant:
    """Affine quantization: real = scale * (q - zero_point), per tensor or along `axis`."""
    scale: np.ndarray  # float32, shape (n,)
    zero_point: np.ndarray  # int32, shape (n,)
    axis: int = 0

    def __post_init__(self):
        self.scale = np.atleast_1d(np.asarray(self.scale, dtype=np.float32))
        self.zero_point = np.atleast_1d(np.asarray(self.zero_point, dtype=np.int32))
        if self.zero_point.size == 1 and self.scale.size > 1:
            self.zero_point = np.full(self.scale.size, self.zero_point[0], np.int32)

    @property
    def per_channel(self) -> bool:
        return self.scale.size > 1


@dataclass
class Tensor:
    name: str
    dtype: str
    shape: tuple[int, ...]
    quant: Quant | None = None
    data: np.ndarray | None = None  # constants only
    storage: str = ARENA  # CONST when data is set (see __post_init__), STATE for persistent state
    init: np.ndarray | None = None  # STATE only: initial value (None = zeros)
    offset: int = -1  # arena offset (ARENA, STATE), set by the memory planner

    def __post_init__(self):
        self.shape = tuple(int(d) for d in self.shape)
        if self.dtype not in DTYPES:
            raise ValueError(f"tensor {self.name!r}: unknown dtype {self.dtype!r}")
        if self.data is not None:
            self.data = np.ascontiguousarray(self.data, dtype=self.dtype).reshape(self.shape)
            self.storage = CONST

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize


@dataclass
class Node:
    op: str
    inputs: list[int]  # tensor indices; -1 for an absent optional input
    outputs: list[int]
    attrs: dict = field(default_factory=dict)  # name -> int | float | str | list / ndarray
    name: str = ""
    scratch: int = 0  # bytes of scratch memory the kernel needs
    scratch_offset: int = 0  # arena offset of the scratch, set by the memory planner


@dataclass
class Graph:
    tensors: list[Tensor] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def add_tensor(self, tensor: Tensor) -> int:
        self.tensors.append(tensor)
        return len(self.tensors) - 1

    def add_node(self, op: str, inputs, outputs, attrs=None, name: str = "", scratch: int = 0) -> Node:
        node = Node(op, list(inputs), list(outputs), dict(attrs or {}), name or f"{op.lower()}_{len(self.nodes)}", scratch)
        self.nodes.append(node)
        return node

    def tensor_by_name(self, name: str) -> int:
        for i, t in enumerate(self.tensors):
            if t.name == name:
                return i
        raise KeyError(name)
