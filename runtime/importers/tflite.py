"""TFLite flatbuffer (.tflite) importer.

Reads subgraph 0 of a .tflite file with the `tflite` flatbuffer accessors and emits a Graph:
int8 ops keep TFLite's names (CONV_2D, ...) and carry their requantization already computed
as integers (QuantizeMultiplier per output channel, activation clamp range, ADD and SOFTMAX
fixed-point parameters), so kernels never touch a float scale. Float32 ops get an `_F32`
suffix. Arithmetic: docs/int8.md and shared/reference/int8-semantics.md.

The file is hostile until proven otherwise: every vector length is bounded by the buffer
size before it is walked, every index is range-checked, and any error from the flatbuffer
accessors becomes a FormatError naming what was being read.
"""
from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np

from edgert.errors import FormatError, ModelError, UnsupportedOpError

from ..ir import Graph, Quant, Tensor

MAX_TENSOR_BYTES = 1 << 28  # activations above 256 MiB are not an edge model
MAX_RANK = 6

# tflite.TensorType codes this importer understands
_DTYPES = {0: "float32", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16", 9: "int8"}
_TYPE_NAMES = {0: "FLOAT32", 1: "FLOAT16", 2: "INT32", 3: "UINT8", 4: "INT64", 5: "STRING", 6: "BOOL",
               7: "INT16", 8: "COMPLEX64", 9: "INT8", 10: "FLOAT64", 17: "INT4"}
_ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}
_SAME, _VALID = 0, 1


# ---------------------------------------------------------------------------------------
# Fixed-point parameters (TFLM quantization_util.cc, restated)
# ---------------------------------------------------------------------------------------

def quantize_multiplier(m: float) -> tuple[int, int]:
    """double multiplier -> (M, shift) with m ~= M * 2^(shift - 31); M rounded half away."""
    if m == 0.0:
        return 0, 0
    q, shift = math.frexp(m)
    big = int(math.floor(abs(q) * (1 << 31) + 0.5)) * (1 if q >= 0 else -1)
    if big == 1 << 31:
        big //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return big, shift


def activation_range_q(act: str, scale: float, zp: int, qmin=-128, qmax=127) -> tuple[int, int]:
    """Clamp range of a fused activation in the quantized domain (float32 arithmetic)."""
    def q(f):
        v = np.float32(f) / np.float32(scale)
        return zp + int(np.trunc(v + np.copysign(np.float32(0.5), v)))
    if act == "RELU":
        return max(qmin, q(0.0)), qmax
    if act == "RELU6":
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if act == "RELU_N1_TO_1":
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    return qmin, qmax


def activation_range_f(act: str) -> tuple[float, float]:
    inf = float(np.finfo(np.float32).max)
    return {"NONE": (-inf, inf), "RELU": (0.0, inf), "RELU6": (0.0, 6.0),
            "RELU_N1_TO_1": (-1.0, 1.0)}[act]


def conv_out_size(padding: int, size: int, k: int, stride: int, dilation: int) -> tuple[int, int]:
    """(output size, padding before) per tensorflow/lite/kernels/padding.h."""
    eff = (k - 1) * dilation + 1
    out = (size + stride - 1) // stride if padding == _SAME else (size + stride - eff) // stride
    total = max((out - 1) * stride + eff - size, 0)
    return out, total // 2


# ---------------------------------------------------------------------------------------
# Reading the flatbuffer safely
# ---------------------------------------------------------------------------------------

class _Reader:
    """Bounds every count and index it hands out; converts accessor errors to FormatError."""

    def __init__(self, buf: bytes, where: str):
        import tflite
        self.tflite = tflite
        self.buf = buf
        self.where = where
        if len(buf) < 8:
            raise FormatError(f"{where}: {len(buf)} bytes is too short for a .tflite flatbuffer")
        if buf[4:8] != b"TFL3":
            raise FormatError(f"{where}: not a .tflite file (file identifier {buf[4:8]!r}, expected b'TFL3')")
        self.model = tflite.Model.GetRootAsModel(buf, 0)

    def count(self, n: int, what: str, elem: int = 4) -> int:
        if not 0 <= n <= len(self.buf) // elem:
            raise FormatError(f"{self.where}: {what} count {n} exceeds what the file can hold")
        return n

    def fail(self, msg: str):
        raise FormatError(f"{self.where}: {msg}")


