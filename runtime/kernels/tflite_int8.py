"""TFLite int8 ops, numpy reference: the TFLite Micro reference-kernel arithmetic in code.

Bit-exact with the tflite-micro wheel. The importer (runtime/importers/tflite.py) has already
turned every float scale into integers: per-channel (multiplier, shift) pairs, activation
clamp ranges, ADD and SOFTMAX fixed-point parameters. Everything here is integer arithmetic
in int64 numpy arrays holding int32 values (wrapped where C's int32 would wrap).
Formulas: docs/int8.md, shared/reference/int8-semantics.md sections 2-9.
"""
from __future__ import annotations

import numpy as np

from edgert.errors import ModelError

from . import Call, kernel, op_info

I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1


# ---- gemmlowp fixed-point primitives (vectorised; inputs hold int32 values) ------------

def wrap32(x):
    """Two's-complement int32 wrap-around of an int64 array."""
    return ((np.asarray(x, np.int64) + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def srdhm(a, b):
    """SaturatingRoundingDoublingHighMul: round(a*b / 2^31), ties toward +inf, saturating."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    p = a * b
    p = p + np.where(p >= 0, 1 << 30, 1 - (1 << 30))
    q = np.where(p >= 0, p >> 31, -((-p) >> 31))  # divide by 2^31, truncating toward zero
    return np.where((a == I32_MIN) & (b == I32_MIN), I32_MAX, q)


def rdbpot(x, e):
    """RoundingDivideByPOT: round(x / 2^e), ties away from zero."""
    x, e = np.asarray(x, np.int64), np.asarray(e, np.int64)
    mask = (np.int64(1) << e) - 1
    threshold = (mask >> 1) + (x < 0)
    return (x >> e) + ((x & mask) > threshold)


def mbqm(x, multiplier, shift):
    """MultiplyByQuantizedMultiplier, double rounding (TFLM default build)."""
    shift = np.asarray(shift, np.int64)
    left, right = np.maximum(shift, 0), np.maximum(-shift, 0)
    return rdbpot(srdhm(wrap32(np.asarray(x, np.int64) << left), multiplier), right)


def sat_shl(x, k: int):
    return np.clip(np.asarray(x, np.int64) << k, I32_MIN, I32_MAX)


def _per_channel(call: Call, name: str) -> np.ndarray:
    return np.atleast_1d(np.asarray(call.attr(name), np.int64))


def _requantize(acc, call: Call) -> np.ndarray:
    """acc (int32 values, channel last) -> clamped int8 output."""
    y = mbqm(acc, _per_channel(call, "multiplier"), _per_channel(call, "shift")) + call.attr("zp_out")
    return np.clip(y, call.attr("act_min"), call.attr("act_max")).astype(np.int8)


# ---- checks: a hostile .ert gets a ModelError, never a wild loop or a huge allocation ----

MAX_WORK = 1 << 27  # elements of any padded image or window view a kernel may materialise
_GEOM = {"stride": 2, "dilation": 2, "pad": 2}
_REQUANT = {"multiplier": "C", "shift": "C", "zp_in": 1, "zp_out": 1}
_ACT = {"act_min": 1, "act_max": 1}
ATTR_SPEC = {  # attr -> number of int32 values ("C": one per output channel)
    "CONV_2D": {**_GEOM, **_REQUANT, **_ACT},
    "DEPTHWISE_CONV_2D": {**_GEOM, **_REQUANT, **_ACT, "depth_multiplier": 1},
    "FULLY_CONNECTED": {**_REQUANT, **_ACT},
    "AVERAGE_POOL_2D": {**_GEOM, "filter": 2, **_ACT},
    "MAX_POOL_2D": {**_GEOM, "filter": 2, **_ACT},
    "ADD": {"left_shift": 1, "zp": 3, "multiplier": 3, "shift": 3, **_ACT},
    "SOFTMAX": {"multiplier": 1, "shift": 1, "diff_min": 1},
    "REQUANTIZE": {"multiplier": 1, "shift": 1, "zp_in": 1, "zp_out": 1},
    "QUANTIZE": {"zp_out": 1},
    "DEQUANTIZE": {"zp_in": 1},
    "CONV_2D_F32": _GEOM, "DEPTHWISE_CONV_2D_F32": {**_GEOM, "depth_multiplier": 1},
    "AVERAGE_POOL_2D_F32": {**_GEOM, "filter": 2}, "MAX_POOL_2D_F32": {**_GEOM, "filter": 2},
}
_FLOAT_ATTRS = {op: ("act_min", "act_max") for op in ("CONV_2D_F32", "DEPTHWISE_CONV_2D_F32", "FULLY_CONNECTED_F32",
                                                      "AVERAGE_POOL_2D_F32", "MAX_POOL_2D_F32", "ADD_F32")}
_FLOAT_ATTRS.update({"SOFTMAX_F32": ("beta",), "QUANTIZE": ("scale",), "DEQUANTIZE": ("scale",)})
_RANGES = {"stride": (1, 1 << 16), "dilation": (1, 1 << 16), "pad": (0, 1 << 16), "filter": (1, 1 << 16),
           "shift": (-31, 31), "zp_in": (-128, 127), "zp_out": (-128, 127), "zp": (-128, 127),
           "act_min": (-128, 127), "act_max": (-128, 127), "left_shift": (0, 23), "multiplier": (0, I32_MAX),
           "depth_multiplier": (1, 1 << 16)}


def _bad(call: Call, what: str):
    raise ModelError(f"node {call.node.name!r} ({call.node.op}): {what}")


def check_attrs(call: Call) -> None:
    """Every attribute the op reads is present, integer, of the right length and in range."""
    y = call.out_tensor(0).shape
    for name, count in ATTR_SPEC.get(call.node.op, {}).items():
        if name == "dilation" and name not in call.node.attrs:
            continue
        v = np.atleast_1d(np.asarray(call.attr(name)))
        n = (y[-1] if y else 1) if count == "C" else count
        if v.dtype.kind not in "iu" or v.size != n:
            _bad(call, f"attribute {name!r} must be {n} integers")
        lo, hi = _RANGES.get(name, (I32_MIN, I32_MAX))
        if v.min() < lo or v.max() > hi:
            _bad(call, f"attribute {name!r} outside [{lo}, {hi}]")
    for name in _FLOAT_ATTRS.get(call.node.op, ()):
        v = np.atleast_1d(np.asarray(call.attr(name)))
        if v.dtype.kind != "f" or v.size != 1 or np.isnan(v[0]):
            _bad(call, f"attribute {name!r} must be one number")
    if call.node.op in ("QUANTIZE", "DEQUANTIZE") and not call.attr("scale") > 0:
        _bad(call, "attribute 'scale' must be positive")
    if call.node.op in _UNARY:
        x = call.inputs[0]
        if x is None or x.size == 0 or x.size != int(np.prod(y)) or (call.node.op.startswith("SOFTMAX") and x.shape[-1:] != y[-1:]):
            _bad(call, "input and output sizes do not fit the op")


_UNARY = ("SOFTMAX", "SOFTMAX_F32", "QUANTIZE", "REQUANTIZE", "DEQUANTIZE", "RESHAPE")


def check_shapes(call: Call) -> None:
    """Raise ModelError unless the node's tensors and attributes fit its op."""
    check_attrs(call)
    op = call.node.op.removesuffix("_F32")
    x, y = call.inputs[0], call.out_tensor(0).shape
    ok = True
    if op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        w = call.inputs[1]
        cout = y[3] if len(y) == 4 else -1
        ok = x.ndim == 4 and w.ndim == 4 and len(y) == 4 and y[0] == x.shape[0]
        if op == "CONV_2D":
            ok = ok and w.shape[3] == cout and w.shape[2] == x.shape[3]
        else:
            ok = ok and w.shape[0] == 1 and w.shape[3] == cout and x.shape[3] * call.attr("depth_multiplier") == cout
        ok = ok and all(v is None or v.size == cout for v in call.inputs[2:])
        ok = ok and _windows_fit(call, x.shape, w.shape[:2] if op == "CONV_2D" else w.shape[1:3])
    elif op == "FULLY_CONNECTED":
        w = call.inputs[1]
        ok = w.ndim == 2 and w.shape[1] > 0 and x.size % w.shape[1] == 0
        ok = ok and int(np.prod(y)) == x.size // max(w.shape[1], 1) * w.shape[0]
        ok = ok and all(v is None or v.size == w.shape[0] for v in call.inputs[2:])
    elif op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        ok = x.ndim == 4 and len(y) == 4 and y[0] == x.shape[0] and y[3] == x.shape[3]
        ok = ok and _windows_fit(call, x.shape, call.attr("filter"))
    elif op == "ADD":
        try:
            ok = np.broadcast_shapes(x.shape, call.inputs[1].shape) == tuple(y)
        except ValueError:
            ok = False
    if not ok:
        _bad(call, "tensor shapes or attributes do not fit the op")


def _windows_fit(call: Call, x_shape, k) -> bool:
    """Windows stay inside the padded image and the padded image and window view are bounded."""
    n, h, w, c = x_shape
    _, oh, ow, cout = call.out_tensor(0).shape
    (sh, sw), (dh, dw), (ph, pw) = call.attr("stride"), call.attr("dilation", [1, 1]), call.attr("pad")
    eh, ew = (k[0] - 1) * dh + 1, (k[1] - 1) * dw + 1
    if (oh - 1) * sh + eh > h + 2 * ph + 1 or (ow - 1) * sw + ew > w + 2 * pw + 1 or oh < 1 or ow < 1:
        return False
    return n * (h + 2 * ph + eh) * (w + 2 * pw + ew) * max(c, cout) <= MAX_WORK and \
        n * oh * ow * k[0] * k[1] * max(c, cout) <= MAX_WORK


# ---- convolutions ---------------------------------------------------------------------

def padded_windows(x: np.ndarray, call: Call, kh: int, kw: int, pad_value) -> np.ndarray:
    """(N, OH, OW, KH, KW, C) view of every filter window. The input is padded with
    `pad_value` on all sides, which for conv (pad = zp_in) is the same as TFLM skipping the
    taps outside the image."""
    sh, sw = call.attr("stride")
    dh, dw = call.attr("dilation", [1, 1])
    ph, pw = call.attr("pad")
    oh, ow = call.out_tensor(0).shape[1:3]
    need_h = (oh - 1) * sh + (kh - 1) * dh + 1
    need_w = (ow - 1) * sw + (kw - 1) * dw + 1
    n, h, w, c = x.shape
    xp = np.full((n, max(need_h, ph + h), max(need_w, pw + w), c), pad_value, dtype=x.dtype)
    xp[:, ph:ph + h, pw:pw + w, :] = x
    s = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp, (n, oh, ow, kh, kw, c), (s[0], s[1] * sh, s[2] * sw, s[1] * dh, s[2] * dw, s[3]), writeable=False)


@kernel("CONV_2D", "numpy")
def conv2d(call: Call):
    """Filter layout [KH, KW, C_in, C_out] (the importer transposes TFLite's OHWI)."""
    check_shapes(call)
    x, w, bias = call.inputs[:3]
    zp_in = call.attr("zp_in")
    kh, kw, _, cout = w.shape
    win = padded_windows(x, call, kh, kw, zp_in).astype(np.int64) - zp_in
    acc = np.tensordot(win, w.astype(np.int64), axes=([3, 4, 5], [0, 1, 2])) + bias
    return [_requantize(wrap32(acc), call)]


@kernel("DEPTHWISE_CONV_2D", "numpy")
def depthwise_conv2d(call: Call):
    check_shapes(call)
    x, w, bias = call.inputs[:3]
    zp_in = call.attr("zp_in")
    _, kh, kw, cout = w.shape
    mult = call.attr("depth_multiplier")
    # output channel oc = ic * mult + m reads input channel ic
    x = np.repeat(x, mult, axis=3) if mult > 1 else x
    win = padded_windows(x, call, kh, kw, zp_in).astype(np.int64) - zp_in
    acc = np.einsum("nhwijc,ijc->nhwc", win, w[0].astype(np.int64)) + bias
    return [_requantize(wrap32(acc), call)]


@kernel("FULLY_CONNECTED", "numpy")
def fully_connected(call: Call):
    check_shapes(call)
    x, w, bias = call.inputs[:3]
    units, depth = w.shape
    acc = (x.reshape(-1, depth).astype(np.int64) - call.attr("zp_in")) @ w.T.astype(np.int64) + bias
    return [_requantize(wrap32(acc), call).reshape(call.out_tensor(0).shape)]


def _weight_shape(node, tensors, rank: int) -> tuple[int, ...] | None:
    """Shape of input 1 if it has the expected rank (MAC counts must not fail on a bad file:
    the kernels report that)."""
    if len(node.inputs) < 2 or not 0 <= node.inputs[1] < len(tensors):
        return None
    shape = tensors[node.inputs[1]].shape
    return shape if len(shape) == rank else None


def conv_macs(node, tensors):
    w = _weight_shape(node, tensors, 4)  # conv [KH, KW, C_in, C_out], depthwise [1, KH, KW, C]
    if w is None:
        return 0
    per_output = w[1] * w[2] if node.op.startswith("DEPTHWISE") else w[0] * w[1] * w[2]
    return int(np.prod(tensors[node.outputs[0]].shape)) * per_output


def fc_macs(node, tensors):
    w = _weight_shape(node, tensors, 2)
    if w is None or w[0] == 0:
        return 0
    return w[0] * w[1] * (int(np.prod(tensors[node.outputs[0]].shape)) // w[0])


# ---- pooling --------------------------------------------------------------------------

def pool_windows(x: np.ndarray, call: Call):
    """(windows of x padded with 0, windows of an in-image mask) for a pooling op."""
    check_shapes(call)
    fh, fw = call.attr("filter")
    inside = np.ones(x.shape[:3] + (1,), np.int64)
    return padded_windows(x.astype(np.int64), call, fh, fw, 0), padded_windows(inside, call, fh, fw, 0)


@kernel("AVERAGE_POOL_2D", "numpy")
def average_pool(call: Call):
    win, inside = pool_windows(call.inputs[0], call)
    total = win.sum(axis=(3, 4))
    count = inside.sum(axis=(3, 4))
    if np.any(count == 0):
        raise ModelError(f"node {call.node.name!r} (AVERAGE_POOL_2D): a window lies entirely outside the image")
    # round half away from zero with C's truncating division
    half = count // 2
    avg = np.where(total > 0, (total + half) // count, -((-total + half) // count))
    return [np.clip(avg, call.attr("act_min"), call.attr("act_max")).astype(np.int8)]


@kernel("MAX_POOL_2D", "numpy")
def max_pool(call: Call):
    win, inside = pool_windows(call.inputs[0], call)
    win = np.where(inside.astype(bool), win, -(1 << 40))  # outside taps never win
    return [np.clip(win.max(axis=(3, 4)), call.attr("act_min"), call.attr("act_max")).astype(np.int8)]


def pool_macs(node, tensors):
    window = np.atleast_1d(np.asarray(node.attrs.get("filter", 0)))
    taps = int(np.prod(window)) if window.dtype.kind in "iu" and window.size == 2 else 0
    return int(np.prod(tensors[node.outputs[0]].shape)) * taps


# ---- elementwise ----------------------------------------------------------------------

@kernel("ADD", "numpy")
def add(call: Call):
    check_shapes(call)
    a, b = (x.astype(np.int64) for x in call.inputs[:2])
    zp1, zp2, zpo = call.attr("zp")
    m1, m2, mo = call.attr("multiplier")
    sh1, sh2, sho = call.attr("shift")
    left = call.attr("left_shift")
    s1 = rdbpot(srdhm((a - zp1) << left, m1), -sh1)
    s2 = rdbpot(srdhm((b - zp2) << left, m2), -sh2)
    y = rdbpot(srdhm(wrap32(s1 + s2), mo), -sho) + zpo
    return [np.clip(y, call.attr("act_min"), call.attr("act_max")).astype(np.int8)]


@kernel("QUANTIZE", "numpy")
def quantize(call: Call):
    check_attrs(call)
    v = call.inputs[0].astype(np.float32) / np.float32(call.attr("scale"))
    q = np.trunc(v + np.copysign(np.float32(0.5), v))  # round half away from zero, in float32
    q = np.clip(q, -1e9, 1e9).astype(np.int64) + call.attr("zp_out")
    return [np.clip(q, -128, 127).astype(np.int8)]


@kernel("REQUANTIZE", "numpy")
def requantize(call: Call):
    check_attrs(call)
    x = call.inputs[0].astype(np.int64) - call.attr("zp_in")
    y = mbqm(x, call.attr("multiplier"), call.attr("shift")) + call.attr("zp_out")
    return [np.clip(y, -128, 127).astype(np.int8)]


@kernel("DEQUANTIZE", "numpy")
def dequantize(call: Call):
    check_attrs(call)
    scale = float(np.atleast_1d(call.attr("scale"))[0])
    return [(np.float64(scale) * (call.inputs[0].astype(np.float64) - call.attr("zp_in"))).astype(np.float32)]


def elementwise_macs(node, tensors):
    return int(np.prod(tensors[node.outputs[0]].shape))


# ---- softmax (gemmlowp fixed-point exp, no table) ---------------------------------------

def exp_on_interval(a):
    """exp(x) for x in [-1/4, 0) in Q0.31."""
    x = a + (1 << 28)
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4_4 = rdbpot(srdhm(x2, x2), 2)
    t = rdbpot(srdhm(x4_4 + x3, 715827883) + x2, 1)
    return 1895147668 + srdhm(1895147668, x + t)


def exp_on_negative_values(a):
    """exp(a) for a Q5.26 value a <= 0, as Q0.31."""
    quarter = 1 << 24
    amq = (a & (quarter - 1)) - quarter
    result = exp_on_interval(sat_shl(amq, 5))
    rem = amq - a
    for k, c in ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
                 (2, 39332535), (3, 720401), (4, 242)):
        result = np.where((rem >> (26 + k)) & 1, srdhm(result, c), result)
    return np.where(a == 0, I32_MAX, result)


def one_over_one_plus_x(a):
    """1 / (1 + a) for a in [0, 1) in Q0.31."""
    s = np.asarray(a, np.int64) + I32_MAX
    h = np.where(s >= 0, (s + 1) // 2, -((-(s - 1)) // 2))  # RoundingHalfSum, truncating
    x = 1515870810 + srdhm(h, -1010580540)
    for _ in range(3):
        x = x + sat_shl(srdhm(x, (1 << 29) - srdhm(h, x)), 2)
    return sat_shl(x, 1)


def clz32(v):
    v = np.asarray(v, np.int64)
    out = np.full(v.shape, 32, np.int64)
    nz = v > 0
    out[nz] = 31 - np.floor(np.log2(v[nz].astype(np.float64))).astype(np.int64)
    return out


@kernel("SOFTMAX", "numpy")
def softmax(call: Call):
    check_attrs(call)
    x = call.inputs[0]
    rows = x.reshape(-1, x.shape[-1]).astype(np.int64)
    d = rows - rows.max(axis=1, keepdims=True)
    keep = d >= call.attr("diff_min")
    e = exp_on_negative_values(srdhm(wrap32(d << call.attr("shift")), call.attr("multiplier")))
    total = wrap32(np.where(keep, rdbpot(e, 12), 0).sum(axis=1, keepdims=True))
    h = clz32(total)
    inv = one_over_one_plus_x(wrap32((total << h) - (1 << 31)))
    exponent = (12 - h) + 31 - 8
    y = rdbpot(srdhm(inv, e), exponent) - 128
    y = np.where(keep, np.clip(y, -128, 127), -128)
    return [y.astype(np.int8).reshape(x.shape)]


@kernel("RESHAPE", "numpy")
def reshape(call: Call):
    check_attrs(call)
    return [call.inputs[0].reshape(call.out_tensor(0).shape)]


for _op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
    op_info(_op, macs=conv_macs, family="tflite")
op_info("FULLY_CONNECTED", macs=fc_macs, family="tflite")
for _op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
    op_info(_op, macs=pool_macs, family="tflite")
for _op in ("QUANTIZE", "REQUANTIZE", "DEQUANTIZE", "SOFTMAX"):
    op_info(_op, macs=elementwise_macs, family="tflite")
# in place: ADD's output may overwrite a dying same-size input, RESHAPE's is its input's bytes
op_info("ADD", macs=elementwise_macs, family="tflite", inplace=(0, 1))
op_info("RESHAPE", family="tflite", inplace=(0,))
