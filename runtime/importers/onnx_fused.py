"""Float ONNX ops, and their QDQ-fused integer forms (see onnx_ops.py for the rule).

A fused op computes with ONNX-Runtime-style integer arithmetic (int32 sums, one float32
requantization, round half to even); Add and MaxPool, which need no sum, evaluate the QDQ
float graph exactly (runtime/kernels/onnx_*.py).
"""
from __future__ import annotations

import numpy as np

from edgert.errors import ModelError

from ..ir import Quant
from .onnx import Deferred, Walk
from .onnx_ops import (QTYPES, Node, _output_dtype, conv_attrs, matmul_shape, multiplier, plane_scratch, qparams,
                       quantize_np, window)

FUSIBLE = ("Conv", "MatMul", "Gemm", "Add", "AveragePool", "GlobalAveragePool", "MaxPool", "GlobalMaxPool")


def float_or_fused(walk: Walk, proto, n: Node) -> None:
    if proto.op_type in FUSIBLE and _try_fuse(walk, proto, n):
        return
    FLOAT[proto.op_type](walk, proto, n)


# -- fusion -------------------------------------------------------------------------------

class Tail:
    """The QuantizeLinear (and optional Relu / Clip before it) that ends a fusable chain."""

    def __init__(self, walk: Walk, act, q):
        self.walk, self.act, self.q = walk, act, q
        qn = Node(walk, q)
        self.scale, self.zp, self.dtype = qparams(qn, 1, 2, "y", _output_dtype(qn))
        self.name = q.output[0]

    def attrs(self) -> dict:
        lo, hi = np.iinfo(self.dtype).min, np.iinfo(self.dtype).max
        if self.act is not None:
            an = Node(self.walk, self.act)
            if self.act.op_type == "Relu":
                lo = int(self.zp[0])
            else:
                lo = int(quantize_np(_clip_bound(an, 1, "min", -np.inf), self.scale[0], self.zp[0], self.dtype))
                hi = int(quantize_np(_clip_bound(an, 2, "max", np.inf), self.scale[0], self.zp[0], self.dtype))
        return {"out_min": int(lo), "out_max": int(hi)}

    def output(self, shape) -> int:
        self.walk.fused.add(self.name)
        if self.act is not None:
            self.walk.fused.add(self.act.output[0])
        return self.walk.add(self.name, self.dtype, shape, quant=Quant(self.scale, self.zp))


def _plain(node) -> bool:
    """A default-domain node with a first output (what a fusable tail must be)."""
    return node is not None and node.domain in ("", "ai.onnx") and len(node.output) > 0 and bool(node.output[0])


def _tail(walk: Walk, proto) -> Tail | None:
    user = walk.only_consumer(proto.output[0])
    act = None
    if _plain(user) and user.op_type in ("Relu", "Clip"):
        act, user = user, walk.only_consumer(user.output[0])
    if not _plain(user) or user.op_type != "QuantizeLinear":
        return None
    params = list(user.input[1:]) + (list(act.input[1:]) if act is not None else [])
    if not all(walk.known(name) for name in params if name):
        return None  # defined later in the file (e.g. a Constant between op and Q): no fusion
    tail = Tail(walk, act, user)
    if tail.scale.size != 1 or tail.dtype not in QTYPES or any(a.name not in ("axis", "saturate") for a in user.attribute):
        return None
    return tail


def _dq(walk: Walk, name: str | None, per_tensor: bool = True) -> Deferred | None:
    d = walk.deferred.get(name) if name else None
    if d is None or (per_tensor and not d.per_tensor):
        return None
    if walk.info(None, d.source)[0] not in QTYPES:
        return None
    return d


def _try_fuse(walk: Walk, proto, n: Node) -> bool:
    tail = _tail(walk, proto)
    if tail is None:
        return False
    return FUSE[proto.op_type](walk, proto, n, tail)


def _int_bias(walk: Walk, name: str | None, acc_scale: np.ndarray, count: int):
    """A constant bias as int32 in units of acc_scale (the product of the input scales), or
    None when there is no bias; False when it cannot be expressed (no fusion)."""
    if name is None:
        return None
    d = walk.deferred.get(name)
    if d is not None and d.source in walk.consts:
        q = walk.consts[d.source]
        if q.dtype == np.int32 and not d.zero_point.any() and d.scale.size in (1, acc_scale.size) \
                and np.all(d.scale == acc_scale):
            return q.reshape(-1) if q.size == count else False
        real = walk.dequantized_const(name)
    elif name in walk.consts and walk.consts[name].dtype == np.float32:
        real = walk.consts[name]
    else:
        return False
    if real.size != count:
        return False
    q = np.rint(real.reshape(-1).astype(np.float64) / acc_scale.astype(np.float64))
    if np.any(np.abs(q) >= 2**31):
        return False
    return q.astype(np.int32)


