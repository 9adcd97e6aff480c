"""Integer helpers of the fixed-point non-neural kernels, written once for numpy arrays and
numba scalars alike (only +, -, *, >>, // on int64 and np.minimum/np.abs/np.sign), and mirrored
line by line in native/src/kernels/nn_fixed.c, so all three backends give the same integers.

exp_q24(z):  round(2**24 * e**-z) for z >= 0 given in Q16 (z clamped to 64)
tanh_q24(u): 2**24 * tanh(u) for u in Q16, from exp_q24(2|u|)
isqrt(n):    floor(sqrt(n)) for 0 <= n < 2**52
div_trunc(a, b): a / b rounded toward zero (C's integer division), b > 0
"""
from __future__ import annotations

import numpy as np
from numba import njit

ONE_Q30 = 1 << 30
LOG2E_Q30 = 1549082005  # log2(e) * 2**30
LN2_Q30 = 744261118  # ln(2) * 2**30
TAYLOR_TERMS = 12


def exp_q24(z):
    z = np.minimum(z, 64 << 16)
    y = (z * LOG2E_Q30) >> 30  # z * log2(e), Q16: e**-z = 2**-n * 2**-f
    n = np.minimum(y >> 16, 40)
    r = ((y & 0xFFFF) * LN2_Q30) >> 16  # f * ln 2 in Q30, in [0, ln 2)
    p = ONE_Q30
    for k in range(TAYLOR_TERMS, 0, -1):  # e**-r = 1 - r (1 - r/2 (1 - r/3 (...)))
        p = ONE_Q30 - ((r * p) >> 30) // k
    return (p + (1 << (n + 5))) >> (n + 6)


def _tanh_with(exp):
    def tanh_q24(u):
        a = np.minimum(np.abs(u), 32 << 16)
        t = exp(2 * a)
        return np.sign(u) * ((((1 << 24) - t) << 24) // ((1 << 24) + t))
    return tanh_q24


tanh_q24 = _tanh_with(exp_q24)


def isqrt(n):
    m = np.floor(np.sqrt(n * 1.0)).astype(np.int64)  # exact below 2**52, then made sure of
    m = m - (m * m > n)
    return m + ((m + 1) * (m + 1) <= n)


def div_trunc(a, b):
    return np.sign(a) * (np.abs(a) // b)


exp_q24_nb = njit(cache=True)(exp_q24)
tanh_q24_nb = njit(_tanh_with(exp_q24_nb))
div_trunc_nb = njit(cache=True)(div_trunc)


@njit(cache=True)
def isqrt_nb(n):
    """Bit-by-bit integer square root (as the C kernel does it)."""
    root = 0
    bit = np.int64(1) << 62
    while bit > n:
        bit >>= 2
    while bit != 0:
        if n >= root + bit:
            n -= root + bit
            root = (root >> 1) + bit
        else:
            root >>= 1
        bit >>= 2
    return root
