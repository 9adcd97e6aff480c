"""Linear models -> NN_LINEAR (float64, d = x W^T + b) or NN_LINEAR_Q (int16 x int16 -> int64).

Decision rules (reference/non-neural.md §7, §5.3): binary d > 0 -> classes_[1]; multiclass
argmax (first maximum); OneVsRestClassifier takes the *last* maximum (it overwrites its running
argmax on equality). Probabilities: binary [1 - s(d), s(d)], multinomial softmax(d), one-vs-rest
s(d_k) / sum s(d_j).
"""
from __future__ import annotations

import math

import numpy as np

from edgert.errors import UnsupportedOpError

from ..ir import Quant
from .sklearn_fixed import int_scale, quantize


def shift_for(bound: float, bits: int = 30) -> int:
    """Right shift that brings |values| <= bound under 2**bits."""
    return max(0, math.ceil(math.log2(bound / 2.0**bits))) if bound > 2.0**bits else 0


def linear_scores(b, coef, intercept, what: str, stored=None) -> tuple[int, float]:
    """x W^T + b as a node; returns (scores tensor, real value of one unit: 1.0 in float mode).
    Fixed mode takes its feature ranges from the calibration set, else `stored` rows."""
    coef = np.atleast_2d(np.asarray(coef, np.float64))
    intercept = np.broadcast_to(np.asarray(intercept, np.float64), (coef.shape[0],)).copy()
    k = coef.shape[0]
    if b.mode == "float32":
        out = b.activation("scores", "float64", k)
        b.node("NN_LINEAR", [b.features, b.const("weights", coef), b.const("bias", intercept)], [out])
        return out, 1.0
    qz = b.quantizer
    qz.choose("per_feature", *qz.data_range(stored, what))
    v = coef * qz.step  # weights of the quantized features
    bias = intercept + coef @ qz.center
    sv = int_scale(np.abs(v).max(), 15)
    w = np.clip(quantize(v, sv), -32767, 32767).astype(np.int16)
    bq = quantize(bias, sv, "int64")
    shift = shift_for(float(np.abs(w.astype(np.int64)).sum(axis=1).max() * 32767 + np.abs(bq).max()))
    unit = sv * 2.0**shift
    out = b.activation("scores", "int32", k, quant=Quant(np.float32(unit), 0))
    b.node("NN_LINEAR_Q", [qz.node(b), b.const("weights", w), b.const("bias", bq)], [out], shift=shift)
    return out, unit


def _classifier(b, est, coef, intercept, proba_mode: str | None, multi_rule: str = "argmax"):
    scores, _ = linear_scores(b, coef, intercept, type(est).__name__)
    n_classes = len(est.classes_)
    binary = np.atleast_2d(coef).shape[0] == 1
    if binary and n_classes != 2:
        raise UnsupportedOpError(f"{type(est).__name__} with one decision row but {n_classes} classes")
    if binary:
        b.graph.tensors[scores].shape = (b.batch,)
    label = b.labels(scores, "gt0" if binary else multi_rule, est.classes_)
    if b.mode == "fixed":
        return b.output(label)
    outs = [label]
    if proba_mode is not None:
        outs.append(b.proba(scores, "logistic2" if binary else proba_mode, n_classes))
    b.graph.tensors[scores].name = "decision"
    b.output(*outs, scores)


def _logistic(b, est):
    ovr = getattr(est, "multi_class", "auto") == "ovr" and len(est.classes_) > 2
    _classifier(b, est, est.coef_, est.intercept_, "ovr_norm" if ovr else "softmax")


def _linear_svc(b, est):
    _classifier(b, est, est.coef_, est.intercept_, None)


def _one_vs_rest(b, est):
    inner = est.estimators_
    kinds = {type(e).__name__ for e in inner}
    if not kinds <= {"LogisticRegression", "LinearSVC"} or est.label_binarizer_.y_type_ not in ("multiclass", "binary"):
        raise UnsupportedOpError(f"OneVsRestClassifier over {sorted(kinds)} ({est.label_binarizer_.y_type_}) is "
                                 "not supported: edgert compiles one-vs-rest LogisticRegression / LinearSVC")
    coef = np.vstack([e.coef_[0] for e in inner])
    intercept = np.array([e.intercept_[0] for e in inner])
    proba = "ovr_norm" if kinds == {"LogisticRegression"} else None
    _classifier(b, est, coef, intercept, proba, multi_rule="argmax_last")


def _regressor(b, est):
    coef = np.asarray(est.coef_, np.float64)
    if coef.ndim > 1 and coef.shape[0] > 1:
        raise UnsupportedOpError(f"multi-output {type(est).__name__} is not supported")
    scores, _ = linear_scores(b, coef.reshape(1, -1), np.ravel(est.intercept_), type(est).__name__)
    t = b.graph.tensors[scores]
    t.name, t.shape = "value", (b.batch,)
    b.output(scores)


BUILDERS = {
    "LogisticRegression": _logistic,
    "LinearSVC": _linear_svc,
    "OneVsRestClassifier": _one_vs_rest,
    "LinearSVR": _regressor,
    "LinearRegression": _regressor,
    "Ridge": _regressor,
}