def _bias_tensor(walk: Walk, name: str, values: np.ndarray) -> int:
    return walk.add(f"{name}/int32", "int32", values.shape, data=values)


def fuse_conv(walk: Walk, proto, n: Node, tail: Tail) -> bool:
    x, w = _dq(walk, n.input(0)), _dq(walk, n.input(1), per_tensor=False)
    if x is None or w is None:
        return False
    w_shape = walk.info(proto, w.source)[1]
    if not w.per_tensor and (w.axis != 0 or len(w_shape) != 4):
        return False
    x_shape = walk.info(proto, x.source)[1]
    geom, out_shape = conv_attrs(n, x_shape, w_shape)
    acc_scale = (np.float32(x.scale[0]) * w.scale).astype(np.float32)
    bias = _int_bias(walk, n.input(2), acc_scale, w_shape[0])
    if bias is False:
        return False
    ins = [walk.tensor(proto, x.source), walk.tensor(proto, w.source)]
    if bias is not None:
        ins.append(_bias_tensor(walk, n.input(2), bias))
    attrs = {**geom, "x_zero_point": int(x.zero_point[0]), "w_zero_point": w.zero_point.tolist(),
             "y_zero_point": int(tail.zp[0]), "multiplier": multiplier(n, x.scale[0], w.scale, tail.scale[0]).tolist(),
             **tail.attrs()}
    walk.graph.add_node("ONNX_QLINEAR_CONV", ins, [tail.output(out_shape)], attrs, name=proto.name,
                        scratch=plane_scratch(out_shape))
    return True


def _qmatmul(walk: Walk, proto, n: Node, tail: Tail, a: Deferred, b_source: str, b: Deferred, b_shape,
             bias_name: str | None) -> bool:
    """Emit ONNX_QLINEAR_MATMUL for a (..., K) x b (K, N) where b's per-channel axis is N."""
    a_shape = walk.info(proto, a.source)[1]
    out_shape = matmul_shape(n, a_shape, b_shape)
    acc_scale = (np.float32(a.scale[0]) * b.scale).astype(np.float32)
    bias = _int_bias(walk, bias_name, acc_scale, b_shape[-1])
    if bias is False:
        return False
    ins = [walk.tensor(proto, a.source), walk.tensor(proto, b_source)]
    if bias is not None:
        ins.append(_bias_tensor(walk, bias_name, bias))
    attrs = {"a_zero_point": int(a.zero_point[0]), "b_zero_point": b.zero_point.tolist(),
             "y_zero_point": int(tail.zp[0]), "multiplier": multiplier(n, a.scale[0], b.scale, tail.scale[0]).tolist(),
             **tail.attrs()}
    walk.graph.add_node("ONNX_QLINEAR_MATMUL", ins, [tail.output(out_shape)], attrs, name=proto.name,
                        scratch=4 * out_shape[-1])  # the C kernel's int32 accumulator row
    return True


def fuse_matmul(walk: Walk, proto, n: Node, tail: Tail) -> bool:
    a, b = _dq(walk, n.input(0)), _dq(walk, n.input(1), per_tensor=False)
    if a is None or b is None:
        return False
    b_shape = walk.info(proto, b.source)[1]
    if not b.per_tensor and b.axis != len(b_shape) - 1:
        return False
    return _qmatmul(walk, proto, n, tail, a, b.source, b, b_shape, None)


def fuse_gemm(walk: Walk, proto, n: Node, tail: Tail) -> bool:
    a, b = _dq(walk, n.input(0)), _dq(walk, n.input(1), per_tensor=False)
    if a is None or b is None or n.get_int("transA", 0) or n.get_float("alpha", 1.0) != 1.0 \
            or n.get_float("beta", 1.0) != 1.0:
        return False
    source, b_shape = b.source, walk.info(proto, b.source)[1]
    if len(b_shape) != 2 or len(walk.info(proto, a.source)[1]) != 2:
        return False
    column_axis = 1
    if n.get_int("transB", 0):
        if source not in walk.consts:
            return False
        source = f"{b.source}/transposed"
        walk.consts[source] = np.ascontiguousarray(walk.consts[b.source].T)
        b_shape, column_axis = b_shape[::-1], 0
    if not b.per_tensor and b.axis != column_axis:
        return False
    return _qmatmul(walk, proto, n, tail, a, source, b, b_shape, n.input(2))