def _ints(reader: _Reader, fn_len, fn_arr, what: str) -> list[int]:
    n = reader.count(fn_len(), what)
    return [int(v) for v in fn_arr()] if n else []


def _builtin_names(tflite) -> dict[int, str]:
    return {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}


class _Importer:
    def __init__(self, buf: bytes, where: str):
        self.r = _Reader(buf, where)
        self.where = where
        tfl = self.r.tflite
        m = self.r.model
        self.tfl = tfl
        if self.r.count(m.SubgraphsLength(), "subgraph") < 1:
            self.r.fail("no subgraphs")
        self.sg = m.Subgraphs(0)
        self.n_buffers = self.r.count(m.BuffersLength(), "buffer")
        self.n_codes = self.r.count(m.OperatorCodesLength(), "operator code")
        self.n_src_tensors = self.r.count(self.sg.TensorsLength(), "tensor")
        self.names = _builtin_names(tfl)
        self.graph = Graph()
        self.map: dict[int, int] = {}  # tflite tensor index -> graph tensor index
        self.src: dict[int, dict] = {}  # tflite tensor index -> decoded description

    # -- tensors -------------------------------------------------------------------------
    def describe(self, i: int) -> dict:
        """Decode tflite tensor i (dtype, shape, quant, constant data) once."""
        if i in self.src:
            return self.src[i]
        if not 0 <= i < self.n_src_tensors:
            self.r.fail(f"tensor index {i} out of range (subgraph has {self.n_src_tensors})")
        t = self.sg.Tensors(i)
        name = (t.Name() or b"").decode("utf-8", "replace") or f"tensor_{i}"
        code = t.Type()
        if code not in _DTYPES:
            raise UnsupportedOpError(f"{self.where}: tensor {name!r} has type "
                                     f"{_TYPE_NAMES.get(code, code)}, which edgert does not support")
        if t.IsVariable():
            raise UnsupportedOpError(f"{self.where}: tensor {name!r} is a variable tensor; "
                                     "stateful TFLite models are not supported")
        if t.Sparsity() is not None:
            raise UnsupportedOpError(f"{self.where}: tensor {name!r} is sparse; densify the model first")
        shape = _ints(self.r, t.ShapeLength, t.ShapeAsNumpy, f"tensor {name!r} shape")
        if len(shape) > MAX_RANK or any(d < 0 for d in shape):
            self.r.fail(f"tensor {name!r} has invalid shape {shape}")
        dtype = _DTYPES[code]
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        if nbytes > MAX_TENSOR_BYTES:
            self.r.fail(f"tensor {name!r} shape {shape} needs {nbytes} bytes (limit {MAX_TENSOR_BYTES})")
        data = self.buffer_data(t.Buffer(), name, dtype, shape, nbytes)
        quant = None
        q = t.Quantization()
        if q is not None and q.ScaleLength():
            scale = np.array(_floats(self.r, q.ScaleLength, q.ScaleAsNumpy, f"tensor {name!r} scales"), np.float32)
            zp = _ints(self.r, q.ZeroPointLength, q.ZeroPointAsNumpy, f"tensor {name!r} zero points")
            axis = int(q.QuantizedDimension())
            if len(zp) not in (1, len(scale)) or (len(scale) > 1 and not 0 <= axis < len(shape)) \
                    or (len(scale) > 1 and shape[axis] != len(scale)):
                self.r.fail(f"tensor {name!r}: {len(scale)} scales / {len(zp)} zero points do not fit "
                            f"shape {shape} along axis {axis}")
            if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
                self.r.fail(f"tensor {name!r}: quantization scales must be finite and positive")
            quant = Quant(scale, np.array(zp, np.int64).astype(np.int32), axis)
        desc = {"name": name, "dtype": dtype, "shape": tuple(shape), "quant": quant, "data": data}
        self.src[i] = desc
        return desc

    def buffer_data(self, b: int, name: str, dtype: str, shape, nbytes: int):
        if not 0 <= b < self.n_buffers:
            self.r.fail(f"tensor {name!r} refers to buffer {b}, the file has {self.n_buffers}")
        buf = self.r.model.Buffers(b)
        offset = int(buf.Offset())
        if offset > 1:  # large-model layout: data after the flatbuffer
            size = int(buf.Size())
            if offset + size > len(self.r.buf):
                self.r.fail(f"buffer {b} of tensor {name!r} ({offset}+{size}) runs past the end of the file")
            raw = self.r.buf[offset:offset + size]
        else:
            n = self.r.count(buf.DataLength(), f"buffer {b} bytes", 1)
            if n == 0:
                return None
            raw = buf.DataAsNumpy().tobytes()
        if len(raw) == 0:
            return None
        if len(raw) != nbytes:
            self.r.fail(f"tensor {name!r}: buffer {b} holds {len(raw)} bytes, shape {list(shape)} "
                        f"of {dtype} needs {nbytes}")
        return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype).reshape(shape)

    def tensor(self, i: int) -> int:
        """Graph tensor index for tflite tensor i, creating it on first use."""
        if i not in self.map:
            d = self.describe(i)
            self.map[i] = self.graph.add_tensor(Tensor(d["name"], d["dtype"], d["shape"], d["quant"], d["data"]))
        return self.map[i]

    def const(self, name: str, data: np.ndarray) -> int:
        return self.graph.add_tensor(Tensor(name, str(data.dtype), data.shape, data=data))

    # -- operators -----------------------------------------------------------------------
    def run(self) -> Graph:
        sg = self.sg
        inputs = _ints(self.r, sg.InputsLength, sg.InputsAsNumpy, "subgraph inputs")
        outputs = _ints(self.r, sg.OutputsLength, sg.OutputsAsNumpy, "subgraph outputs")
        n_ops = self.r.count(sg.OperatorsLength(), "operator")
        for i in inputs:
            if self.describe(i)["data"] is not None:
                self.r.fail(f"graph input {i} is a constant")
        self.graph.inputs = [self.tensor(i) for i in inputs]
        for j in range(n_ops):
            self.operator(j)
        self.graph.outputs = [self.tensor(i) for i in outputs]
        self.graph.meta.update({"family": "tflite", "format": "tflite"})
        return self.graph

    def operator(self, j: int) -> None:
        op = self.sg.Operators(j)
        code_index = op.OpcodeIndex()
        if not 0 <= code_index < self.n_codes:
            self.r.fail(f"operator {j} uses opcode {code_index}, the file has {self.n_codes}")
        oc = self.r.model.OperatorCodes(code_index)
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        opname = self.names.get(code, f"builtin {code}")
        ins = _ints(self.r, op.InputsLength, op.InputsAsNumpy, f"operator {j} inputs")
        outs = _ints(self.r, op.OutputsLength, op.OutputsAsNumpy, f"operator {j} outputs")
        handler = _HANDLERS.get(opname)
        if handler is None:
            raise UnsupportedOpError(f"{self.where}: operator {j} is {opname}, which edgert does not support; "
                                     f"supported TFLite ops: {', '.join(sorted(_HANDLERS))}")
        if len(outs) != 1 or not ins:
            self.r.fail(f"operator {j} ({opname}) has {len(ins)} inputs and {len(outs)} outputs")
        self.op, self.opname, self.j = op, opname, j
        handler(self, ins, outs)

    def options(self, cls_name: str, type_code: int):
        op = self.op
        if op.BuiltinOptionsType() != type_code:
            self.r.fail(f"operator {self.j} ({self.opname}) lacks its {cls_name}")
        table = op.BuiltinOptions()
        o = getattr(self.tfl, cls_name)()
        o.Init(table.Bytes, table.Pos)
        return o

    def activation(self, code: int) -> str:
        act = _ACTIVATIONS.get(code)
        if act is None or act in ("TANH", "SIGN_BIT"):
            raise UnsupportedOpError(f"{self.where}: operator {self.j} ({self.opname}) uses fused activation "
                                     f"{act or code}; edgert supports NONE, RELU, RELU6, RELU_N1_TO_1")
        return act

    def unsupported(self, what: str):
        raise UnsupportedOpError(f"{self.where}: operator {self.j} ({self.opname}): {what} is not supported")

    def kind(self, ins, outs) -> str:
        """'int8' or 'float32': the arithmetic family of the current op, checked."""
        x, y = self.describe(ins[0]), self.describe(outs[0])
        if x["dtype"] == "int8" and y["dtype"] == "int8":
            if x["quant"] is None or y["quant"] is None or x["quant"].per_channel or y["quant"].per_channel:
                self.r.fail(f"operator {self.j} ({self.opname}): int8 activations need per-tensor quantization")
            return "int8"
        if x["dtype"] == "float32" and y["dtype"] == "float32":
            return "float32"
        self.unsupported(f"activation types {x['dtype']} -> {y['dtype']}")

    def emit(self, op: str, ins: list[int], outs: list[int], attrs: dict, scratch: int = 0) -> None:
        self.graph.add_node(op, ins, [self.tensor(o) for o in outs], attrs, name=f"{op.lower()}_{self.j}",
                            scratch=scratch)


