"""Kernel SVM pair decisions (libsvm one-vs-one), float64 and fixed point.

Inputs: x, support vectors (n_sv, F), dual coefficients (n_classes - 1, n_sv), intercepts
(n_pairs,). Attrs: kernel (linear|rbf|poly|sigmoid), n_support (SVs per class, in class order),
n_classes. For pair p = (i, j): d_p = sum over class i's SVs of dual[j - 1, s] K(x, s)
+ sum over class j's SVs of dual[i, s] K(x, s) + intercept[p], summed in that order as libsvm.

NN_SVM    float64, attrs gamma, coef0 (float64), degree: K = <x,s> | exp(-gamma |x-s|^2) |
          (gamma <x,s> + coef0)^degree (libsvm's powi) | tanh(gamma <x,s> + coef0)
NN_SVM_Q  int16 x and SVs, int32 dual, int64 intercept; K in integers (see the importer
          runtime/importers/sklearn_svm.py for the attrs): S = sum (q - r)^2 (rbf) or
          sum q r (others) as int64; S' = S >> pre_shift (rbf: 0 beyond d_max);
          u = (S' * g_mul >> g_shift) [+ coef0_q]; K = exp_q24(u) | S' >> k_shift |
          (u^degree in Q(frac)) >> k_shift | tanh_q24(u); d = (sum dual K + intercept) >> shift,
          saturated to +-(2**31 - 1).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import Call, kernel, op_info
from .nonneural_checks import rows_match, svm_tables
from .nonneural_decide import pairs
from .nonneural_intmath import exp_q24, exp_q24_nb, tanh_q24, tanh_q24_nb

KERNEL_CODES = {"linear": 0, "rbf": 1, "poly": 2, "sigmoid": 3}
INT32_MAX = 2**31 - 1
CHUNK = 256  # rows per numpy block (keeps the rows x SVs x features temporaries small)


def _starts(n_support):
    n_support = np.atleast_1d(n_support)
    return np.concatenate([[0], np.cumsum(n_support)]).astype(np.int64)


def _combine(kv, dual, intercept, n_support, n_classes):
    """Pair decisions from kernel values kv (rows, n_sv), block by block as libsvm sums them."""
    start = _starts(n_support)
    cols = []
    for p, (i, j) in enumerate(pairs(n_classes)):
        si, sj = slice(start[i], start[i + 1]), slice(start[j], start[j + 1])
        cols.append(kv[:, si] @ dual[j - 1, si] + kv[:, sj] @ dual[i, sj] + intercept[p])
    return np.stack(cols, axis=1)


def _powi(base, times: int):
    """libsvm's powi: square-and-multiply, in its order of multiplications."""
    ret, tmp = np.ones_like(base), base
    while times > 0:
        if times % 2 == 1:
            ret = ret * tmp
        tmp = tmp * tmp
        times //= 2
    return ret


def _kernel_values(call: Call, x, sv):
    kind = call.attr("kernel")
    gamma, coef0 = float(call.attr("gamma")[0]), float(call.attr("coef0")[0])
    if kind == "rbf":
        d = x[:, None, :] - sv[None]
        return np.exp(-gamma * np.sum(d * d, axis=2))
    dot = x @ sv.T
    if kind == "linear":
        return dot
    if kind == "poly":
        return _powi(gamma * dot + coef0, call.attr("degree"))
    return np.tanh(gamma * dot + coef0)


def _fixed_kernel_values(call: Call, q, sv):
    kind = call.attr("kernel")
    q, sv = q.astype(np.int64), sv.astype(np.int64)
    pre = call.attr("pre_shift")
    if kind == "rbf":
        d = q[:, None, :] - sv[None]
        s = np.sum(d * d, axis=2)
        far = s > call.attr("d_max") << pre
        u = ((np.where(far, 0, s) >> pre) * call.attr("g_mul")) >> call.attr("g_shift")
        return np.where(far, 0, exp_q24(u))
    s = (q @ sv.T) >> pre
    if kind == "linear":
        return s >> call.attr("k_shift")
    u = ((s * call.attr("g_mul")) >> call.attr("g_shift")) + call.attr("coef0_q")
    if kind == "sigmoid":
        return tanh_q24(u)
    frac = call.attr("frac")
    pw = np.full_like(u, 1 << frac)
    for _ in range(call.attr("degree")):
        pw = (pw * u) >> frac
    return pw >> call.attr("k_shift")


def _activity(call: Call, n_sv: int):
    call.activity = (call.inputs[0].shape[0] * n_sv,)


def _checked(call: Call):
    x, sv, dual, intercept = call.inputs
    rows_match(call, sv, "support vectors")
    svm_tables(call, sv, dual, intercept)
    return x, sv, dual, intercept


@kernel("NN_SVM", "numpy")
def svm_numpy(call: Call):
    x, sv, dual, intercept = _checked(call)
    n_support, n_classes = call.attr("n_support"), call.attr("n_classes")
    out = np.concatenate([_combine(_kernel_values(call, x[r:r + CHUNK], sv), dual, intercept, n_support, n_classes)
                          for r in range(0, len(x), CHUNK)])
    _activity(call, len(sv))
    return [out.reshape(call.out_tensor(0).shape)]