def fuse_add(walk: Walk, proto, n: Node, tail: Tail) -> bool:
    a, b = _dq(walk, n.input(0)), _dq(walk, n.input(1))
    if a is None or b is None:
        return False
    shape = _broadcast(n, walk.info(proto, a.source)[1], walk.info(proto, b.source)[1])
    attrs = {"a_scale": float(a.scale[0]), "a_zero_point": int(a.zero_point[0]), "b_scale": float(b.scale[0]),
             "b_zero_point": int(b.zero_point[0]), "y_scale": float(tail.scale[0]), "y_zero_point": int(tail.zp[0]),
             **tail.attrs()}
    ins = [walk.tensor(proto, a.source), walk.tensor(proto, b.source)]
    walk.graph.add_node("ONNX_QLINEAR_ADD", ins, [tail.output(shape)], attrs, name=proto.name)
    return True


def fuse_pool(walk: Walk, proto, n: Node, tail: Tail) -> bool:
    x = _dq(walk, n.input(0))
    if x is None or len(proto.output) > 1:
        return False
    geom, out_shape = _pool_geometry(walk, proto, n, walk.info(proto, x.source)[1])
    attrs = {**geom, "x_scale": float(x.scale[0]), "x_zero_point": int(x.zero_point[0]),
             "y_scale": float(tail.scale[0]), "y_zero_point": int(tail.zp[0]), **tail.attrs()}
    op = "ONNX_QLINEAR_AVERAGE_POOL" if proto.op_type.endswith("AveragePool") else "ONNX_QMAX_POOL"
    walk.graph.add_node(op, [walk.tensor(proto, x.source)], [tail.output(out_shape)], attrs, name=proto.name)
    return True


FUSE = {"Conv": fuse_conv, "MatMul": fuse_matmul, "Gemm": fuse_gemm, "Add": fuse_add,
        "AveragePool": fuse_pool, "GlobalAveragePool": fuse_pool, "MaxPool": fuse_pool, "GlobalMaxPool": fuse_pool}


# -- float ops ------------------------------------------------------------------------------

def _float_in(walk: Walk, proto, n: Node, k: int) -> int:
    name = n.need(k)
    dtype = walk.info(proto, name)[0]
    if dtype != "float32":
        raise n.fail(f"input {name!r} has dtype {dtype}; the float {proto.op_type} takes float32")
    return walk.tensor(proto, name)


def _shape(walk: Walk, index: int):
    return walk.graph.tensors[index].shape


def _broadcast(n: Node, a, b) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(tuple(a), tuple(b)))
    except ValueError:
        raise n.fail(f"shapes {a} and {b} do not broadcast", ModelError) from None


def float_conv(walk: Walk, proto, n: Node) -> None:
    n.only("auto_pad", "dilations", "group", "kernel_shape", "pads", "strides")
    x, w = _float_in(walk, proto, n, 0), _float_in(walk, proto, n, 1)
    geom, out_shape = conv_attrs(n, _shape(walk, x), _shape(walk, w))
    ins = [x, w]
    if n.input(2):
        b = _float_in(walk, proto, n, 2)
        if int(np.prod(_shape(walk, b))) != out_shape[1]:
            raise n.fail(f"bias has shape {_shape(walk, b)}; expected {out_shape[1]} values", ModelError)
        ins.append(b)
    walk.graph.add_node("ONNX_CONV_F32", ins, [walk.add(n.output, "float32", out_shape)], geom, name=proto.name)


def float_matmul(walk: Walk, proto, n: Node) -> None:
    n.only()
    a, b = _float_in(walk, proto, n, 0), _float_in(walk, proto, n, 1)
    out_shape = matmul_shape(n, _shape(walk, a), _shape(walk, b))
    walk.graph.add_node("ONNX_MATMUL_F32", [a, b], [walk.add(n.output, "float32", out_shape)], name=proto.name)


def _transposed_const(walk: Walk, proto, n: Node, k: int) -> str:
    name = n.need(k)
    data = walk.const(proto, name, "a transposed Gemm operand")
    if data.ndim != 2:
        raise n.fail(f"Gemm operand {name!r} must be 2-D, got {data.shape}", ModelError)
    walk.consts[f"{name}/transposed"] = np.ascontiguousarray(data.T)
    return f"{name}/transposed"