def _floats(reader: _Reader, fn_len, fn_arr, what: str) -> list[float]:
    n = reader.count(fn_len(), what)
    return [float(v) for v in fn_arr()] if n else []


def _qparams(d: dict) -> tuple[float, int]:
    return float(d["quant"].scale[0]), int(d["quant"].zero_point[0])


def _weights(imp: _Importer, i: int, rank: int, what: str) -> dict:
    d = imp.describe(i)
    if d["data"] is None or len(d["shape"]) != rank:
        imp.r.fail(f"operator {imp.j} ({imp.opname}): {what} must be a constant of rank {rank}, "
                   f"got shape {list(d['shape'])}")
    return d


def _float_weights(imp: _Importer, d: dict) -> np.ndarray:
    """Float weights; int8 weights of a float op (hybrid model) are dequantized at import."""
    if d["dtype"] == "float32":
        return d["data"]
    if d["dtype"] == "int8" and d["quant"] is not None:
        q = d["quant"]
        shape = [1] * len(d["shape"])
        if q.per_channel:
            shape[q.axis] = -1
        scale = q.scale.astype(np.float32).reshape(shape)
        zp = q.zero_point.astype(np.float32).reshape(shape)
        return ((d["data"].astype(np.float32) - zp) * scale).astype(np.float32)
    imp.unsupported(f"weights of type {d['dtype']} in a float32 op")


