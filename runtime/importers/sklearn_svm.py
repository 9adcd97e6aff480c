"""Kernel SVMs (SVC, NuSVC, SVR, NuSVR) -> NN_SVM (float64, libsvm's arithmetic) or NN_SVM_Q.

The op computes libsvm's one-vs-one pair decisions d_p (reference/non-neural.md §5) from the
public attributes: for pair (i, j), the i block of support vectors weighted by dual_coef_[j-1]
plus the j block weighted by dual_coef_[i], plus intercept_[p]. Binary SVC: one pair, sklearn's
sign (f >= 0 -> classes_[1]); multiclass: libsvm voting; regression: one pair over all SVs.

Fixed mode (NN_SVM_Q): x and the support vectors share one symmetric int16 scale s, so
<x, sv> = s^2 sum(q r) and |x - sv|^2 = s^2 sum((q - r)^2) are exact integers. The kernel's
argument gamma * s^2 * S + coef0 becomes a Q16 number through a 31-bit multiplier; exp and tanh
are evaluated in integers (Q24 results, kernels/nonneural_svm.py), the dual coefficients are
int32 and the pair sums int64. The linear kernel instead folds into one weight row per pair
(sum_s coef_s <x, sv_s> = <x, w>) and runs as NN_LINEAR_Q with per-feature scales.
"""
from __future__ import annotations

import math

import numpy as np

from edgert.errors import UnsupportedOpError

from ..ir import Quant
from .sklearn_fixed import int_scale, quantize
from .sklearn_linear import linear_scores, shift_for

KERNELS = ("linear", "rbf", "poly", "sigmoid")
K_BITS = 24  # exp / tanh kernel values are Q24
COEF_BITS = 20  # dual coefficients: int32 with 20 bits


def _multiplier(real: float, max_input: int) -> tuple[int, int]:
    """(m, e) with m * 2**-e ~= real, m < 2**31 and max_input * m < 2**62."""
    if real <= 0:
        return 0, 0
    e = 0
    while e < 62 and real * 2.0 ** (e + 1) < 2**31 and max_input * real * 2.0 ** (e + 1) < 2**62:
        e += 1
    return int(round(real * 2.0**e)), e


def _wide_k_bits(n_sv: int) -> int:
    """Bits a kernel value may use so that n_sv products with 20-bit coefficients fit in int64."""
    return max(K_BITS, 61 - COEF_BITS - int(n_sv).bit_length())


