"""Static memory plan: place every arena tensor and scratch buffer at a fixed offset.

Greedy by size, as TFLite Micro's GreedyMemoryPlanner does: the largest buffers are placed
first, each at the lowest 16-aligned offset that does not overlap a buffer whose lifetime
(first write .. last read, in node steps) intersects its own.
"""
from __future__ import annotations

from .ir import ARENA, STATE, Graph

ALIGN = 16


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def lifetimes(graph: Graph) -> dict[int, list[int]]:
    """Tensor index -> [first step, last step]; graph inputs are live from step -1, outputs and
    state tensors until the end."""
    end = len(graph.nodes)
    live: dict[int, list[int]] = {}
    for i in graph.inputs:
        live[i] = [-1, -1]
    for step, node in enumerate(graph.nodes):
        for t in node.outputs:
            live.setdefault(t, [step, step])
        for t in node.inputs + node.outputs:
            if t >= 0 and t in live:
                live[t][1] = max(live[t][1], step)
    for i in graph.outputs:
        live.setdefault(i, [-1, end])[1] = end
    for i, t in enumerate(graph.tensors):
        if t.storage == STATE:
            live[i] = [-1, end]
    return live


def plan(graph: Graph) -> int:
    """Assign offsets in place (tensor.offset, node.scratch_offset); return the arena size."""
    live = lifetimes(graph)
    buffers = []  # (size, first, last, setter)
    for i, (first, last) in live.items():
        t = graph.tensors[i]
        if t.storage in (ARENA, STATE):
            buffers.append((_align(max(t.nbytes, 1)), first, last, ("tensor", i)))
    for step, node in enumerate(graph.nodes):
        if node.scratch:
            buffers.append((_align(node.scratch), step, step, ("scratch", step)))
    placed: list[tuple[int, int, int, int]] = []  # (offset, size, first, last)
    arena = 0
    for size, first, last, (kind, idx) in sorted(buffers, key=lambda b: (-b[0], b[1])):
        overlapping = sorted((o, s) for o, s, f, l in placed if not (l < first or f > last))
        offset = 0
        for o, s in overlapping:
            if offset + size <= o:
                break
            offset = max(offset, o + s)
        placed.append((offset, size, first, last))
        arena = max(arena, offset + size)
        if kind == "tensor":
            graph.tensors[idx].offset = offset
        else:
            graph.nodes[idx].scratch_offset = offset
    return _align(arena)