def _bias(imp: _Importer, ins: list[int], k: int, n: int, dtype: str) -> np.ndarray | None:
    if len(ins) <= k or ins[k] < 0:
        return None
    d = imp.describe(ins[k])
    if d["data"] is None or d["dtype"] != dtype or d["data"].size != n:
        imp.r.fail(f"operator {imp.j} ({imp.opname}): bias must be a constant {dtype}[{n}]")
    return d["data"].reshape(n)


def _requant(imp: _Importer, s_in: float, w: dict, s_out: float, n: int) -> dict:
    """Per-output-channel (M, shift) for conv / depthwise / FC."""
    ws = w["quant"].scale if w["quant"] is not None else None
    if ws is None or ws.size not in (1, n):
        imp.r.fail(f"operator {imp.j} ({imp.opname}): weights need 1 or {n} scales")
    if np.any(w["quant"].zero_point != 0):
        imp.unsupported("int8 weights with a non-zero zero point")
    scales = np.broadcast_to(ws, (n,))
    mults = [quantize_multiplier(float(s_in) * float(s) / float(s_out)) for s in scales]
    return {"multiplier": [m for m, _ in mults], "shift": [s for _, s in mults]}


def _conv_geometry(imp: _Importer, o, x_shape, kh: int, kw: int) -> dict:
    sh, sw = int(o.StrideH()), int(o.StrideW())
    dh, dw = int(o.DilationHFactor()), int(o.DilationWFactor())
    pad = int(o.Padding())
    if min(sh, sw, dh, dw) < 1 or pad not in (_SAME, _VALID):
        imp.r.fail(f"operator {imp.j} ({imp.opname}): bad stride/dilation/padding")
    oh, ph = conv_out_size(pad, x_shape[1], kh, sh, dh)
    ow, pw = conv_out_size(pad, x_shape[2], kw, sw, dw)
    return {"stride": [sh, sw], "dilation": [dh, dw], "pad": [ph, pw], "out_hw": (oh, ow)}


def _check_out(imp: _Importer, outs, shape) -> None:
    got = imp.describe(outs[0])["shape"]
    if tuple(got) != tuple(shape):
        imp.r.fail(f"operator {imp.j} ({imp.opname}): output shape {list(got)}, expected {list(shape)}")


