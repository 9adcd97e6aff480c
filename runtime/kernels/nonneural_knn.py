"""k nearest neighbours (also k-means and nearest centroid, as k = 1).

Inputs: x (batch, F), points (n, F), targets: int32 class index per point (classifier,
attr n_classes > 0) or values (n, T) (regressor, n_classes = 0). Attrs k, weights
(uniform|distance), p. The neighbours are the k smallest distances, equal distances in point
order. Classifier output: per-class weight sums divided by their total (float) / per-class sums
(fixed); regressor output: the (weighted) mean of the neighbours' targets.

NN_KNN    float64; distance (sum |d|^p)^(1/p) (p = 2: sqrt of the sum of squares); weights 1/d,
          and when some neighbour is at distance 0 only those count, with weight 1 (sklearn).
NN_KNN_Q  int16 x and points, p in {1, 2}: ranks by the int64 sum of squares / absolute
          differences; distance weight w = 2**32 // d16 with d16 = isqrt(16**2 * sum d^2) or
          16 * sum |d| (distance in 1/16 steps). Classifier: class sums of w (uniform: 1),
          >> until the total fits 30 bits; regressor: trunc(sum w y / sum w).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import Call, kernel, op_info
from .nonneural_checks import labels_in_range, require, rows_match
from .nonneural_intmath import div_trunc, div_trunc_nb, isqrt, isqrt_nb

CHUNK = 256


def _reduced_distances(x, pts, p):
    """sum |x - t|^p over the features in feature order, as the C and Numba loops add them
    (np.sum over the feature axis would add in pairwise order)."""
    acc = np.zeros((len(x), len(pts)), np.result_type(x, pts))
    for j in range(x.shape[1]):
        d = np.abs(x[:, j, None] - pts[None, :, j])
        acc += d * d if p == 2 else (d if p == 1 else d**p)
    return acc


def _true_distance(rd, p):
    if p == 2:
        return np.sqrt(rd)
    if p == 1:
        return rd
    return rd ** (1.0 / p)


def _nearest(rd, k):
    idx = np.argsort(rd, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(rd, idx, axis=1)


def _float_weights(dist, scheme):
    if scheme == "uniform":
        return np.ones_like(dist)
    zero = dist == 0
    with np.errstate(divide="ignore"):
        w = 1.0 / dist
    return np.where(zero.any(axis=1, keepdims=True), zero.astype(np.float64), w)


def _fixed_weights(rd, p, scheme):
    if scheme == "uniform":
        return np.ones_like(rd)
    d16 = isqrt(rd << 8) if p == 2 else rd << 4
    zero = rd == 0
    w = (np.int64(1) << 32) // np.maximum(d16, 1)
    return np.where(zero.any(axis=1, keepdims=True), zero.astype(np.int64), w)


def _vote(call, idx, w, targets, fixed):
    n_classes = call.attr("n_classes")
    rows = idx.shape[0]
    if n_classes:
        sums = np.zeros((rows, n_classes), w.dtype)
        labels = targets[idx]
        for c in range(n_classes):
            sums[:, c] = np.sum(np.where(labels == c, w, 0), axis=1)
        if not fixed:
            return sums / sums.sum(axis=1, keepdims=True)
        total = sums.sum(axis=1, keepdims=True)
        shift = np.zeros_like(total)
        while np.any((total >> shift) >= (1 << 30)):
            shift += (total >> shift) >= (1 << 30)
        return sums >> shift
    y = targets[idx].astype(w.dtype)  # (rows, k, T)
    if fixed:
        return div_trunc(np.sum(y * w[:, :, None], axis=1), np.sum(w, axis=1)[:, None])
    # sklearn's KNeighborsRegressor.predict, operation for operation (numpy's summation order)
    if call.attr("weights") == "uniform":
        return np.mean(y, axis=1)
    return np.stack([np.sum(y[:, :, t] * w, axis=1) for t in range(y.shape[2])], axis=1) / np.sum(w, axis=1)[:, None]


def _checked(call: Call):
    x, pts, targets = call.inputs
    n_classes = call.attr("n_classes")
    rows_match(call, pts, "training points")
    require(call, 1 <= call.attr("k") <= len(pts) and len(targets) == len(pts), "k or the targets do not fit the points")
    if n_classes:
        require(call, targets.ndim == 1 and call.out_tensor(0).shape[-1] == n_classes, "class targets do not fit")
        labels_in_range(call, targets, n_classes)
    return x, pts, targets


def _knn_numpy(call: Call, fixed: bool):
    x, pts, targets = _checked(call)
    k = call.attr("k")
    p = call.attr("p") if fixed else float(call.attr("p")[0])
    blocks = []
    for r in range(0, len(x), CHUNK):
        xb = x[r:r + CHUNK].astype(np.int64) if fixed else x[r:r + CHUNK]
        rd = _reduced_distances(xb, pts.astype(np.int64) if fixed else pts, p)
        idx, near = _nearest(rd, k)
        w = _fixed_weights(near, p, call.attr("weights")) if fixed else \
            _float_weights(_true_distance(near, p), call.attr("weights"))
        blocks.append(_vote(call, idx, w, targets, fixed))
    call.activity = (len(x) * len(pts),)
    out = np.concatenate(blocks)
    return [out.astype(call.out_tensor(0).dtype).reshape(call.out_tensor(0).shape)]


@kernel("NN_KNN", "numpy")
def knn_numpy(call: Call):
    return _knn_numpy(call, fixed=False)


@kernel("NN_KNN_Q", "numpy")
def knn_q_numpy(call: Call):
    return _knn_numpy(call, fixed=True)


@njit(cache=True)
def _select(rd, k, best_d, best_i):
    """The k smallest of rd (ties: lower index first) by insertion, into best_d/best_i."""
    m = 0
    for i in range(rd.shape[0]):
        d = rd[i]
        if m == k and d >= best_d[m - 1]:
            continue
        pos = m if m < k else k - 1
        while pos > 0 and best_d[pos - 1] > d:
            best_d[pos] = best_d[pos - 1]
            best_i[pos] = best_i[pos - 1]
            pos -= 1
        best_d[pos] = d
        best_i[pos] = i
        if m < k:
            m += 1
    return m


@njit(cache=True)
def _sum_term(w, values, idx, t, a, mode):
    """Term a of a neighbour sum. mode 0: weight w[a]; 1: target values[idx[a], t]; 2: both multiplied."""
    if mode == 0:
        return w[a]
    v = values[idx[a], t]
    return v * w[a] if mode == 2 else v


@njit(cache=True)
def _pairwise_run(w, values, idx, t, mode, off, n):
    """numpy's pairwise summation of a run of at most 128 terms (see native/src/kernels/nn_knn.c)."""
    if n < 8:
        res = -0.0
        for a in range(n):
            res += _sum_term(w, values, idx, t, off + a, mode)
        return res
    r = np.empty(8)
    for j in range(8):
        r[j] = _sum_term(w, values, idx, t, off + j, mode)
    a = 8
    while a < n - n % 8:
        for j in range(8):
            r[j] += _sum_term(w, values, idx, t, off + a + j, mode)
        a += 8
    res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    while a < n:
        res += _sum_term(w, values, idx, t, off + a, mode)
        a += 1
    return res


