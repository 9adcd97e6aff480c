"""ONNX matrix products: QLinearMatMul (and fused QDQ MatMul / Gemm), MatMulInteger, float
MatMul / Gemm.

a is (..., M, K), b is (..., K, N); the batch dims of each are either the output's or absent /
all ones (the importer checks). Per-column quantization of b: b_zero_point and multiplier hold
1 or N values.
  ONNX_QLINEAR_MATMUL  a, b, bias?(int32, N) -> int8/uint8; attrs a_zero_point, b_zero_point,
                       y_zero_point, multiplier, out_min/out_max (fused Relu)
  ONNX_MATMUL_INTEGER  a, b -> int32 sum of (a - a_zp)(b - b_zp); attrs a_zero_point, b_zero_point
  ONNX_MATMUL_F32      a, b, c? -> float32 alpha * (sum over k in order from +0.0) + beta * c;
                       c holds 1, N or M*N values (Gemm's C)
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import kernel, op_info
from .onnx_quant import out_range, requantize, requantize_one, wrap32, wrap_int32


def _centred(call):
    a, b = call.inputs[:2]
    a_c = a.astype(np.int64) - np.int64(call.attr("a_zero_point"))
    b_c = b.astype(np.int64) - np.asarray(call.attr("b_zero_point"), np.int64).reshape(-1)
    return a_c, b_c


def _bias(call, index: int):
    return call.inputs[index] if len(call.inputs) > index else None


@kernel("ONNX_QLINEAR_MATMUL", "numpy")
def qlinear_matmul_ref(call):
    out = call.out_tensor(0)
    acc = np.matmul(*_centred(call))
    bias = _bias(call, 2)
    if bias is not None:
        acc += bias.astype(np.int64).reshape(-1)
    lo, hi = out_range(call, out.dtype)
    mult = np.asarray(call.attr("multiplier"), np.float32).reshape(-1)
    return [requantize(wrap_int32(acc), mult, call.attr("y_zero_point"), lo, hi, out.dtype).reshape(out.shape)]


@kernel("ONNX_MATMUL_INTEGER", "numpy")
def matmul_integer_ref(call):
    return [wrap_int32(np.matmul(*_centred(call))).reshape(call.out_tensor(0).shape)]


def _gemm_c(c, m: int, n: int) -> np.ndarray:
    return np.broadcast_to(c.astype(np.float32).reshape(-1) if c.size in (1, n) else c.reshape(m, n), (m, n))


@kernel("ONNX_MATMUL_F32", "numpy")
def matmul_f32_ref(call):
    a, b = (x.astype(np.float32) for x in call.inputs[:2])
    out = call.out_tensor(0)
    acc = np.zeros(out.shape, np.float32)
    for k in range(a.shape[-1]):  # fixed summation order over k
        acc += a[..., :, k:k + 1] * b[..., k:k + 1, :]
    y = acc * np.float32(call.attr("alpha", 1.0))
    c = _bias(call, 2)
    if c is not None:
        y = y + np.float32(call.attr("beta", 1.0)) * _gemm_c(c, *out.shape[-2:])
    return [y]


# -- Numba --------------------------------------------------------------------------------

def _batched(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x).reshape(-1, *x.shape[-2:])


def _batch_shape(shape) -> tuple[int, int, int]:
    return (int(np.prod(shape[:-2], dtype=np.int64)),) + tuple(shape[-2:])


@njit(cache=True)
def _matmul_nb(a, b, c, alpha, beta, out, is_int):
    """a (Ba, M, K), b (Bb, K, N); Ba, Bb are 1 or out's batch. is_int: centred int32 operands,
    exact int64 sums into out. Else float32: out = alpha * sum (over k from +0.0) + beta * c."""
    nb, m, n = out.shape
    k_dim = a.shape[2]
    for i in range(nb):
        ia = i if a.shape[0] > 1 else 0
        ib = i if b.shape[0] > 1 else 0
        for r in range(m):
            for col in range(n):
                if is_int:
                    s = np.int64(0)
                    for k in range(k_dim):
                        s += np.int64(a[ia, r, k]) * np.int64(b[ib, k, col])
                    out[i, r, col] = s
                    continue
                f = np.float32(0.0)
                for k in range(k_dim):
                    f = f + a[ia, r, k] * b[ib, k, col]
                v = f * alpha
                if c.size > 0:
                    v = v + beta * c[0 if c.size == 1 else (col if c.size == n else r * n + col)]
                out[i, r, col] = v


_NO_C = np.zeros(0, np.float32)


def _int_acc_nb(call):
    a_c, b_c = _centred(call)
    out = call.out_tensor(0)
    acc = np.empty(_batch_shape(out.shape), np.int64)
    _matmul_nb(_batched(a_c.astype(np.int32)), _batched(b_c.astype(np.int32)), _NO_C, np.float32(1), np.float32(0),
               acc, True)
    return acc


@njit(cache=True)
def _requantize_cols(acc, bias, mult, zp, lo, hi, y):
    nb, m, n = acc.shape
    for i in range(nb):
        for r in range(m):
            for col in range(n):
                mc = mult[col] if mult.size > 1 else mult[0]
                y[i, r, col] = requantize_one(wrap32(acc[i, r, col] + bias[col]), mc, zp, lo, hi)


@kernel("ONNX_QLINEAR_MATMUL", "numba")
def qlinear_matmul_nb(call):
    out = call.out_tensor(0)
    acc = _int_acc_nb(call)
    bias = _bias(call, 2)
    bias = np.zeros(out.shape[-1], np.int64) if bias is None else bias.astype(np.int64).reshape(-1)
    lo, hi = out_range(call, out.dtype)
    y = np.empty(acc.shape, out.dtype)
    _requantize_cols(acc, bias, np.asarray(call.attr("multiplier"), np.float32).reshape(-1),
                     np.int32(call.attr("y_zero_point")), np.int32(lo), np.int32(hi), y)
    return [y.reshape(out.shape)]


@kernel("ONNX_MATMUL_INTEGER", "numba")
def matmul_integer_nb(call):
    return [wrap_int32(_int_acc_nb(call)).reshape(call.out_tensor(0).shape)]


@kernel("ONNX_MATMUL_F32", "numba")
def matmul_f32_nb(call):
    a, b = (_batched(x.astype(np.float32)) for x in call.inputs[:2])
    out = call.out_tensor(0)
    c = _bias(call, 2)
    c = _NO_C if c is None else np.ascontiguousarray(c, np.float32).reshape(-1)
    y = np.empty(_batch_shape(out.shape), np.float32)
    _matmul_nb(a, b, c, np.float32(call.attr("alpha", 1.0)), np.float32(call.attr("beta", 1.0)), y, False)
    return [y.reshape(out.shape)]


def matmul_macs(node, tensors):
    out = tensors[node.outputs[0]].shape
    return int(np.prod(out, dtype=np.int64)) * tensors[node.inputs[0]].shape[-1]


for _op in ("ONNX_QLINEAR_MATMUL", "ONNX_MATMUL_INTEGER", "ONNX_MATMUL_F32"):
    op_info(_op, macs=matmul_macs, family="onnx")
