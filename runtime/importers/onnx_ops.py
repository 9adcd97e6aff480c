"""ONNX node converters for the importer in onnx.py: quantization, quantized-operator and
shape ops (the float ops and their QDQ fusion are in onnx_fused.py).

Quantized-operator ops (QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger) map one to one.
QDQ chains DequantizeLinear -> Conv / MatMul / Gemm / Add / AveragePool / GlobalAveragePool /
MaxPool [-> Relu / Clip] -> QuantizeLinear fuse into the integer ops of runtime/kernels/onnx_*.py
when every data input is a deferred DequantizeLinear and the op's only reader is the
QuantizeLinear (through at most one Relu / Clip); otherwise the float op runs on materialised
DequantizeLinear outputs, which is exactly the graph's float meaning.
"""
from __future__ import annotations

import numpy as np

from edgert.errors import FormatError, ModelError, UnsupportedOpError

from ..ir import Quant
from .onnx import Deferred, Walk, broadcast_params, node_label, quant_attrs, tensor_array

QTYPES = ("int8", "uint8")


class Node:
    """Attribute and input access for one ONNX node, with errors that name it."""

    def __init__(self, walk: Walk, proto):
        from onnx import helper

        self.walk, self.proto = walk, proto
        self.attrs = {}
        for a in proto.attribute:
            try:
                self.attrs[a.name] = helper.get_attribute_value(a)
            except Exception as e:  # onnx raises bare ValueError/TypeError on garbage attributes
                raise FormatError(f"{walk.where}: node {node_label(proto)}: malformed attribute {a.name!r} ({e})") from None

    def fail(self, what: str, cls=UnsupportedOpError):
        return cls(f"{self.walk.where}: node {node_label(self.proto)}: {what}")

    def input(self, k: int) -> str | None:
        return self.proto.input[k] if k < len(self.proto.input) and self.proto.input[k] else None

    def need(self, k: int) -> str:
        name = self.input(k)
        if name is None:
            raise self.fail(f"required input {k} is missing", FormatError)
        return name

    @property
    def output(self) -> str:
        return self.proto.output[0]

    def get_int(self, name, default: int) -> int:
        v = self.attrs.get(name, default)
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.fail(f"attribute {name} must be an int, got {v!r}", FormatError)
        return v

    def get_float(self, name, default: float) -> float:
        v = self.attrs.get(name, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.fail(f"attribute {name} must be a float, got {v!r}", FormatError)
        return float(v)

    def get_str(self, name, default: str) -> str:
        v = self.attrs.get(name, default)
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        if not isinstance(v, str):
            raise self.fail(f"attribute {name} must be a string, got {v!r}", FormatError)
        return v

    def ints(self, name, default):
        v = self.attrs.get(name, default)
        if not isinstance(v, (list, tuple)) or not all(isinstance(i, int) for i in v):
            raise self.fail(f"attribute {name} must be a list of ints, got {v!r}", FormatError)
        return [int(i) for i in v]

    def only(self, *allowed: str, **defaults) -> None:
        """Reject attributes this converter does not implement (or non-default values)."""
        for name, value in self.attrs.items():
            if name in allowed:
                continue
            if name in defaults and value == defaults[name]:
                continue
            raise self.fail(f"attribute {name}={value!r} is not supported")


# -- quantization parameters --------------------------------------------------------------

def qparams(n: Node, scale_k: int, zp_k: int | None, what: str, dtype: str | None = None):
    """(scale float32[], zero_point int32[], zp dtype) of constant quantization inputs."""
    scale = np.asarray(n.walk.const(n.proto, n.need(scale_k), f"{what} scale"))
    if scale.dtype != np.float32:
        raise n.fail(f"{what} scale has dtype {scale.dtype}; only float32 scales are supported")
    scale = scale.reshape(-1)
    if scale.size == 0 or not np.all(np.isfinite(scale)) or not np.all(scale > 0):
        raise n.fail(f"{what} scale must be finite and positive, got {scale[:8].tolist()}", ModelError)
    zp_name = n.input(zp_k) if zp_k is not None else None
    if zp_name is None:
        zp, zdt = np.zeros(scale.size, np.int32), dtype or "uint8"
    else:
        zraw = np.asarray(n.walk.const(n.proto, zp_name, f"{what} zero point"))
        zdt = zraw.dtype.name
        if zdt not in QTYPES + ("int32",):
            raise n.fail(f"{what} zero point has dtype {zdt}; supported: int8, uint8 (int32 for biases)")
        zp = zraw.astype(np.int32).reshape(-1)
        if zp.size == 1 and scale.size > 1:
            zp = np.full(scale.size, zp[0], np.int32)
        if zp.size != scale.size:
            raise n.fail(f"{what} scale has {scale.size} values but its zero point {zp.size}", FormatError)
    return scale.astype(np.float32), zp, zdt


def qtype_of(n: Node, name: str, what: str) -> str:
    dtype = n.walk.info(n.proto, name)[0]
    if dtype not in QTYPES:
        raise n.fail(f"{what} {name!r} has dtype {dtype}; expected int8 or uint8")
    return dtype


def axis_of(n: Node, ndim: int, count: int, default: int = 1) -> int:
    axis = n.get_int("axis", default)
    if count == 1:
        return 0
    if not -ndim <= axis < ndim:
        raise n.fail(f"axis {axis} out of range for rank {ndim}", FormatError)
    return axis % ndim


def check_channels(n: Node, shape, axis: int, count: int, what: str) -> None:
    if count > 1 and shape[axis] != count:
        raise n.fail(f"{what}: {count} per-axis parameters for dimension {shape[axis]} (axis {axis})", FormatError)


def attach_quant(walk: Walk, name: str, scale, zp, axis: int = 0) -> None:
    """Record a runtime tensor's quantization (for Session.quantize / dequantize and `info`)."""
    i = walk.tensors.get(name)
    if i is not None and walk.graph.tensors[i].quant is None:
        walk.graph.tensors[i].quant = Quant(scale, zp, axis)


def multiplier(n: "Node", in_scale, w_scale, out_scale) -> np.ndarray:
    """float32(float32(in_scale * w_scale) / out_scale), per channel of w_scale."""
    with np.errstate(over="ignore", under="ignore"):
        m = (np.float32(in_scale) * w_scale.astype(np.float32) / np.float32(out_scale)).astype(np.float32)
    if not np.all(np.isfinite(m)) or not np.all(m > 0):
        raise n.fail(f"requantization scale in_scale * w_scale / out_scale is not a positive float32 "
                     f"({m[:4].tolist()}): the scales are out of range", ModelError)
    return m


def quantize_np(x: np.ndarray, scale, zp, dtype: str) -> np.ndarray:
    info = np.iinfo(dtype)
    f = np.asarray(x, np.float32) / scale
    f = np.where(np.isnan(f), np.float32(0), f)
    return np.clip(np.rint(f) + zp, info.min, info.max).astype(dtype)


# -- QuantizeLinear / DequantizeLinear ----------------------------------------------------

def quantize_linear(walk: Walk, proto, n: Node) -> None:
    n.only("axis", "output_dtype", block_size=0, saturate=1, precision=0)
    x = n.need(0)
    xdt, shape = walk.info(proto, x)
    if xdt != "float32":
        raise n.fail(f"input {x!r} has dtype {xdt}; QuantizeLinear takes float32")
    scale, zp, zdt = qparams(n, 1, 2, "y", _output_dtype(n))
    if zdt not in QTYPES:
        raise n.fail(f"output type {zdt} is not supported (int8 / uint8)")
    axis = axis_of(n, len(shape), scale.size)
    check_channels(n, shape, axis, scale.size, "y_scale")
    if x in walk.consts:
        s, z = broadcast_params(Deferred(x, scale, zp, axis), len(shape))
        walk.consts[n.output] = quantize_np(walk.consts[x], s, z, zdt)
        return
    out = walk.add(n.output, zdt, shape, quant=Quant(scale, zp, axis))
    walk.graph.add_node("ONNX_QUANTIZE_LINEAR", [walk.tensor(proto, x)], [out], quant_attrs(scale, zp, axis),
                        name=proto.name)


def _output_dtype(n: Node) -> str:
    """The output type when no zero point says it: the output_dtype attribute, else uint8."""
    code = n.get_int("output_dtype", 0)
    if code not in (0, 2, 3):
        raise n.fail(f"output_dtype {code} is not supported (UINT8, INT8)")
    return "int8" if code == 3 else "uint8"


def dequantize_linear(walk: Walk, proto, n: Node) -> None:
    n.only("axis", block_size=0, output_dtype=0)
    x = n.need(0)
    xdt, shape = walk.info(proto, x)
    if xdt not in QTYPES + ("int32",):
        raise n.fail(f"input {x!r} has dtype {xdt}; supported: int8, uint8, int32")
    scale, zp, zdt = qparams(n, 1, 2, "x", xdt)
    if n.input(2) is not None and zdt != xdt:
        raise n.fail(f"zero point dtype {zdt} differs from the input's {xdt}", FormatError)
    axis = axis_of(n, len(shape), scale.size)
    check_channels(n, shape, axis, scale.size, "x_scale")
    walk.deferred[n.output] = Deferred(x, scale, zp, axis)
    attach_quant(walk, x, scale, zp, axis)


# -- quantized-operator ops ---------------------------------------------------------------

def conv_attrs(n: Node, x_shape, w_shape) -> tuple[dict, tuple[int, ...]]:
    """Normalised 2-D conv / pool geometry and the output shape (N, M, OH, OW)."""
    if len(x_shape) != 4 or len(w_shape) != 4:
        raise n.fail(f"only 2-D convolution (4-D NCHW tensors) is supported; got input {x_shape}, weight {w_shape}")
    kernel = list(w_shape[2:])
    if "kernel_shape" in n.attrs and n.ints("kernel_shape", kernel) != kernel:
        raise n.fail(f"kernel_shape {n.attrs['kernel_shape']} does not match the weight shape {w_shape}", FormatError)
    geom, spatial = window(n, x_shape, kernel)
    group = n.get_int("group", 1)
    if group < 1 or x_shape[1] % group or w_shape[0] % group or w_shape[1] * group != x_shape[1]:
        raise n.fail(f"group={group} does not fit input channels {x_shape[1]} and weight {w_shape}", ModelError)
    geom["group"] = group
    return geom, (x_shape[0], w_shape[0]) + spatial


def window(n: Node, x_shape, kernel, dilated: bool = True) -> tuple[dict, tuple[int, int]]:
    """strides / pads / dilations for a 2-D window op, resolving auto_pad on static shapes."""
    strides = n.ints("strides", [1, 1])
    dilations = n.ints("dilations", [1, 1]) if dilated else [1, 1]
    pads = n.ints("pads", [0, 0, 0, 0])
    if len(strides) != 2 or len(dilations) != 2 or len(pads) != 4 or min(strides + dilations) < 1 or min(pads) < 0 \
            or min(kernel) < 1:
        raise n.fail(f"bad strides {strides}, dilations {dilations}, pads {pads} or kernel {kernel} for a 2-D op",
                     FormatError)
    if n.get_int("ceil_mode", 0):
        raise n.fail("ceil_mode=1 is not supported")
    auto_pad = n.get_str("auto_pad", "NOTSET")
    spatial, begin, end = [], [], []
    for i in range(2):
        size, k, s, d = x_shape[2 + i], kernel[i], strides[i], dilations[i]
        span = d * (k - 1) + 1
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            out = -(-size // s)
            total = max(0, (out - 1) * s + span - size)
            small, big = total // 2, total - total // 2
            b, e = (small, big) if auto_pad == "SAME_UPPER" else (big, small)
        elif auto_pad == "VALID":
            b, e = 0, 0
        elif auto_pad == "NOTSET":
            b, e = pads[i], pads[2 + i]
        else:
            raise n.fail(f"auto_pad={auto_pad!r} is not supported (NOTSET, SAME_UPPER, SAME_LOWER, VALID)")
        out = (size + b + e - span) // s + 1
        if out < 1:
            raise n.fail(f"window {k} (dilation {d}) does not fit input size {size} with pads {b},{e}", ModelError)
        spatial.append(out)
        begin.append(b)
        end.append(e)
    geom = {"strides": strides, "pads": begin + end}
    if dilated:
        geom["dilations"] = dilations
    return geom, tuple(spatial)


def _check_channels(n: Node, scale, count: int, what: str) -> None:
    if scale.size not in (1, count):
        raise n.fail(f"{what} has {scale.size} values; expected 1 or {count}", FormatError)


def qlinear_conv(walk: Walk, proto, n: Node) -> None:
    n.only("auto_pad", "dilations", "group", "kernel_shape", "pads", "strides")
    x, w = n.need(0), n.need(3)
    xdt, x_shape = qtype_of(n, x, "x"), walk.info(proto, x)[1]
    qtype_of(n, w, "w")
    w_shape = walk.info(proto, w)[1]
    xs, xzp, _ = qparams(n, 1, 2, "x")
    ws, wzp, _ = qparams(n, 4, 5, "w")
    ys, yzp, ydt = qparams(n, 6, 7, "y", xdt)
    if xs.size != 1 or ys.size != 1 or ydt not in QTYPES:
        raise n.fail(f"x and y must be int8 / uint8 quantized per tensor (y: {ydt}, {ys.size} scales)")
    _check_channels(n, ws, w_shape[0], "w_scale")
    geom, out_shape = conv_attrs(n, x_shape, w_shape)
    bias = n.input(8)
    if bias is not None:
        _check_bias(n, bias, w_shape[0])
    attach_quant(walk, x, xs, xzp)
    out = walk.add(n.output, ydt, out_shape, quant=Quant(ys, yzp))
    attrs = {**geom, "x_zero_point": int(xzp[0]), "w_zero_point": wzp.tolist(), "y_zero_point": int(yzp[0]),
             "multiplier": multiplier(n, xs[0], ws, ys[0]).tolist()}
    ins = [walk.tensor(proto, x), walk.tensor(proto, w)] + ([walk.tensor(proto, bias)] if bias else [])
    walk.graph.add_node("ONNX_QLINEAR_CONV", ins, [out], attrs, name=proto.name, scratch=plane_scratch(out_shape))


def plane_scratch(out_shape) -> int:
    """Bytes of the C conv kernel's int32 accumulator plane (one output channel)."""
    return 4 * out_shape[2] * out_shape[3]


def _check_bias(n: Node, bias: str, count: int) -> None:
    dtype, shape = n.walk.info(n.proto, bias)
    if dtype != "int32" or int(np.prod(shape)) != count:
        raise n.fail(f"bias {bias!r} must be int32 with {count} values, got {dtype} {shape}", ModelError)


def _zero_point(n: Node, k: int, count_ok: tuple[int, ...], what: str) -> np.ndarray:
    name = n.input(k)
    if name is None:
        return np.zeros(1, np.int32)
    zp = np.asarray(n.walk.const(n.proto, name, what))
    if zp.dtype.name not in QTYPES:
        raise n.fail(f"{what} has dtype {zp.dtype}; expected int8 or uint8")
    zp = zp.astype(np.int32).reshape(-1)
    if zp.size not in count_ok:
        raise n.fail(f"{what} has {zp.size} values; supported: {sorted(set(count_ok))} (per tensor or per output channel)")
    return zp


def conv_integer(walk: Walk, proto, n: Node) -> None:
    n.only("auto_pad", "dilations", "group", "kernel_shape", "pads", "strides")
    x, w = n.need(0), n.need(1)
    qtype_of(n, x, "x")
    qtype_of(n, w, "w")
    x_shape, w_shape = walk.info(proto, x)[1], walk.info(proto, w)[1]
    geom, out_shape = conv_attrs(n, x_shape, w_shape)
    xzp = _zero_point(n, 2, (1,), "x_zero_point")
    wzp = _zero_point(n, 3, (1, w_shape[0]), "w_zero_point")
    out = walk.add(n.output, "int32", out_shape)
    walk.graph.add_node("ONNX_CONV_INTEGER", [walk.tensor(proto, x), walk.tensor(proto, w)], [out],
                        {**geom, "x_zero_point": int(xzp[0]), "w_zero_point": wzp.tolist()}, name=proto.name)


def matmul_shape(n: Node, a_shape, b_shape) -> tuple[int, ...]:
    """Output shape of a (..., M, K) x (..., K, N) product whose batch dims are the output's or
    absent / all ones on each side (what the kernels' flat batch loop handles)."""
    if len(a_shape) < 2 or len(b_shape) < 2:
        raise n.fail(f"1-D MatMul operands are not supported (shapes {a_shape}, {b_shape})")
    if a_shape[-1] != b_shape[-2]:
        raise n.fail(f"inner dimensions differ: {a_shape} x {b_shape}", ModelError)
    ba, bb = a_shape[:-2], b_shape[:-2]
    try:
        batch = np.broadcast_shapes(ba, bb)
    except ValueError:
        raise n.fail(f"batch dimensions {ba} and {bb} do not broadcast", ModelError) from None
    for side in (ba, bb):
        if int(np.prod(side)) not in (1, int(np.prod(batch))) or (int(np.prod(side)) > 1 and
                                                                  tuple(side) != tuple(batch[-len(side):])):
            raise n.fail(f"batch broadcasting {ba} x {bb} is not supported (each side must have all the batch "
                         "dimensions or none)")
        if int(np.prod(side)) > 1 and len(side) != len(batch):
            raise n.fail(f"batch broadcasting {ba} x {bb} is not supported")
    return tuple(batch) + (a_shape[-2], b_shape[-1])


def qlinear_matmul(walk: Walk, proto, n: Node) -> None:
    n.only()
    a, b = n.need(0), n.need(3)
    qtype_of(n, a, "a")
    qtype_of(n, b, "b")
    a_shape, b_shape = walk.info(proto, a)[1], walk.info(proto, b)[1]
    out_shape = matmul_shape(n, a_shape, b_shape)
    a_s, a_zp, _ = qparams(n, 1, 2, "a")
    b_s, b_zp, _ = qparams(n, 4, 5, "b")
    y_s, y_zp, ydt = qparams(n, 6, 7, "y", qtype_of(n, a, "a"))
    if a_s.size != 1 or y_s.size != 1 or ydt not in QTYPES:
        raise n.fail(f"a and y must be int8 / uint8 quantized per tensor (y: {ydt}; per-row a scales are "
                     "not supported)")
    _check_channels(n, b_s, b_shape[-1], "b_scale (per column of b)")
    attach_quant(walk, a, a_s, a_zp)
    out = walk.add(n.output, ydt, out_shape, quant=Quant(y_s, y_zp))
    walk.graph.add_node("ONNX_QLINEAR_MATMUL", [walk.tensor(proto, a), walk.tensor(proto, b)], [out],
                        {"a_zero_point": int(a_zp[0]), "b_zero_point": b_zp.tolist(), "y_zero_point": int(y_zp[0]),
                         "multiplier": multiplier(n, a_s[0], b_s, y_s[0]).tolist()}, name=proto.name,
                        scratch=4 * out_shape[-1])  # the C kernel's int32 accumulator row


def matmul_integer(walk: Walk, proto, n: Node) -> None:
    n.only()
    a, b = n.need(0), n.need(1)
    qtype_of(n, a, "A")
    qtype_of(n, b, "B")
    a_shape, b_shape = walk.info(proto, a)[1], walk.info(proto, b)[1]
    out_shape = matmul_shape(n, a_shape, b_shape)
    a_zp = _zero_point(n, 2, (1,), "a_zero_point (per-row values are not supported)")
    b_zp = _zero_point(n, 3, (1, b_shape[-1]), "b_zero_point")
    out = walk.add(n.output, "int32", out_shape)
    walk.graph.add_node("ONNX_MATMUL_INTEGER", [walk.tensor(proto, a), walk.tensor(proto, b)], [out],
                        {"a_zero_point": int(a_zp[0]), "b_zero_point": b_zp.tolist()}, name=proto.name)


# -- shape ops ------------------------------------------------------------------------------

def _reshape_to(walk: Walk, proto, n: Node, shape: tuple[int, ...]) -> None:
    x = n.need(0)
    dtype, in_shape = walk.info(proto, x)
    if int(np.prod(shape)) != int(np.prod(in_shape)):
        raise n.fail(f"cannot reshape {in_shape} to {shape}", ModelError)
    if x in walk.consts:
        walk.consts[n.output] = walk.consts[x].reshape(shape)
        return
    d = walk.deferred.get(x)
    if d is not None and d.per_tensor:  # reshape the integers; the DQ stays deferred
        src_dtype = walk.info(proto, d.source)[0]
        if d.source in walk.consts:
            walk.consts[n.output + "/q"] = walk.consts[d.source].reshape(shape)
        else:
            out = walk.add(n.output + "/q", src_dtype, shape, quant=Quant(d.scale, d.zero_point))
            walk.graph.add_node("RESHAPE", [walk.tensor(proto, d.source)], [out], name=proto.name)
        walk.deferred[n.output] = Deferred(n.output + "/q", d.scale, d.zero_point, 0)
        return
    src = walk.graph.tensors[walk.tensor(proto, x)]
    out = walk.add(n.output, dtype, shape, quant=src.quant)
    walk.graph.add_node("RESHAPE", [walk.tensor(proto, x)], [out], name=proto.name)


def reshape(walk: Walk, proto, n: Node) -> None:
    n.only(allowzero=0)
    in_shape = walk.info(proto, n.need(0))[1]
    spec = np.asarray(walk.const(proto, n.need(1), "shape")).reshape(-1)
    if spec.dtype != np.int64 or spec.size > 8:
        raise n.fail(f"shape must be an int64 vector of at most 8 values, got {spec.dtype} {spec.shape}", FormatError)
    shape = [in_shape[i] if v == 0 and i < len(in_shape) else int(v) for i, v in enumerate(spec)]
    if shape.count(-1) > 1 or any(d < -1 for d in shape):
        raise n.fail(f"bad target shape {spec.tolist()}", FormatError)
    if -1 in shape:
        known = int(np.prod([d for d in shape if d != -1]))
        total = int(np.prod(in_shape))
        if known == 0 or total % known:
            raise n.fail(f"cannot reshape {in_shape} to {spec.tolist()}", ModelError)
        shape[shape.index(-1)] = total // known
    _reshape_to(walk, proto, n, tuple(shape))


def flatten(walk: Walk, proto, n: Node) -> None:
    n.only("axis")
    in_shape = walk.info(proto, n.need(0))[1]
    axis = n.get_int("axis", 1)
    if not -len(in_shape) <= axis <= len(in_shape):
        raise n.fail(f"axis {axis} out of range for rank {len(in_shape)}", FormatError)
    axis = axis + len(in_shape) if axis < 0 else axis
    _reshape_to(walk, proto, n, (int(np.prod(in_shape[:axis])), int(np.prod(in_shape[axis:]))))


def identity(walk: Walk, proto, n: Node) -> None:
    n.only()
    _reshape_to(walk, proto, n, walk.info(proto, n.need(0))[1])


def constant(walk: Walk, proto, n: Node) -> None:
    if len(proto.attribute) != 1 or proto.attribute[0].name != "value":
        raise n.fail("only Constant with a tensor `value` attribute is supported")
    walk.consts[n.output] = tensor_array(proto.attribute[0].t, f"Constant {n.output!r}", walk.where)

CONVERTERS = {
    "QuantizeLinear": quantize_linear,
    "DequantizeLinear": dequantize_linear,
    "QLinearConv": qlinear_conv,
    "QLinearMatMul": qlinear_matmul,
    "ConvInteger": conv_integer,
    "MatMulInteger": matmul_integer,
    "Reshape": reshape,
    "Flatten": flatten,
    "Identity": identity,
    "Constant": constant,
}