@njit(cache=True)
def _pairwise_sum(w, values, idx, t, mode, n):
    """np.sum's order over n terms: runs over 128 split in two halves (the first a multiple of 8)."""
    if n <= 128:
        return _pairwise_run(w, values, idx, t, mode, 0, n)
    # explicit stack, as in C: (offset, count, stage), left sums kept per level
    offs, lens, stages, lefts = np.zeros(32, np.int64), np.zeros(32, np.int64), np.zeros(32, np.int64), np.zeros(32)
    sp, res = 0, 0.0
    lens[0] = n
    while True:
        half = lens[sp] // 2 - lens[sp] // 2 % 8
        if lens[sp] <= 128:
            res = _pairwise_run(w, values, idx, t, mode, offs[sp], lens[sp])
        elif stages[sp] < 2:
            off = offs[sp] + (half if stages[sp] else 0)
            length = lens[sp] - half if stages[sp] else half
            if stages[sp]:
                lefts[sp] = res
            stages[sp] += 1
            sp += 1
            offs[sp], lens[sp], stages[sp] = off, length, 0
            continue
        else:
            res = lefts[sp] + res
        if sp == 0:
            return res
        sp -= 1


@njit(cache=True)
def _knn_float_loop(x, pts, labels, values, k, p, distance_w, n_classes, out):
    rd = np.empty(pts.shape[0])
    best_d = np.empty(k)
    best_i = np.empty(k, np.int64)
    w = np.empty(k)
    for r in range(x.shape[0]):
        for i in range(pts.shape[0]):
            acc = 0.0
            for j in range(x.shape[1]):
                d = abs(x[r, j] - pts[i, j])
                acc += d * d if p == 2.0 else (d if p == 1.0 else d**p)
            rd[i] = acc
        m = _select(rd, k, best_d, best_i)
        any_zero = False
        for a in range(m):
            dist = np.sqrt(best_d[a]) if p == 2.0 else (best_d[a] if p == 1.0 else best_d[a] ** (1.0 / p))
            w[a] = 1.0 if not distance_w else (1.0 / dist if dist != 0 else np.inf)
            any_zero = any_zero or (distance_w and dist == 0)
        if any_zero:
            for a in range(m):
                w[a] = 1.0 if w[a] == np.inf else 0.0
        total = 0.0
        out[r, :] = 0.0
        if not n_classes and (distance_w or out.shape[1] == 1):   # sklearn's np.sum / np.mean order
            total = _pairwise_sum(w, values, best_i, 0, 0, m) if distance_w else float(m)
            for t in range(out.shape[1]):
                out[r, t] = _pairwise_sum(w, values, best_i, t, 2 if distance_w else 1, m)
        else:
            for a in range(m):
                total += w[a]
                if n_classes:
                    out[r, labels[best_i[a]]] += w[a]
                else:
                    for t in range(out.shape[1]):
                        out[r, t] += w[a] * values[best_i[a], t]
        for t in range(out.shape[1]):
            out[r, t] /= total