def _conv(imp: _Importer, ins, outs, depthwise: bool) -> None:
    tf = imp.tfl
    o = imp.options("DepthwiseConv2DOptions" if depthwise else "Conv2DOptions",
                    tf.BuiltinOptions.DepthwiseConv2DOptions if depthwise else tf.BuiltinOptions.Conv2DOptions)
    x = imp.describe(ins[0])
    if len(x["shape"]) != 4 or len(ins) < 2:
        imp.r.fail(f"operator {imp.j} ({imp.opname}): input must be NHWC")
    w = _weights(imp, ins[1], 4, "filter")
    n, h, wd, cin = x["shape"]
    if depthwise:
        _, kh, kw, cout = w["shape"]
        if cin == 0 or cout % cin:
            imp.r.fail(f"operator {imp.j}: depthwise output channels {cout} are not a multiple of {cin}")
        mult = cout // cin  # TFLM derives it from the shapes too (the option is often stale)
        groups_ok = True
    else:
        cout, kh, kw, fin = w["shape"]
        groups_ok = fin == cin
    if not groups_ok:
        imp.unsupported(f"grouped convolution (filter depth {w['shape'][3]} vs {cin} input channels)")
    if min(kh, kw, cout) < 1:
        imp.r.fail(f"operator {imp.j} ({imp.opname}): empty filter {list(w['shape'])}")
    act = imp.activation(o.FusedActivationFunction())
    geo = _conv_geometry(imp, o, x["shape"], kh, kw)
    _check_out(imp, outs, (n, *geo.pop("out_hw"), cout))
    attrs = dict(geo)
    if depthwise:
        attrs["depth_multiplier"] = mult
    kind = imp.kind(ins, outs)
    if kind == "float32":
        wf = _float_weights(imp, w)
        bias = _bias(imp, ins, 2, cout, "float32")
        lo, hi = activation_range_f(act)
        nodes_in = [imp.tensor(ins[0]), imp.const(w["name"] if depthwise else f"{w['name']}/hwio", wf if depthwise else _hwio(wf)),
                    imp.const(f"{w['name']}/bias", bias if bias is not None else np.zeros(cout, np.float32))]
        imp.emit("DEPTHWISE_CONV_2D_F32" if depthwise else "CONV_2D_F32", nodes_in, outs,
                 {**attrs, "act_min": lo, "act_max": hi})
        return
    if w["dtype"] != "int8":
        imp.unsupported(f"{w['dtype']} weights with int8 activations")
    s_in, zp_in = _qparams(x)
    s_out, zp_out = _qparams(imp.describe(outs[0]))
    if w["quant"] is not None and w["quant"].per_channel and w["quant"].axis != (3 if depthwise else 0):
        imp.unsupported(f"per-channel weights quantized along axis {w['quant'].axis}")
    bias = _bias(imp, ins, 2, cout, "int32")
    bias = bias.astype(np.int64) if bias is not None else np.zeros(cout, np.int64)
    wsum = w["data"].astype(np.int64).sum(axis=(0, 1, 2) if depthwise else (1, 2, 3))
    bias_eff = _wrap32(bias - zp_in * wsum)
    lo, hi = activation_range_q(act, s_out, zp_out)
    if depthwise:
        weights = imp.tensor(ins[1])
    else:
        weights = imp.graph.add_tensor(Tensor(f"{w['name']}/hwio", "int8", (kh, kw, cin, cout),
                                              Quant(w["quant"].scale, w["quant"].zero_point, 3), _hwio(w["data"])))
    nodes_in = [imp.tensor(ins[0]), weights, imp.const(f"{w['name']}/bias", bias.astype(np.int32)),
                imp.const(f"{w['name']}/bias_zp", bias_eff)]
    # the C CONV_2D gathers 4 pixels' windows (KH*KW*C_in bytes each) on its stack up to 512
    # bytes per window, beyond that into node scratch; a 1x1 unpadded conv reads in place
    direct = depthwise or (kh == kw == 1 and attrs["pad"] == [0, 0]) or kh * kw * cin <= 512
    imp.emit("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", nodes_in, outs,
             {**attrs, **_requant(imp, s_in, w, s_out, cout), "zp_in": zp_in, "zp_out": zp_out,
              "act_min": lo, "act_max": hi}, scratch=0 if direct else 4 * kh * kw * cin)


