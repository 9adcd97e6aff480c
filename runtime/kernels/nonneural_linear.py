"""Linear scores and Gaussian naive Bayes.

NN_LINEAR    float64: out[r, k] = sum_j x[r, j] * W[k, j] + b[k]
NN_LINEAR_Q  int16 x, int16 W, int64 b: out = (sum_j x W + b + round) >> shift, int32 (attr shift)
NN_GNB       float64: out[r, c] = log_prior[c] + (log_norm[c] - 0.5 * sum_j (x_j - theta_cj)^2 / var_cj)
NN_GNB_Q     int16 x, int32 means M, int32 weights W, int64 bias B, int32 hard weights H:
             a_c = B_c - sum_j W_cj (x_j - M_cj)^2; P_c = sum_j H_cj (x_j - M_cj)^2 (int64);
             out[r, c] = max((a_c - best + round) >> shift, -(2**31 - 1)) with best the largest a
             among the classes of the smallest P; classes with a larger P get INT32_MIN
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import Call, kernel, op_info
from .nonneural_checks import require, rows_match


INT32_MIN = -(2**31)


def _tables(call: Call):
    """Inputs after checking that every class table matches x and each other."""
    x, table = call.inputs[:2]
    rows_match(call, table, "weight table")
    for t in call.inputs[2:]:
        require(call, len(t) == len(table) and (t.ndim == 1 or t.shape == table.shape), "class tables differ in size")
    require(call, 0 <= call.attr("shift", 0) <= 62, "shift outside 0..62")
    return call.inputs


def _round_shift(acc, shift: int):
    return (acc + ((1 << shift) >> 1)) >> shift


@kernel("NN_LINEAR", "numpy")
def linear_numpy(call: Call):
    x, w, b = _tables(call)
    return [(x @ w.T + b).reshape(call.out_tensor(0).shape)]


@njit(cache=True)
def _linear_loop(x, w, b, out):
    for r in range(x.shape[0]):
        for k in range(w.shape[0]):
            acc = 0.0
            for j in range(x.shape[1]):
                acc += x[r, j] * w[k, j]
            out[r, k] = acc + b[k]


@kernel("NN_LINEAR", "numba")
def linear_numba(call: Call):
    x, w, b = _tables(call)
    out = np.empty((x.shape[0], w.shape[0]))
    _linear_loop(x, w, b, out)
    return [out.reshape(call.out_tensor(0).shape)]


@kernel("NN_LINEAR_Q", "numpy")
def linear_q_numpy(call: Call):
    x, w, b = _tables(call)
    acc = x.astype(np.int64) @ w.T.astype(np.int64) + b
    return [_round_shift(acc, call.attr("shift")).astype(np.int32).reshape(call.out_tensor(0).shape)]


@njit(cache=True)
def _linear_q_loop(x, w, b, shift, out):
    half = (np.int64(1) << shift) >> 1
    for r in range(x.shape[0]):
        for k in range(w.shape[0]):
            acc = np.int64(0)
            for j in range(x.shape[1]):
                acc += np.int64(x[r, j]) * np.int64(w[k, j])
            out[r, k] = (acc + b[k] + half) >> shift


@kernel("NN_LINEAR_Q", "numba")
def linear_q_numba(call: Call):
    x, w, b = _tables(call)
    out = np.empty((x.shape[0], w.shape[0]), np.int32)
    _linear_q_loop(x, w, b, np.int64(call.attr("shift")), out)
    return [out.reshape(call.out_tensor(0).shape)]


@kernel("NN_GNB", "numpy")
def gnb_numpy(call: Call):
    x, theta, var, log_prior, log_norm = _tables(call)
    cols = [log_prior[c] + (log_norm[c] - 0.5 * np.sum((x - theta[c]) ** 2 / var[c], axis=1))
            for c in range(len(log_prior))]
    return [np.stack(cols, axis=1)]


@njit(cache=True)
def _gnb_loop(x, theta, var, log_prior, log_norm, out):
    for r in range(x.shape[0]):
        for c in range(theta.shape[0]):
            s = 0.0
            for j in range(x.shape[1]):
                d = x[r, j] - theta[c, j]
                s += d * d / var[c, j]
            out[r, c] = log_prior[c] + (log_norm[c] - 0.5 * s)


@kernel("NN_GNB", "numba")
def gnb_numba(call: Call):
    x = call.inputs[0]
    out = np.empty((x.shape[0], call.inputs[1].shape[0]))
    _gnb_loop(*_tables(call), out)
    return [out]


@kernel("NN_GNB_Q", "numpy")
def gnb_q_numpy(call: Call):
    x, means, weights, bias, hard = _tables(call)
    d = x.astype(np.int64)[:, None, :] - means.astype(np.int64)[None]
    acc = bias - np.sum(weights.astype(np.int64) * d * d, axis=2)
    penalty = np.sum(hard.astype(np.int64) * d * d, axis=2)
    lost = penalty > penalty.min(axis=1, keepdims=True)
    best = np.where(lost, np.iinfo(np.int64).min, acc).max(axis=1, keepdims=True)
    rel = np.maximum(_round_shift(acc - best, call.attr("shift")), INT32_MIN + 1)
    return [np.where(lost, INT32_MIN, rel).astype(np.int32)]


@njit(cache=True)
def _gnb_q_loop(x, means, weights, bias, hard, shift, out):
    half = (np.int64(1) << shift) >> 1
    acc = np.empty(means.shape[0], np.int64)
    penalty = np.empty(means.shape[0], np.int64)
    for r in range(x.shape[0]):
        for c in range(means.shape[0]):
            a = bias[c]
            pen = np.int64(0)
            for j in range(x.shape[1]):
                d = np.int64(x[r, j]) - np.int64(means[c, j])
                a -= np.int64(weights[c, j]) * d * d
                pen += np.int64(hard[c, j]) * d * d
            acc[c] = a
            penalty[c] = pen
        least = penalty.min()
        best = np.iinfo(np.int64).min
        for c in range(means.shape[0]):
            if penalty[c] == least and acc[c] > best:
                best = acc[c]
        for c in range(means.shape[0]):
            out[r, c] = INT32_MIN if penalty[c] > least else max((acc[c] - best + half) >> shift, INT32_MIN + 1)


@kernel("NN_GNB_Q", "numba")
def gnb_q_numba(call: Call):
    x, means = call.inputs[:2]
    out = np.empty((x.shape[0], means.shape[0]), np.int32)
    _gnb_q_loop(*_tables(call), np.int64(call.attr("shift")), out)
    return [out]


def _rows_by_table(node, tensors) -> int:
    """batch * rows of the weight table * features."""
    x, table = tensors[node.inputs[0]], tensors[node.inputs[1]]
    return x.shape[0] * int(np.prod(table.shape))


for _op in ("NN_LINEAR", "NN_LINEAR_Q", "NN_GNB", "NN_GNB_Q"):
    op_info(_op, macs=_rows_by_table, family="non-neural")