@kernel("NN_SVM_Q", "numpy")
def svm_q_numpy(call: Call):
    q, sv, dual, intercept = _checked(call)
    n_support, n_classes = call.attr("n_support"), call.attr("n_classes")
    dual = dual.astype(np.int64)
    start = _starts(n_support)
    shift = call.attr("shift")
    blocks = []
    for r in range(0, len(q), CHUNK):
        kv = _fixed_kernel_values(call, q[r:r + CHUNK], sv)
        cols = []
        for p, (i, j) in enumerate(pairs(n_classes)):
            si, sj = slice(start[i], start[i + 1]), slice(start[j], start[j + 1])
            acc = kv[:, si] @ dual[j - 1, si] + kv[:, sj] @ dual[i, sj] + intercept[p]
            cols.append(np.clip((acc + ((1 << shift) >> 1)) >> shift, -INT32_MAX, INT32_MAX))
        blocks.append(np.stack(cols, axis=1))
    _activity(call, len(sv))
    return [np.concatenate(blocks).astype(np.int32).reshape(call.out_tensor(0).shape)]


@njit(cache=True)
def _svm_loop(x, sv, dual, intercept, starts, n_classes, kind, gamma, coef0, degree, out):
    kv = np.empty(sv.shape[0])
    for r in range(x.shape[0]):
        for s in range(sv.shape[0]):
            acc = 0.0
            if kind == 1:
                for j in range(x.shape[1]):
                    d = x[r, j] - sv[s, j]
                    acc += d * d
                kv[s] = np.exp(-gamma * acc)
            else:
                for j in range(x.shape[1]):
                    acc += x[r, j] * sv[s, j]
                if kind == 0:
                    kv[s] = acc
                elif kind == 2:
                    base, ret, t = gamma * acc + coef0, 1.0, degree
                    while t > 0:
                        if t % 2 == 1:
                            ret *= base
                        base *= base
                        t //= 2
                    kv[s] = ret
                else:
                    kv[s] = np.tanh(gamma * acc + coef0)
        _pairs_f(kv, dual, intercept, starts, n_classes, out[r])


@njit(cache=True)
def _pairs_f(kv, dual, intercept, starts, n_classes, row):
    p = 0
    for i in range(n_classes):
        for j in range(i + 1, n_classes):
            acc = 0.0
            for s in range(starts[i], starts[i + 1]):
                acc += dual[j - 1, s] * kv[s]
            for s in range(starts[j], starts[j + 1]):
                acc += dual[i, s] * kv[s]
            row[p] = acc + intercept[p]
            p += 1


@kernel("NN_SVM", "numba")
def svm_numba(call: Call):
    x, sv, dual, intercept = _checked(call)
    n_classes = call.attr("n_classes")
    out = np.empty((x.shape[0], n_classes * (n_classes - 1) // 2))
    _svm_loop(x, sv, dual, intercept, _starts(call.attr("n_support")), n_classes, KERNEL_CODES[call.attr("kernel")],
              float(call.attr("gamma")[0]), float(call.attr("coef0")[0]), int(call.attr("degree")), out)
    _activity(call, len(sv))
    return [out.reshape(call.out_tensor(0).shape)]


@njit(cache=True)
def _svm_q_loop(q, sv, dual, intercept, starts, n_classes, kind, prm, out):
    pre, d_max, g_mul, g_shift, coef0_q, k_shift, frac, degree, shift = prm
    kv = np.empty(sv.shape[0], np.int64)
    half = (np.int64(1) << shift) >> 1
    for r in range(q.shape[0]):
        for s in range(sv.shape[0]):
            acc = np.int64(0)
            if kind == 1:
                for j in range(q.shape[1]):
                    d = np.int64(q[r, j]) - np.int64(sv[s, j])
                    acc += d * d
                if acc > (d_max << pre):
                    kv[s] = 0
                else:
                    kv[s] = exp_q24_nb(((acc >> pre) * g_mul) >> g_shift)
                continue
            for j in range(q.shape[1]):
                acc += np.int64(q[r, j]) * np.int64(sv[s, j])
            acc >>= pre
            if kind == 0:
                kv[s] = acc >> k_shift
                continue
            u = ((acc * g_mul) >> g_shift) + coef0_q
            if kind == 3:
                kv[s] = tanh_q24_nb(u)
            else:
                pw = np.int64(1) << frac
                for _ in range(degree):
                    pw = (pw * u) >> frac
                kv[s] = pw >> k_shift
        p = 0
        for i in range(n_classes):
            for j in range(i + 1, n_classes):
                acc = np.int64(0)
                for s in range(starts[i], starts[i + 1]):
                    acc += np.int64(dual[j - 1, s]) * kv[s]
                for s in range(starts[j], starts[j + 1]):
                    acc += np.int64(dual[i, s]) * kv[s]
                out[r, p] = min(max((acc + intercept[p] + half) >> shift, -INT32_MAX), INT32_MAX)
                p += 1


FIXED_PARAMS = ("pre_shift", "d_max", "g_mul", "g_shift", "coef0_q", "k_shift", "frac", "degree", "shift")


@kernel("NN_SVM_Q", "numba")
def svm_q_numba(call: Call):
    q, sv, dual, intercept = _checked(call)
    n_classes = call.attr("n_classes")
    out = np.empty((q.shape[0], n_classes * (n_classes - 1) // 2), np.int32)
    prm = np.array([call.attr(k, 0) for k in FIXED_PARAMS], np.int64)
    _svm_q_loop(q, sv, dual, intercept, _starts(call.attr("n_support")), n_classes,
                KERNEL_CODES[call.attr("kernel")], prm, out)
    _activity(call, len(sv))
    return [out.reshape(call.out_tensor(0).shape)]


def _svm_macs(node, tensors) -> int:
    x, sv = tensors[node.inputs[0]], tensors[node.inputs[1]]
    return x.shape[0] * int(np.prod(sv.shape))


for _op in ("NN_SVM", "NN_SVM_Q"):
    op_info(_op, macs=_svm_macs, activity=("kernel_evals",), family="non-neural")
