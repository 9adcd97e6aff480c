"""ONNX QuantizeLinear / DequantizeLinear, and the requantization every ONNX integer op shares.

ONNX arithmetic (docs/onnx.md), not TFLite's fixed point:
  quantize    y = saturate(rint(float32(x) / scale) + zp)         rint = round half to even
  dequantize  y = (float32(x) - float32(zp)) * scale              in float32
  requantize  y = saturate(rint(float32(acc) * multiplier) + zp)  multiplier a float32, as ONNX
                                                                  Runtime's MlasRequantizeOutput
The quantization parameters are node attributes (`scale`, `zero_point`, `axis`), one value per
tensor or one per channel along `axis`. NaN quantizes (and requantizes) to the zero point.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import kernel, op_info


def qrange(dtype) -> tuple[int, int]:
    info = np.iinfo(np.dtype(dtype))
    return int(info.min), int(info.max)


def out_range(call, dtype) -> tuple[int, int]:
    """The output dtype's range, narrowed by a fused Relu/Clip (`out_min`, `out_max`)."""
    lo, hi = qrange(dtype)
    return (min(max(call.attr("out_min", lo), lo), hi), min(max(call.attr("out_max", hi), lo), hi))


def wrap_int32(acc: np.ndarray) -> np.ndarray:
    """An int64 accumulator reduced modulo 2**32: the int32 accumulation ONNX specifies."""
    return acc.astype(np.int64).astype(np.int32)


def requantize(acc32: np.ndarray, multiplier: np.ndarray, zp: int, lo: int, hi: int, dtype) -> np.ndarray:
    """int32 accumulators -> quantized outputs (multiplier broadcast against acc32)."""
    f = acc32.astype(np.float32) * np.asarray(multiplier, np.float32)
    f = np.where(np.isnan(f), np.float32(0), f)
    r = np.clip(np.rint(f), np.float32(lo - zp), np.float32(hi - zp))
    return (r.astype(np.int32) + zp).astype(dtype)


@njit(cache=True)
def requantize_one(acc32, multiplier, zp, lo, hi):
    """Scalar twin of `requantize` for the Numba kernels (acc32 already wrapped to int32)."""
    f = np.float32(acc32) * np.float32(multiplier)
    if f != f:
        f = np.float32(0.0)
    r = np.rint(f)
    if r < np.float32(lo - zp):
        r = np.float32(lo - zp)
    if r > np.float32(hi - zp):
        r = np.float32(hi - zp)
    return np.int32(r) + zp


@njit(cache=True)
def wrap32(acc):
    """int64 -> int32 modulo 2**32 (Numba)."""
    acc = acc & 0xFFFFFFFF
    if acc >= 0x80000000:
        acc -= 0x100000000
    return np.int32(acc)


def channel_params(call, shape) -> tuple[np.ndarray, np.ndarray]:
    """Scale and zero point broadcast along the node's axis for a tensor of `shape`."""
    scale = np.asarray(call.attr("scale"), np.float32).reshape(-1)
    zp = np.asarray(call.attr("zero_point"), np.int32).reshape(-1)
    if scale.size == 1 or len(shape) == 0:
        return scale[:1].reshape(()), zp[:1].reshape(())
    bshape = [1] * len(shape)
    bshape[call.attr("axis", 0)] = scale.size
    return scale.reshape(bshape), zp.reshape(bshape)


def _axis_layout(call, shape) -> tuple[int, int]:
    """(channels, inner) such that element i belongs to channel (i // inner) % channels."""
    n = np.asarray(call.attr("scale")).size
    if n == 1:
        return 1, 1
    axis = call.attr("axis", 0)
    return n, int(np.prod(shape[axis + 1:], dtype=np.int64))


# -- QuantizeLinear -----------------------------------------------------------------------

@kernel("ONNX_QUANTIZE_LINEAR", "numpy")
def quantize_ref(call):
    x = call.inputs[0].astype(np.float32)
    out = call.out_tensor(0)
    scale, zp = channel_params(call, x.shape)
    lo, hi = out_range(call, out.dtype)
    f = x / scale
    f = np.where(np.isnan(f), np.float32(0), f)
    r = np.clip(np.rint(f) + zp.astype(np.float32), lo, hi)
    return [r.astype(out.dtype)]


@njit(cache=True)
def _quantize_nb(x, scale, zp, channels, inner, lo, hi, y):
    for i in range(x.size):
        c = (i // inner) % channels
        f = x[i] / scale[c]
        if f != f:
            f = np.float32(0)
        r = np.rint(f) + np.float32(zp[c])
        if r < lo:
            r = np.float32(lo)
        if r > hi:
            r = np.float32(hi)
        y[i] = np.int32(r)


@kernel("ONNX_QUANTIZE_LINEAR", "numba")
def quantize_nb(call):
    x = np.ascontiguousarray(call.inputs[0], np.float32).reshape(-1)
    out = call.out_tensor(0)
    channels, inner = _axis_layout(call, call.inputs[0].shape)
    lo, hi = out_range(call, out.dtype)
    y = np.empty(x.size, out.dtype)
    _quantize_nb(x, np.asarray(call.attr("scale"), np.float32).reshape(-1),
                 np.asarray(call.attr("zero_point"), np.int32).reshape(-1), channels, inner,
                 np.float32(lo), np.float32(hi), y)
    return [y.reshape(out.shape)]


# -- DequantizeLinear ---------------------------------------------------------------------

@kernel("ONNX_DEQUANTIZE_LINEAR", "numpy")
def dequantize_ref(call):
    x = call.inputs[0]
    scale, zp = channel_params(call, x.shape)
    return [(x.astype(np.float32) - zp.astype(np.float32)) * scale]


@njit(cache=True)
def _dequantize_nb(x, scale, zp, channels, inner, y):
    for i in range(x.size):
        c = (i // inner) % channels
        y[i] = (np.float32(x[i]) - np.float32(zp[c])) * scale[c]


@kernel("ONNX_DEQUANTIZE_LINEAR", "numba")
def dequantize_nb(call):
    x = np.ascontiguousarray(call.inputs[0]).reshape(-1)
    channels, inner = _axis_layout(call, call.inputs[0].shape)
    y = np.empty(x.size, np.float32)
    _dequantize_nb(x, np.asarray(call.attr("scale"), np.float32).reshape(-1),
                   np.asarray(call.attr("zero_point"), np.int32).reshape(-1), channels, inner, y)
    return [y.reshape(call.out_tensor(0).shape)]


op_info("ONNX_QUANTIZE_LINEAR", family="onnx")
op_info("ONNX_DEQUANTIZE_LINEAR", family="onnx")