def _hwio(w: np.ndarray) -> np.ndarray:
    """TFLite's OHWI conv filter as [KH, KW, C_in, C_out]: edgert's CONV_2D layout, so that a
    filter tap's output channels are contiguous (kernels vectorise over them)."""
    return np.ascontiguousarray(w.transpose(1, 2, 3, 0))


def _wrap32(v: np.ndarray) -> np.ndarray:
    """int64 -> int32 with two's-complement wrap-around (what TFLM's int32 arithmetic does)."""
    return ((np.asarray(v, np.int64) + (1 << 31)) % (1 << 32) - (1 << 31)).astype(np.int32)


def _fully_connected(imp: _Importer, ins, outs) -> None:
    o = imp.options("FullyConnectedOptions", imp.tfl.BuiltinOptions.FullyConnectedOptions)
    if o.WeightsFormat() != 0:
        imp.unsupported("shuffled FULLY_CONNECTED weights format")
    if len(ins) < 2:
        imp.r.fail(f"operator {imp.j}: FULLY_CONNECTED needs weights")
    w = _weights(imp, ins[1], 2, "weights")
    units, depth = w["shape"]
    x = imp.describe(ins[0])
    size = math.prod(x["shape"])
    if depth < 1 or size % depth:
        imp.r.fail(f"operator {imp.j}: input of {size} values is not a multiple of depth {depth}")
    batches = size // depth
    y = imp.describe(outs[0])
    if math.prod(y["shape"]) != batches * units:
        imp.r.fail(f"operator {imp.j}: output shape {list(y['shape'])} does not hold {batches}x{units}")
    act = imp.activation(o.FusedActivationFunction())
    if imp.kind(ins, outs) == "float32":
        bias = _bias(imp, ins, 2, units, "float32")
        lo, hi = activation_range_f(act)
        imp.emit("FULLY_CONNECTED_F32", [imp.tensor(ins[0]), imp.const(w["name"], _float_weights(imp, w)),
                                          imp.const(f"{w['name']}/bias", bias if bias is not None else np.zeros(units, np.float32))],
                 outs, {"act_min": lo, "act_max": hi})
        return
    if w["dtype"] != "int8":
        imp.unsupported(f"{w['dtype']} weights with int8 activations")
    s_in, zp_in = _qparams(x)
    s_out, zp_out = _qparams(y)
    bias = _bias(imp, ins, 2, units, "int32")
    bias = bias.astype(np.int64) if bias is not None else np.zeros(units, np.int64)
    bias_eff = _wrap32(bias - zp_in * w["data"].astype(np.int64).sum(axis=1))
    lo, hi = activation_range_q(act, s_out, zp_out)
    imp.emit("FULLY_CONNECTED", [imp.tensor(ins[0]), imp.tensor(ins[1]), imp.const(f"{w['name']}/bias", bias.astype(np.int32)),
                                 imp.const(f"{w['name']}/bias_zp", bias_eff)], outs,
             {**_requant(imp, s_in, w, s_out, units), "zp_in": zp_in, "zp_out": zp_out, "act_min": lo, "act_max": hi})


def _pool(imp: _Importer, ins, outs, op: str) -> None:
    o = imp.options("Pool2DOptions", imp.tfl.BuiltinOptions.Pool2DOptions)
    x = imp.describe(ins[0])
    if len(x["shape"]) != 4:
        imp.r.fail(f"operator {imp.j} ({imp.opname}): input must be NHWC")
    fh, fw = int(o.FilterHeight()), int(o.FilterWidth())
    sh, sw, pad = int(o.StrideH()), int(o.StrideW()), int(o.Padding())
    if min(fh, fw, sh, sw) < 1 or pad not in (_SAME, _VALID):
        imp.r.fail(f"operator {imp.j} ({imp.opname}): bad filter/stride/padding")
    n, h, w, c = x["shape"]
    oh, ph = conv_out_size(pad, h, fh, sh, 1)
    ow, pw = conv_out_size(pad, w, fw, sw, 1)
    if min(oh, ow) < 1:
        imp.r.fail(f"operator {imp.j} ({imp.opname}): empty output")
    _check_out(imp, outs, (n, oh, ow, c))
    act = imp.activation(o.FusedActivationFunction())
    attrs = {"filter": [fh, fw], "stride": [sh, sw], "pad": [ph, pw]}
    if imp.kind(ins, outs) == "float32":
        lo, hi = activation_range_f(act)
        imp.emit(op + "_F32", [imp.tensor(ins[0])], outs, {**attrs, "act_min": lo, "act_max": hi})
        return
    s_in, zp_in = _qparams(x)
    s_out, zp_out = _qparams(imp.describe(outs[0]))
    if abs(s_in - s_out) > 1e-6 or zp_in != zp_out:
        imp.unsupported("int8 pooling that changes scale or zero point")
    lo, hi = activation_range_q(act, s_out, zp_out)
    imp.emit(op, [imp.tensor(ins[0])], outs, {**attrs, "act_min": lo, "act_max": hi})


