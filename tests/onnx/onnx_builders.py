"""Small ONNX models built with onnx.helper for the ONNX tests: QOperator nodes, QDQ chains and
float graphs, with random weights from a seeded generator."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ONNX_TYPES = {"float32": TensorProto.FLOAT, "uint8": TensorProto.UINT8, "int8": TensorProto.INT8,
              "int32": TensorProto.INT32, "int64": TensorProto.INT64}


def qrange(dtype):
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def random_q(rng, shape, dtype):
    lo, hi = qrange(dtype)
    return rng.integers(lo, hi + 1, size=shape).astype(dtype)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def value(name, dtype, shape):
    return helper.make_tensor_value_info(name, ONNX_TYPES[dtype], list(shape))


def model(nodes, inputs, outputs, inits, opset=21):
    graph = helper.make_graph(nodes, "g", inputs, outputs, inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


class QDQ:
    """Builds a QDQ graph: the float input quantized once, then DQ -> op [-> Relu] -> Q stages."""

    def __init__(self, rng, in_shape, dtype="uint8", w_dtype="int8", opset=21):
        self.rng, self.dtype, self.w_dtype, self.opset = rng, dtype, w_dtype, opset
        self.nodes, self.inits, self.params = [], [], {}
        self.count = 0
        self.inputs = [value("x", "float32", in_shape)]
        self.shape = tuple(in_shape)
        self.cur = self.quantize("x", 0.02, self._zp())

    def _name(self, base):
        self.count += 1
        return f"{base}{self.count}"

    def _zp(self):
        if self.dtype == "uint8":
            return int(self.rng.integers(60, 196))
        return int(self.rng.integers(-30, 30))

    def quantize(self, x, scale, zp):
        s, z, y = self._name("s"), self._name("zp"), self._name("q")
        self.inits += [init(s, np.float32(scale)), init(z, np.array(zp, self.dtype))]
        self.nodes.append(helper.make_node("QuantizeLinear", [x, s, z], [y]))
        self.params[y] = (np.float32(scale), zp)
        return y

    def dequantize(self, q, scale, zp, axis=None):
        s, z, y = self._name("s"), self._name("zp"), self._name("dq")
        self.inits += [init(s, np.asarray(scale, np.float32)), init(z, np.asarray(zp))]
        kw = {} if axis is None else {"axis": axis}
        self.nodes.append(helper.make_node("DequantizeLinear", [q, s, z], [y], **kw))
        return y

    def act(self, name=None):
        """DQ of a quantized activation (the current one by default)."""
        name = name or self.cur
        scale, zp = self.params[name]
        return self.dequantize(name, scale, np.array(zp, self.dtype))

    def weight(self, shape, per_channel_axis=None):
        """DQ of a random constant weight; returns (float name, scale)."""
        name = self._name("w")
        self.inits.append(init(name, random_q(self.rng, shape, self.w_dtype)))
        if per_channel_axis is None:
            scale, zp = np.float32(self.rng.uniform(0.002, 0.02)), np.array(0, self.w_dtype)
        else:
            n = shape[per_channel_axis]
            scale = self.rng.uniform(0.002, 0.02, n).astype(np.float32)
            zp = np.zeros(n, self.w_dtype)
        return self.dequantize(name, scale, zp, per_channel_axis), scale

    def bias(self, n, acc_scale):
        """DQ of a random int32 bias with scale x_scale * w_scale (per channel when w is)."""
        name = self._name("b")
        self.inits.append(init(name, self.rng.integers(-3000, 3000, n).astype(np.int32)))
        acc_scale = np.asarray(acc_scale, np.float32)
        axis = 0 if acc_scale.size > 1 else None
        return self.dequantize(name, acc_scale, np.zeros(acc_scale.shape, np.int32), axis)

    def stage(self, op, inputs, out_shape, scale, act=None, **attrs):
        y = self._name("y")
        self.nodes.append(helper.make_node(op, inputs, [y], **attrs))
        if act is not None:
            r = self._name("act")
            extra = [] if act == "Relu" else [self._clip_bound(-0.5), self._clip_bound(0.8)]
            self.nodes.append(helper.make_node(act, [y] + extra, [r]))
            y = r
        self.cur = self.quantize(y, scale, self._zp())
        self.shape = tuple(out_shape)
        return self.cur

    def _clip_bound(self, v):
        name = self._name("c")
        self.inits.append(init(name, np.float32(v)))
        return name

    def build(self, dequantize_output=True):
        out = self.act() if dequantize_output else self.cur
        dtype = "float32" if dequantize_output else self.dtype
        return model(self.nodes, self.inputs, [value(out, dtype, self.shape)], self.inits, self.opset)


BACKENDS = ("c", "numba", "numpy")


def run_backends(model, feed):
    """Run a compiled edgert model on every backend; assert they agree bit for bit."""
    from edgert.runtime.session import Session

    outs = {be: Session(model, backend=be).run(feed) for be in BACKENDS}
    for be in BACKENDS[1:]:
        assert outs[be].dtype == outs["c"].dtype
        assert outs[be].tobytes() == outs["c"].tobytes(), f"backend {be} differs from c"
    return outs["c"]


def onnxruntime_run(m, feed):
    import onnxruntime as ort

    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feed)[0]


def onnxruntime_or_none(m, feed):
    """onnxruntime's output, or None where it refuses the model (e.g. dilation with SAME_*)."""
    from onnxruntime.capi.onnxruntime_pybind11_state import Fail, InvalidArgument, NotImplemented

    try:
        return onnxruntime_run(m, feed)
    except (Fail, InvalidArgument, NotImplemented):
        return None


def reference_run(m, feed):
    from onnx.reference import ReferenceEvaluator

    return ReferenceEvaluator(m).run(None, feed)[0]
