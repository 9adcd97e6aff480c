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
    d = np.abs(x[:, None, :] - pts[None])
    if p == 2:
        return np.sum(d * d, axis=2)
    if p == 1:
        return np.sum(d, axis=2)
    return np.sum(d**p, axis=2)


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
    num = np.sum(y * w[:, :, None], axis=1)
    den = np.sum(w, axis=1)[:, None]
    return div_trunc(num, den) if fixed else num / den


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
        for a in range(m):
            total += w[a]
        out[r, :] = 0.0
        for a in range(m):
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