def float_gemm(walk: Walk, proto, n: Node) -> None:
    n.only("alpha", "beta", "transA", "transB")
    names = [n.need(0), n.need(1)]
    for k, flag in enumerate(("transA", "transB")):
        if n.get_int(flag, 0):
            names[k] = _transposed_const(walk, proto, n, k)
    a, b = (walk.tensor(proto, name) for name in names)
    for i in (a, b):
        if walk.graph.tensors[i].dtype != "float32" or len(_shape(walk, i)) != 2:
            raise n.fail(f"Gemm operands must be 2-D float32, got {walk.graph.tensors[i].dtype} {_shape(walk, i)}")
    out_shape = matmul_shape(n, _shape(walk, a), _shape(walk, b))
    ins = [a, b]
    if n.input(2):
        c = _float_in(walk, proto, n, 2)
        if int(np.prod(_shape(walk, c))) not in (1, out_shape[1], out_shape[0] * out_shape[1]) or \
                _broadcast(n, _shape(walk, c), out_shape) != out_shape:
            raise n.fail(f"Gemm C of shape {_shape(walk, c)} does not broadcast to {out_shape}", ModelError)
        ins.append(c)
    attrs = {"alpha": n.get_float("alpha", 1.0), "beta": n.get_float("beta", 1.0)}
    walk.graph.add_node("ONNX_MATMUL_F32", ins, [walk.add(n.output, "float32", out_shape)], attrs, name=proto.name)


def float_add(walk: Walk, proto, n: Node) -> None:
    n.only()
    a, b = _float_in(walk, proto, n, 0), _float_in(walk, proto, n, 1)
    shape = _broadcast(n, _shape(walk, a), _shape(walk, b))
    walk.graph.add_node("ONNX_ADD_F32", [a, b], [walk.add(n.output, "float32", shape)], name=proto.name)


def _clip_bound(n: Node, k: int, name: str, default: float) -> float:
    """Clip's min / max: an input since opset 11, an attribute before."""
    if n.input(k):
        v = np.asarray(n.walk.const(n.proto, n.input(k), f"Clip {name}"))
        if v.size != 1:
            raise n.fail(f"Clip {name} must be a scalar", ModelError)
        return float(np.float32(v.reshape(-1)[0]))
    return float(np.float32(n.get_float(name, default)))


def float_relu_clip(walk: Walk, proto, n: Node) -> None:
    n.only("min", "max")
    x = _float_in(walk, proto, n, 0)
    out = walk.add(n.output, "float32", _shape(walk, x))
    if proto.op_type == "Relu":
        walk.graph.add_node("ONNX_RELU_F32", [x], [out], name=proto.name)
    else:
        walk.graph.add_node("ONNX_CLIP_F32", [x], [out], {"min": _clip_bound(n, 1, "min", -np.inf),
                                                          "max": _clip_bound(n, 2, "max", np.inf)}, name=proto.name)


def _pool_geometry(walk: Walk, proto, n: Node, x_shape) -> tuple[dict, tuple[int, ...]]:
    if len(x_shape) != 4:
        raise n.fail(f"only 2-D pooling (4-D NCHW input) is supported; got {x_shape}")
    if proto.op_type.startswith("Global"):
        n.only()
        return ({"kernel_shape": list(x_shape[2:]), "strides": [1, 1], "pads": [0, 0, 0, 0], "dilations": [1, 1]},
                tuple(x_shape[:2]) + (1, 1))
    is_max = proto.op_type == "MaxPool"
    n.only("auto_pad", "kernel_shape", "pads", "strides", "dilations" if is_max else "count_include_pad",
           ceil_mode=0, storage_order=0)
    if len(proto.output) > 1 and proto.output[1]:
        raise n.fail("the Indices output of MaxPool is not supported")
    kernel = n.ints("kernel_shape", [])
    if len(kernel) != 2:
        raise n.fail(f"kernel_shape {kernel} is not 2-D")
    geom, spatial = window(n, x_shape, kernel, dilated=is_max)
    geom["kernel_shape"] = kernel
    if not is_max:
        geom["count_include_pad"] = n.get_int("count_include_pad", 0)
    return geom, tuple(x_shape[:2]) + spatial


def float_pool(walk: Walk, proto, n: Node) -> None:
    x = _float_in(walk, proto, n, 0)
    geom, out_shape = _pool_geometry(walk, proto, n, _shape(walk, x))
    op = "ONNX_AVERAGE_POOL_F32" if proto.op_type.endswith("AveragePool") else "ONNX_MAX_POOL_F32"
    walk.graph.add_node(op, [x], [walk.add(n.output, "float32", out_shape)], geom, name=proto.name)


CONVERTERS = {op: float_or_fused for op in FUSIBLE + ("Relu", "Clip")}

FLOAT = {"Conv": float_conv, "MatMul": float_matmul, "Gemm": float_gemm, "Add": float_add,
         "Relu": float_relu_clip, "Clip": float_relu_clip, "AveragePool": float_pool,
         "GlobalAveragePool": float_pool, "MaxPool": float_pool, "GlobalMaxPool": float_pool}
