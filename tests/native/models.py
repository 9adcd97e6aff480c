"""Small hand-planned .ert models for the C runtime tests (written by runtime/format.py)."""
from __future__ import annotations

import numpy as np

from edgert.runtime.format import write_ert
from edgert.runtime.ir import STATE, Graph, Quant, Tensor


def reshape_chain(n_nodes: int = 2, shape=(2, 8)) -> bytes:
    """int8 input -> RESHAPE x n_nodes -> output; tensors alternate between two arena slots."""
    g = Graph()
    size = int(np.prod(shape))
    slot = (size + 15) // 16 * 16
    flat = (size,)
    prev = g.add_tensor(Tensor("x", "int8", shape, quant=Quant([0.5], [3]), offset=0))
    for i in range(n_nodes):
        out_shape = flat if i % 2 == 0 else shape
        t = g.add_tensor(Tensor(f"t{i}", "int8", out_shape, quant=Quant([0.5], [3]), offset=slot * ((i + 1) % 2)))
        g.add_node("RESHAPE", [prev], [t], {"new_shape": list(out_shape)}, name=f"reshape_{i}")
        prev = t
    g.inputs, g.outputs = [0], [prev]
    return write_ert(g, 2 * slot, meta={"family": "int8"})


def rich_model() -> bytes:
    """Every record kind: per-channel CONST, STATE with init, string/float/double attrs."""
    g = Graph()
    x = g.add_tensor(Tensor("x", "float32", (4,), offset=0))
    w = g.add_tensor(Tensor("w", "int8", (3, 4), quant=Quant([0.1, 0.2, 0.3], [0, 1, 2], axis=0),
                            data=np.arange(12, dtype=np.int8).reshape(3, 4)))
    s = g.add_tensor(Tensor("state", "int32", (4,), storage=STATE, init=np.array([1, 2, 3, 4]), offset=32))
    y = g.add_tensor(Tensor("y", "float32", (4,), offset=16))
    g.add_node("RESHAPE", [x, -1, w, s], [y], {"axis": 1, "alpha": 0.25, "beta": np.array([1.5]),
                                              "mode": "edge", "dims": [1, 2, 3]}, name="only")
    g.inputs, g.outputs = [x], [y]
    return write_ert(g, 48)


def padded_model(pad_bytes: int) -> bytes:
    """reshape_chain's single RESHAPE plus a CONST input it ignores: an upload of any size."""
    g = Graph()
    x = g.add_tensor(Tensor("x", "int8", (2, 8), offset=0))
    w = g.add_tensor(Tensor("pad", "uint8", (pad_bytes,),
                            data=np.random.default_rng(pad_bytes).integers(0, 256, pad_bytes, dtype=np.uint8)))
    y = g.add_tensor(Tensor("y", "int8", (16,), offset=16))
    g.add_node("RESHAPE", [x, w], [y], name="reshape")
    g.inputs, g.outputs = [x], [y]
    return write_ert(g, 32)