def _add(imp: _Importer, ins, outs) -> None:
    o = imp.options("AddOptions", imp.tfl.BuiltinOptions.AddOptions)
    if len(ins) != 2:
        imp.r.fail(f"operator {imp.j}: ADD needs 2 inputs")
    a, b, y = imp.describe(ins[0]), imp.describe(ins[1]), imp.describe(outs[0])
    try:
        shape = np.broadcast_shapes(a["shape"], b["shape"])
    except ValueError:
        imp.r.fail(f"operator {imp.j}: ADD shapes {list(a['shape'])} and {list(b['shape'])} do not broadcast")
    _check_out(imp, outs, shape)
    act = imp.activation(o.FusedActivationFunction())
    if imp.kind(ins, outs) == "float32":
        if b["dtype"] != "float32":
            imp.unsupported("mixed ADD input types")
        lo, hi = activation_range_f(act)
        imp.emit("ADD_F32", [imp.tensor(ins[0]), imp.tensor(ins[1])], outs, {"act_min": lo, "act_max": hi})
        return
    if b["dtype"] != "int8" or b["quant"] is None:
        imp.unsupported("ADD of int8 with a non-int8 operand")
    (s1, zp1), (s2, zp2), (so, zpo) = _qparams(a), _qparams(b), _qparams(y)
    left_shift = 20
    twice_max = 2 * max(s1, s2)
    m1, sh1 = quantize_multiplier(s1 / twice_max)
    m2, sh2 = quantize_multiplier(s2 / twice_max)
    mo, sho = quantize_multiplier(twice_max / ((1 << left_shift) * so))
    if max(sh1, sh2, sho) > 0:
        imp.unsupported("int8 ADD whose rescale multipliers exceed 1")
    lo, hi = activation_range_q(act, so, zpo)
    imp.emit("ADD", [imp.tensor(ins[0]), imp.tensor(ins[1])], outs,
             {"left_shift": left_shift, "zp": [zp1, zp2, zpo], "multiplier": [m1, m2, mo],
              "shift": [sh1, sh2, sho], "act_min": lo, "act_max": hi})


def _softmax(imp: _Importer, ins, outs) -> None:
    o = imp.options("SoftmaxOptions", imp.tfl.BuiltinOptions.SoftmaxOptions)
    beta = float(np.float32(o.Beta()))
    x, y = imp.describe(ins[0]), imp.describe(outs[0])
    _check_out(imp, outs, x["shape"])
    if not x["shape"] or x["shape"][-1] < 1:
        imp.r.fail(f"operator {imp.j}: SOFTMAX of an empty tensor")
    if imp.kind(ins, outs) == "float32":
        imp.emit("SOFTMAX_F32", [imp.tensor(ins[0])], outs, {"beta": beta})
        return
    s_in, _ = _qparams(x)
    s_out, zp_out = _qparams(y)
    if zp_out != -128 or s_out != np.float32(1 / 256):
        imp.unsupported(f"int8 SOFTMAX output quantization (scale {s_out}, zero point {zp_out}); "
                        "TFLite requires 1/256 and -128")
    real = min(beta * s_in * (1 << (31 - 5)), float((1 << 31) - 1))
    m, left = quantize_multiplier(real)
    if left < 0:
        imp.unsupported("int8 SOFTMAX with beta * input scale below 2^-26")
    diff_min = -int(math.floor(((1 << 5) - 1) * (1 << (31 - 5)) / (1 << left)))
    imp.emit("SOFTMAX", [imp.tensor(ins[0])], outs, {"multiplier": m, "shift": left, "diff_min": diff_min})