def _fixed_kernel_attrs(qz, est, svs_q, cal_q):
    """(attributes of the integer kernel, real value of one kernel unit, largest kernel value
    in that unit)."""
    kernel = est.kernel
    s2 = float(qz.step[0]) ** 2
    gamma, coef0, degree = float(est._gamma), float(est.coef0), int(est.degree)
    rows = cal_q.astype(np.int64)
    if kernel == "rbf":
        d_max = int(40.0 / (gamma * s2)) + 1  # beyond: exp(-40) is 0 in Q24
        raw_max = d_max
    else:
        raw = rows @ svs_q.astype(np.int64).T
        raw_max = int(np.abs(raw).max()) * 2 + 1
    pre_shift = max(0, raw_max.bit_length() - 31)
    attrs = dict(kernel=kernel, pre_shift=pre_shift, degree=degree)
    if kernel == "linear":
        attrs.update(k_shift=max(0, (raw_max >> pre_shift).bit_length() - _wide_k_bits(len(svs_q))))
        return attrs, s2 * 2.0 ** (pre_shift + attrs["k_shift"]), (raw_max >> pre_shift) >> attrs["k_shift"]
    frac = 16
    if kernel == "poly":  # room for u**degree in int64: |u|^degree * 2**(2 frac) < 2**62
        u_max = gamma * s2 * raw_max + abs(coef0) + 1.0
        frac = max(4, min(16, int((62 - degree * math.log2(u_max)) // 2)))
    m, e = _multiplier(gamma * s2 * 2.0 ** (pre_shift + frac), (raw_max >> pre_shift) + 1)
    attrs.update(g_mul=m, g_shift=e, coef0_q=int(round(coef0 * 2**frac)), frac=frac,
                 d_max=min(raw_max, 2**62) >> pre_shift if kernel == "rbf" else 0)
    if kernel == "poly":  # u**degree spans a wide range: keep as many bits as the pair sums allow
        k_max = (gamma * s2 * raw_max + abs(coef0)) ** degree * 2.0**frac
        attrs["k_shift"] = max(0, int(k_max).bit_length() - _wide_k_bits(len(svs_q)))
        return attrs, 2.0 ** (attrs["k_shift"] - frac), int(k_max) >> attrs["k_shift"]
    attrs["k_shift"] = 0
    return attrs, 2.0**-K_BITS, 1 << K_BITS


def _pair_weights(svs, dual, n_support, n_classes: int) -> np.ndarray:
    start = np.concatenate([[0], np.cumsum(n_support)])
    rows = []
    for i in range(n_classes):
        for j in range(i + 1, n_classes):
            si, sj = slice(start[i], start[i + 1]), slice(start[j], start[j + 1])
            rows.append(dual[j - 1, si] @ svs[si] + dual[i, sj] @ svs[sj])
    return np.array(rows)


def _svm(b, est):
    if est.kernel not in KERNELS:
        raise UnsupportedOpError(f"{type(est).__name__}(kernel={est.kernel!r}) is not supported; kernels: {KERNELS}")
    classifier = hasattr(est, "classes_")
    svs = np.asarray(est.support_vectors_, np.float64)
    dual = np.asarray(est.dual_coef_, np.float64)
    intercept = np.asarray(est.intercept_, np.float64)
    if classifier:
        n_classes = len(est.classes_)
        n_support = [int(v) for v in est.n_support_]
    else:
        n_classes, n_support = 2, [len(svs), 0]  # one "pair" over every support vector
    n_pairs = n_classes * (n_classes - 1) // 2
    attrs = dict(n_support=n_support, n_classes=n_classes)
    if b.mode == "float32":
        attrs.update(kernel=est.kernel, gamma=np.float64([est._gamma]), coef0=np.float64([est.coef0]),
                     degree=int(est.degree))
        d = b.activation("decision", "float64", n_pairs)
        b.node("NN_SVM", [b.features, b.const("support_vectors", svs), b.const("dual_coef", dual),
                          b.const("intercept", intercept)], [d], scratch=8 * len(svs), **attrs)
    elif est.kernel == "linear":  # sum_s coef <x, sv> = <x, sum_s coef sv>: one weight row per pair
        d, _ = linear_scores(b, _pair_weights(svs, dual, n_support, n_classes), intercept, type(est).__name__, svs)
        b.graph.tensors[d].name = "decision"
    else:
        qz = b.quantizer
        qz.choose("symmetric", *qz.data_range(svs, type(est).__name__))
        svs_q = qz.values(svs).astype(np.int16)
        cal = qz.calibration if qz.calibration is not None else svs
        kattrs, k_unit, k_max = _fixed_kernel_attrs(qz, est, svs_q, qz.values(cal))
        coef_unit = int_scale(np.abs(dual).max(), COEF_BITS)
        dual_q = quantize(dual, coef_unit)
        bias_q = quantize(intercept, coef_unit * k_unit, "int64")
        # pair sums reach at most sum|coef| * largest kernel value + |intercept| (outputs saturate beyond)
        reach = float(np.abs(dual_q).sum(axis=1).max()) * k_max + float(np.abs(bias_q).max())
        shift = shift_for(reach)
        unit = coef_unit * k_unit * 2.0**shift
        d = b.activation("decision", "int32", n_pairs, quant=Quant(np.float32(unit), 0))
        b.node("NN_SVM_Q", [qz.node(b), b.const("support_vectors", svs_q), b.const("dual_coef", dual_q),
                            b.const("intercept", bias_q)], [d], scratch=8 * len(svs), shift=shift,
               **attrs, **kattrs)
    if not classifier:
        t = b.graph.tensors[d]
        t.name, t.shape = "value", (b.batch,)
        return b.output(d)
    if n_classes == 2:
        b.graph.tensors[d].shape = (b.batch,)
        label = b.labels(d, "ge0", est.classes_)
    elif getattr(est, "break_ties", False) and est.decision_function_shape == "ovr":
        if b.mode == "fixed":
            raise UnsupportedOpError(f"{type(est).__name__}(break_ties=True) is not supported in fixed mode")
        label = b.labels(b.proba(d, "svc_ovr", n_classes, name="decision_ovr", n_classes=n_classes),
                         "argmax", est.classes_)
    else:
        label = b.labels(d, "ovo", est.classes_, n_classes=n_classes)
    if b.mode == "fixed":
        return b.output(label)
    if n_classes > 2 and est.decision_function_shape == "ovr":
        ovr = next((i for i, t in enumerate(b.graph.tensors) if t.name == "decision_ovr"), None)
        if ovr is None:
            ovr = b.proba(d, "svc_ovr", n_classes, name="decision_ovr", n_classes=n_classes)
        b.graph.tensors[d].name = "decision_ovo"
        b.graph.tensors[ovr].name = "decision"
        d = ovr
    b.output(label, d)


BUILDERS = {name: _svm for name in ("SVC", "NuSVC", "SVR", "NuSVR")}
