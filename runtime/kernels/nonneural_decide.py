"""The last step of a non-neural model: scores -> label (NN_DECIDE) and -> probabilities or
sklearn's display form of decision values (NN_PROB), with scikit-learn's tie rules.

NN_DECIDE  input 0: scores (batch, K) float64 or int32; optional input 1: class values (K,)
           modes: argmax (first maximum: ties -> lowest class), argmax_last (last maximum, as
           OneVsRestClassifier), gt0 / ge0 (binary: scores[:, 0] > 0 or >= 0 -> class 1),
           ovo (libsvm one-vs-one voting over pair decisions, attr n_classes: d > 0 votes for
           the pair's first class, else the second; most votes, ties -> lowest class).
NN_PROB    input 0: scores float64; modes: softmax, logistic2 ([1 - s(d), s(d)] for binary),
           ovr_norm (s(d_k) / sum_j s(d_j)), svc_ovr (sklearn's _ovr_decision_function of the
           pair decisions, attr n_classes), with s the logistic function.

Both are a few numpy expressions over small arrays, so the numba backend runs the same code.
"""
from __future__ import annotations

import numpy as np

from . import Call, kernel, op_info
from .nonneural_checks import require


def pairs(n_classes: int):
    """libsvm's pair order (0,1), (0,2), ..., (1,2), ..."""
    return [(i, j) for i in range(n_classes) for j in range(i + 1, n_classes)]


def _votes(d, n_classes: int, first_wins_zero: bool):
    votes = np.zeros((d.shape[0], n_classes), np.int64)
    for p, (i, j) in enumerate(pairs(n_classes)):
        first = d[:, p] >= 0 if first_wins_zero else d[:, p] > 0
        votes[first, i] += 1
        votes[~first, j] += 1
    return votes


@kernel("NN_DECIDE", "numpy", "numba")
def decide(call: Call):
    scores = call.inputs[0].reshape(call.inputs[0].shape[0], -1)
    mode = call.attr("mode")
    if mode == "argmax":
        idx = np.argmax(scores, axis=1)
    elif mode == "argmax_last":
        idx = scores.shape[1] - 1 - np.argmax(scores[:, ::-1], axis=1)
    elif mode == "gt0":
        idx = (scores[:, 0] > 0).astype(np.int64)
    elif mode == "ge0":
        idx = (scores[:, 0] >= 0).astype(np.int64)
    else:  # ovo
        n = call.attr("n_classes")
        require(call, mode == "ovo" and n * (n - 1) // 2 == scores.shape[1], "unknown mode or pair count")
        idx = np.argmax(_votes(scores, call.attr("n_classes"), first_wins_zero=False), axis=1)
    classes = call.inputs[1] if len(call.inputs) > 1 else None
    n_classes = {"ovo": call.attr("n_classes"), "gt0": 2, "ge0": 2}.get(mode, scores.shape[1])
    require(call, classes is None or len(classes) == n_classes, "class table length != classes")
    return [idx if classes is None else classes[idx]]


def _logistic(d):
    return 1.0 / (1.0 + np.exp(-d))


@kernel("NN_PROB", "numpy", "numba")
def prob(call: Call):
    d = call.inputs[0].reshape(call.inputs[0].shape[0], -1)
    mode = call.attr("mode")
    if mode == "softmax":
        e = np.exp(d - d.max(axis=1, keepdims=True))
        return [e / e.sum(axis=1, keepdims=True)]
    if mode == "logistic2":
        p = _logistic(d[:, 0])
        return [np.stack([1.0 - p, p], axis=1)]
    if mode == "ovr_norm":
        s = _logistic(d)
        return [s / s.sum(axis=1, keepdims=True)]
    n = call.attr("n_classes")  # svc_ovr
    conf = np.zeros((d.shape[0], n))
    for p, (i, j) in enumerate(pairs(n)):
        conf[:, i] += d[:, p]
        conf[:, j] -= d[:, p]
    return [_votes(d, n, first_wins_zero=True) + conf / (3 * (np.abs(conf) + 1))]


op_info("NN_DECIDE", family="non-neural")
op_info("NN_PROB", family="non-neural")