@njit(cache=True)
def _knn_fixed_loop(x, pts, labels, values, k, p, distance_w, n_classes, out):
    rd = np.empty(pts.shape[0], np.int64)
    best_d = np.empty(k, np.int64)
    best_i = np.empty(k, np.int64)
    w = np.empty(k, np.int64)
    acc_row = np.empty(out.shape[1], np.int64)
    for r in range(x.shape[0]):
        for i in range(pts.shape[0]):
            acc = np.int64(0)
            for j in range(x.shape[1]):
                d = np.int64(x[r, j]) - np.int64(pts[i, j])
                acc += d * d if p == 2 else abs(d)
            rd[i] = acc
        m = _select(rd, k, best_d, best_i)
        any_zero = False
        for a in range(m):
            any_zero = any_zero or (distance_w and best_d[a] == 0)
        for a in range(m):
            if not distance_w:
                w[a] = 1
            elif any_zero:
                w[a] = 1 if best_d[a] == 0 else 0
            else:
                d16 = isqrt_nb(best_d[a] << 8) if p == 2 else best_d[a] << 4
                w[a] = (np.int64(1) << 32) // max(d16, 1)
        acc_row[:] = 0
        total = np.int64(0)
        for a in range(m):
            total += w[a]
            if n_classes:
                acc_row[labels[best_i[a]]] += w[a]
            else:
                for t in range(out.shape[1]):
                    acc_row[t] += w[a] * np.int64(values[best_i[a], t])
        for t in range(out.shape[1]):
            if n_classes:
                shift = 0
                while (total >> shift) >= (np.int64(1) << 30):
                    shift += 1
                out[r, t] = acc_row[t] >> shift
            else:
                out[r, t] = div_trunc_nb(acc_row[t], total)


def _knn_numba(call: Call, loop, acc_dtype):
    x, pts, targets = _checked(call)
    n_classes = call.attr("n_classes")
    shape = call.out_tensor(0).shape
    n_out = int(np.prod(shape[1:], dtype=np.int64))
    out = np.empty((shape[0], n_out), acc_dtype)
    labels = targets if n_classes else np.zeros(1, np.int32)
    values = targets.reshape(len(pts), -1) if not n_classes else np.zeros((1, 1), targets.dtype)
    p = call.attr("p")
    p = p if isinstance(p, int) else float(p[0])
    loop(x, pts, labels, values, int(call.attr("k")), p, call.attr("weights") == "distance", n_classes, out)
    call.activity = (len(x) * len(pts),)
    return [out.astype(call.out_tensor(0).dtype).reshape(shape)]


@kernel("NN_KNN", "numba")
def knn_numba(call: Call):
    return _knn_numba(call, _knn_float_loop, np.float64)


@kernel("NN_KNN_Q", "numba")
def knn_q_numba(call: Call):
    return _knn_numba(call, _knn_fixed_loop, np.int64)


def _knn_macs(node, tensors) -> int:
    x, pts = tensors[node.inputs[0]], tensors[node.inputs[1]]
    return x.shape[0] * int(np.prod(pts.shape))


for _op in ("NN_KNN", "NN_KNN_Q"):
    op_info(_op, macs=_knn_macs, activity=("distances",), family="non-neural")
