"""Static memory plan: place every arena tensor and scratch buffer at a fixed offset.

Greedy by size, as TFLite Micro's GreedyMemoryPlanner does: the largest buffers are placed
first, each at the lowest 16-aligned offset that does not overlap a buffer whose lifetime
(first write .. last read, in node steps) intersects its own. Before that, the output of an
op registered as in-place (op_info(..., inplace=...): RESHAPE, element-wise ADD) shares the
buffer of an input of the same size that no later node reads.
"""
from __future__ import annotations

from . import kernels
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


def aliases(graph: Graph, live: dict[int, list[int]]) -> dict[int, int]:
    """Output tensor -> the tensor whose buffer it reuses (in-place ops)."""
    shared: dict[int, int] = {}
    keep = set(graph.inputs) | set(graph.outputs)
    for step, node in enumerate(graph.nodes):
        candidates = kernels.info(node.op).inplace
        if not candidates or not node.outputs or node.outputs[0] in keep:
            continue
        out = graph.tensors[node.outputs[0]]
        for k in candidates:
            t = node.inputs[k] if k < len(node.inputs) else -1
            src = graph.tensors[t] if t >= 0 else None
            if (src is not None and t not in keep and src.storage == ARENA == out.storage
                    and src.nbytes == out.nbytes and live[t][1] == step):
                shared[node.outputs[0]] = shared.get(t, t)
                break
    return shared


def plan(graph: Graph) -> int:
    """Assign offsets in place (tensor.offset, node.scratch_offset); return the arena size."""
    live = lifetimes(graph)
    shared = aliases(graph, live)
    groups: dict[int, list[int]] = {}  # buffer owner -> tensors stored in it
    for i in live:
        groups.setdefault(shared.get(i, i), []).append(i)
    buffers = []  # (size, first, last, kind, members)
    for owner, members in groups.items():
        if graph.tensors[owner].storage in (ARENA, STATE):
            size = max(graph.tensors[i].nbytes for i in members)
            buffers.append((_align(max(size, 1)), min(live[i][0] for i in members),
                            max(live[i][1] for i in members), "tensor", members))
    for step, node in enumerate(graph.nodes):
        if node.scratch:
            buffers.append((_align(node.scratch), step, step, "scratch", [step]))
    placed: list[tuple[int, int, int, int]] = []  # (offset, size, first, last)
    arena = 0
    for size, first, last, kind, members in sorted(buffers, key=lambda b: (-b[0], b[1])):
        overlapping = sorted((o, s) for o, s, f, l in placed if not (l < first or f > last))
        offset = 0
        for o, s in overlapping:
            if offset + size <= o:
                break
            offset = max(offset, o + s)
        placed.append((offset, size, first, last))
        arena = max(arena, offset + size)
        for idx in members:
            if kind == "tensor":
                graph.tensors[idx].offset = offset
            else:
                graph.nodes[idx].scratch_offset = offset
    return _align(arena)