def _reshape(imp: _Importer, ins, outs) -> None:
    x, y = imp.describe(ins[0]), imp.describe(outs[0])
    if math.prod(x["shape"]) != math.prod(y["shape"]) or x["dtype"] != y["dtype"]:
        imp.r.fail(f"operator {imp.j}: RESHAPE {list(x['shape'])} -> {list(y['shape'])} changes size or type")
    if x["quant"] is not None and y["quant"] is not None and (
            not np.array_equal(x["quant"].scale, y["quant"].scale)
            or not np.array_equal(x["quant"].zero_point, y["quant"].zero_point)):
        imp.unsupported("RESHAPE that changes quantization")
    imp.emit("RESHAPE", [imp.tensor(ins[0])], outs, {})


def _quantize(imp: _Importer, ins, outs) -> None:
    x, y = imp.describe(ins[0]), imp.describe(outs[0])
    _check_out(imp, outs, x["shape"])
    if y["dtype"] != "int8" or y["quant"] is None or y["quant"].per_channel:
        imp.unsupported(f"QUANTIZE to {y['dtype']} (edgert quantizes to per-tensor int8)")
    s_out, zp_out = _qparams(y)
    if x["dtype"] == "float32":
        imp.emit("QUANTIZE", [imp.tensor(ins[0])], outs, {"scale": s_out, "zp_out": zp_out})
    elif x["dtype"] == "int8" and x["quant"] is not None and not x["quant"].per_channel:
        s_in, zp_in = _qparams(x)
        m, shift = quantize_multiplier(float(s_in) / float(s_out))
        imp.emit("REQUANTIZE", [imp.tensor(ins[0])], outs,
                 {"multiplier": m, "shift": shift, "zp_in": zp_in, "zp_out": zp_out})
    else:
        imp.unsupported(f"QUANTIZE from {x['dtype']}")


def _dequantize(imp: _Importer, ins, outs) -> None:
    x, y = imp.describe(ins[0]), imp.describe(outs[0])
    _check_out(imp, outs, x["shape"])
    if x["dtype"] != "int8" or x["quant"] is None or x["quant"].per_channel or y["dtype"] != "float32":
        imp.unsupported(f"DEQUANTIZE {x['dtype']} -> {y['dtype']} (edgert dequantizes per-tensor int8)")
    s, zp = _qparams(x)
    imp.emit("DEQUANTIZE", [imp.tensor(ins[0])], outs, {"scale": np.array([s], np.float64), "zp_in": zp})


_HANDLERS = {
    "CONV_2D": lambda imp, i, o: _conv(imp, i, o, depthwise=False),
    "DEPTHWISE_CONV_2D": lambda imp, i, o: _conv(imp, i, o, depthwise=True),
    "FULLY_CONNECTED": _fully_connected,
    "AVERAGE_POOL_2D": lambda imp, i, o: _pool(imp, i, o, "AVERAGE_POOL_2D"),
    "MAX_POOL_2D": lambda imp, i, o: _pool(imp, i, o, "MAX_POOL_2D"),
    "ADD": _add,
    "SOFTMAX": _softmax,
    "RESHAPE": _reshape,
    "QUANTIZE": _quantize,
    "DEQUANTIZE": _dequantize,
}


def load_bytes(buf: bytes, where: str = "<bytes>", **options) -> Graph:
    if options:
        raise ModelError(f"{where}: unknown .tflite import options {sorted(options)}")
    try:
        return _Importer(bytes(buf), where).run()
    except (FormatError, ModelError):
        raise
    except (IndexError, ValueError, TypeError, struct.error, OverflowError, UnicodeDecodeError,
            AttributeError, RecursionError, MemoryError) as e:
        raise FormatError(f"{where}: corrupt .tflite flatbuffer ({type(e).__name__}: {e})") from None


def load(path, **options) -> Graph:
    path = Path(path)
    try:
        buf = path.read_bytes()
    except OSError as e:
        raise ModelError(f"{path}: cannot read ({e.strerror})") from None
    return load_bytes(buf, str(path), **options)
