"""GaussianNB -> NN_GNB (float64 joint log-likelihood) or NN_GNB_Q (integer weighted distances).

jll_c(x) = log prior_c + (-0.5 sum_j log(2 pi var_cj) - 0.5 sum_j (x_j - theta_cj)^2 / var_cj),
grouped as sklearn's _joint_log_likelihood groups it; label = argmax, proba = softmax(jll).

Fixed mode: with q = (x - c) / s per feature, (x - theta)^2 / (2 var) = W_cj (q - M_cj)^2 with
W_cj = s_j^2 / (2 var_cj) and M = the class means in q units. W becomes int32 (up to 24 bits for
the largest, fewer for many features so that the int64 sum cannot overflow), the constant part an int64 in the same unit, and
a_c = B_c - sum_j W_cj (q_j - M_cj)^2 (int64); the output is the distance to the row's best class,
(a_c - max a) >> shift, with shift such that one nat is ~2**12 units, saturated at -(2**31 - 1).
Features that were constant within a class (var_ = epsilon_ alone) have weights ~1e9 times the
others; no common integer unit holds both, so they get their own table H (s_j^2 relative to
the largest, 15 bits) and a separate penalty P_c = sum_j H_cj (q_j - M_cj)^2. Only classes with
the smallest P_c keep their score; the others get INT32_MIN, which is what float64 does whenever
such a penalty outweighs everything else (by a factor ~1 / var_smoothing).
"""
from __future__ import annotations

import numpy as np

from .sklearn_fixed import int_scale, quantize


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
    constant = var <= est.epsilon_  # var_ = variance + epsilon_: the feature never varied in the class
    w = np.where(constant, 0.0, qz.step**2 / (2 * var))
    bits = min(24, 61 - 32 - int(np.ceil(np.log2(len(theta[0]) + 1))))  # W d^2 summed stays in int64
    unit = int_scale(w.max(), bits)
    w_q = quantize(w, unit)
    hard_unit = int_scale(np.max(qz.step**2), 15)
    hard = np.where(constant, np.maximum(quantize(qz.step**2, hard_unit), 1)[None, :], 0).astype(np.int32)
    means = qz.values(theta, clamp=False).astype(np.int32)
    bias = quantize(log_prior + const, unit, "int64")
    shift = max(0, int(np.floor(np.log2(1.0 / unit))) - 12)  # one nat ~ 2**12 output units
    scores = b.activation("scores", "int32", k)
    b.node("NN_GNB_Q", [qz.node(b), b.const("means", means), b.const("weights", w_q), b.const("bias", bias),
                        b.const("hard_weights", hard)], [scores], shift=shift)
    b.output(b.labels(scores, "argmax", est.classes_))


BUILDERS = {"GaussianNB": _gnb}
