"""Tree ensembles (decision trees, forests, extra trees, gradient boosting, hist gradient boosting).

Constants (shared by every variant):
  nodes  int32 (N, 3): [feature, left, right] for a split; [leaf_row, -1, -1] for a leaf
  thresholds (N,): float32 (NN_TREES), float64 (NN_HIST_TREES) or int16 (NN_TREES_Q)
  leaves (n_leaves, L): float64, or int32 for NN_TREES_Q
Attrs: roots (first node of each tree), targets (first output column each tree adds to),
init (starting value of each output column), divisor (float ops: the sum is divided by it).

A split sends x to the left child when x[feature] <= threshold, as scikit-learn does:
NN_TREES compares float32 x with thresholds already rounded toward -inf to float32 (exactly
equivalent to sklearn's float32-x <= float64-threshold test), NN_HIST_TREES compares float64
values, NN_TREES_Q compares int16 values.

Trees are stored in preorder, so every child index is greater than its parent's: a walk that
checks `node < child < N` at each step ends within N steps even if the file was tampered with
(cycles, out-of-range children), and reports the bad node instead.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from edgert.errors import ModelError

from . import Call, kernel, op_info

TREE_OPS = ("NN_TREES", "NN_HIST_TREES", "NN_TREES_Q")


def _tables(call: Call):
    x, nodes, thresholds, leaves = call.inputs[:4]
    roots = np.atleast_1d(np.asarray(call.attr("roots"), np.int32))
    targets = np.atleast_1d(np.asarray(call.attr("targets"), np.int32))
    return x, nodes, thresholds, leaves, roots, targets


def _features(call: Call, x):
    if call.node.op == "NN_TREES":
        return x.astype(np.float32)  # sklearn's DTYPE cast of X
    return x


def _bad_tree(call: Call, node: int):
    raise ModelError(f"node {call.node.name!r} ({call.node.op}): tree table is corrupt at tree node {node} "
                     "(child out of range, not after its parent, or bad leaf/feature index); "
                     "the .ert file was damaged or tampered with — recompile it")


def _finish(call: Call, out):
    if call.node.op == "NN_TREES_Q":
        return [out]
    divisor = float(np.asarray(call.attr("divisor", np.float64([1.0])))[0])
    return [out / divisor]


def _check_tables(call: Call, nodes, leaves, roots, targets, n_features: int, n_out: int):
    """The whole table once per loaded model (as the C op's load-time check): every child after
    its parent and inside the table, every feature / leaf / root / target in range."""
    if getattr(call.node, "_tables_checked", False):
        return
    n = len(nodes)
    idx = np.arange(n)
    split = nodes[:, 1] != -1
    bad = split & ((nodes[:, 1] <= idx) | (nodes[:, 2] <= idx) | (nodes[:, 1] >= n) | (nodes[:, 2] >= n)
                   | (nodes[:, 0] < 0) | (nodes[:, 0] >= n_features))
    bad |= ~split & ((nodes[:, 0] < 0) | (nodes[:, 0] >= len(leaves)))
    if bad.any():
        _bad_tree(call, int(np.argmax(bad)))
    if ((roots < 0) | (roots >= n)).any() or ((targets < 0) | (targets + leaves.shape[1] > n_out)).any():
        _bad_tree(call, -1)
    call.node._tables_checked = True  # constants are read-only for the model's lifetime


@kernel("NN_TREES", "numpy")
@kernel("NN_HIST_TREES", "numpy")
@kernel("NN_TREES_Q", "numpy")
def trees_numpy(call: Call):
    x, nodes, thresholds, leaves, roots, targets = _tables(call)
    xs = _features(call, x)
    batch, n_out = call.out_tensor(0).shape[0], int(np.prod(call.out_tensor(0).shape[1:], dtype=np.int64))
    _check_tables(call, nodes, leaves, roots, targets, xs.shape[1], n_out)
    acc_dtype = np.int32 if call.node.op == "NN_TREES_Q" else np.float64
    out = np.tile(np.atleast_1d(np.asarray(call.attr("init"), acc_dtype)).reshape(1, n_out), (batch, 1))
    rows = np.arange(batch)
    visited = 0
    width = leaves.shape[1]
    for root, target in zip(roots, targets):  # tree order = sklearn's summation order
        node = np.full(batch, root, np.int64)
        while True:  # every step moves each unfinished row to a higher node index: <= N steps
            active = nodes[node, 1] != -1
            if not active.any():
                break
            visited += int(active.sum())
            a = node[active]
            go_left = xs[rows[active], nodes[a, 0]] <= thresholds[a]
            node[active] = np.where(go_left, nodes[a, 1], nodes[a, 2])
        visited += batch  # the leaves
        out[:, target:target + width] += leaves[nodes[node, 0]]
    call.activity = (visited, batch * len(roots))
    return _finish(call, out.reshape(call.out_tensor(0).shape))


@njit(cache=True)
def _walk_all(xs, nodes, thresholds, leaves, roots, targets, out):
    """Adds every tree's leaf to out; returns (status, nodes visited): status -1 = ok, else bad node."""
    n = nodes.shape[0]
    n_features = xs.shape[1]
    width = leaves.shape[1]
    visited = 0
    for t in range(roots.shape[0]):  # tree by tree over all rows, as the C kernel (cache)
        for r in range(xs.shape[0]):
            node = roots[t]
            if node < 0 or node >= n:
                return node, visited
            while nodes[node, 1] != -1:
                f = nodes[node, 0]
                if f < 0 or f >= n_features:
                    return node, visited
                child = nodes[node, 1] if xs[r, f] <= thresholds[node] else nodes[node, 2]
                if child <= node or child >= n:
                    return node, visited
                node = child
                visited += 1
            visited += 1
            leaf = nodes[node, 0]
            target = targets[t]
            if leaf < 0 or leaf >= leaves.shape[0] or target < 0 or target + width > out.shape[1]:
                return node, visited
            for k in range(width):
                out[r, target + k] += leaves[leaf, k]
    return -1, visited


@kernel("NN_TREES", "numba")
@kernel("NN_HIST_TREES", "numba")
@kernel("NN_TREES_Q", "numba")
def trees_numba(call: Call):
    x, nodes, thresholds, leaves, roots, targets = _tables(call)
    xs = np.ascontiguousarray(_features(call, x))
    shape = call.out_tensor(0).shape
    n_out = int(np.prod(shape[1:], dtype=np.int64))
    _check_tables(call, nodes, leaves, roots, targets, xs.shape[1], n_out)
    acc_dtype = np.int32 if call.node.op == "NN_TREES_Q" else np.float64
    out = np.empty((shape[0], n_out), acc_dtype)
    out[:] = np.atleast_1d(np.asarray(call.attr("init"), acc_dtype)).reshape(1, n_out)
    bad, visited = _walk_all(xs, nodes, thresholds, leaves, roots, targets, out)
    if bad != -1:
        _bad_tree(call, bad)
    call.activity = (visited, shape[0] * len(roots))
    return _finish(call, out.reshape(shape))


def _tree_macs(node, tensors) -> int:
    """Comparisons of a walk down every tree to its deepest leaf (the upper bound)."""
    batch = tensors[node.outputs[0]].shape[0]
    return batch * np.size(node.attrs.get("roots", [])) * int(node.attrs.get("max_depth", 1))


for _op in TREE_OPS:
    op_info(_op, macs=_tree_macs, activity=("nodes_visited", "trees_walked"), family="non-neural")
