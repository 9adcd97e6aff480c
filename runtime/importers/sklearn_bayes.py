"""GaussianNB -> NN_GNB (float64 joint log-likelihood) or NN_GNB_Q (integer weighted distances).

jll_c(x) = log prior_c + (-0.5 sum_j log(2 pi var_cj) - 0.5 sum_j (x_j - theta_cj)^2 / var_cj),
grouped as sklearn's _joint_log_likelihood groups it; label = argmax, proba = softmax(jll).

Fixed mode: with q = (x - c) / s per feature, (x - theta)^2 / (2 var) = W_cj (q - M_cj)^2 with
W_cj = s_j^2 / (2 var_cj) and M = the class means in q units. W becomes int32 (15 bits for the
largest), the constant part an int64 in the same unit, and
score_c = (B_c - sum_j W_cj (q_j - M_cj)^2) >> shift.
"""
from __future__ import annotations

import numpy as np

from .sklearn_fixed import int_scale, quantize
from .sklearn_linear import shift_for


def _gnb(b, est):
    theta, var = np.asarray(est.theta_, np.float64), np.asarray(est.var_, np.float64)
    k = len(est.classes_)
    log_prior = np.log(est.class_prior_)
    const = np.array([-0.5 * np.sum(np.log(2.0 * np.pi * var[i, :])) for i in range(k)])
    if b.mode == "float32":
        jll = b.activation("jll", "float64", k)
        b.node("NN_GNB", [b.features, b.const("theta", theta), b.const("var", var),
                          b.const("log_prior", log_prior), b.const("log_norm", const)], [jll])
        label = b.labels(jll, "argmax", est.classes_)
        return b.output(label, b.proba(jll, "softmax", k))
    qz = b.quantizer
    spread = 4 * np.sqrt(var)
    qz.choose("per_feature", *qz.data_range(np.vstack([theta - spread, theta + spread]), "GaussianNB"))
    w = qz.step**2 / (2 * var)
    unit = int_scale(w.max(), 15)
    w_q = quantize(w, unit)
    means = qz.values(theta, clamp=False).astype(np.int32)
    bias = quantize(log_prior + const, unit, "int64")
    diff_max = (32767.0 + float(np.abs(means).max())) ** 2
    shift = shift_for(float(np.abs(bias).max() + w_q.astype(np.float64).sum(axis=1).max() * diff_max))
    scores = b.activation("scores", "int32", k)
    b.node("NN_GNB_Q", [qz.node(b), b.const("means", means), b.const("weights", w_q), b.const("bias", bias)],
           [scores], shift=shift)
    b.output(b.labels(scores, "argmax", est.classes_))


BUILDERS = {"GaussianNB": _gnb}
