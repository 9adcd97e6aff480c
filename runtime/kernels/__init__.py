"""Kernel registry for the Python backends (numpy reference and Numba).

Each module in this package registers its ops on import:

    @kernel("CONV_2D", "numpy")
    def conv2d(call: Call) -> list[np.ndarray]: ...

    op_info("CONV_2D", macs=conv2d_macs, activity=())

A kernel gets a `Call` (the node, the graph's tensors, the input arrays) and returns its
output arrays in node-output order; it may set `call.activity` (up to four counters, named
by `op_info(..., activity=(...))`, in the same order the C kernel reports them).
The C kernels live in native/ and run through the C interpreter instead.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..ir import Node, Tensor

BACKENDS = ("numpy", "numba")


@dataclass
class Call:
    node: Node
    tensors: list[Tensor]
    inputs: list[np.ndarray | None]
    activity: tuple[int, ...] = ()

    def attr(self, name, default=None):
        return self.node.attrs.get(name, default)

    def in_tensor(self, k: int) -> Tensor | None:
        i = self.node.inputs[k] if k < len(self.node.inputs) else -1
        return self.tensors[i] if i >= 0 else None

    def out_tensor(self, k: int) -> Tensor:
        return self.tensors[self.node.outputs[k]]


@dataclass
class OpInfo:
    macs: Callable[[Node, list[Tensor]], int] | None = None
    activity: tuple[str, ...] = ()
    family: str = ""
    inplace: tuple[int, ...] = ()  # inputs whose buffer output 0 may reuse (element-wise ops)


_kernels: dict[tuple[str, str], Callable[[Call], list[np.ndarray]]] = {}
_info: dict[str, OpInfo] = {}
_loaded = False


def kernel(op: str, *backends: str):
    def register(fn):
        for backend in backends:
            if backend not in BACKENDS:
                raise ValueError(f"unknown backend {backend!r}")
            _kernels[(op, backend)] = fn
        return fn
    return register


def op_info(op: str, macs=None, activity: tuple[str, ...] = (), family: str = "", inplace: tuple[int, ...] = ()) -> None:
    """`inplace`: input positions whose arena bytes output 0 may overwrite when that input is
    read by no later node and has the output's size (the kernel must then cope with the
    output aliasing that input element for element)."""
    _info[op] = OpInfo(macs, tuple(activity), family, tuple(inplace))


def _load_all() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for mod in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{mod.name}")


def lookup(op: str, backend: str):
    _load_all()
    return _kernels.get((op, backend))


def info(op: str) -> OpInfo:
    _load_all()
    return _info.get(op, OpInfo())


def known_ops(backend: str = "numpy") -> set[str]:
    _load_all()
    return {op for op, b in _kernels if b == backend}


def macs(node: Node, tensors: list[Tensor]) -> int:
    fn = info(node.op).macs
    return int(fn(node, tensors)) if fn else 0
