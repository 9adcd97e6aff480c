"""Build single-op .tflite flatbuffers for kernel tests, with the schema's object API shipped
in the tflite-micro wheel; the wheel then runs the same bytes as the oracle."""
from __future__ import annotations

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

TYPES = {np.dtype("float32"): 0, np.dtype("int32"): 2, np.dtype("int8"): 9}
BUILTIN = schema.BuiltinOperator
OPTIONS = {  # op -> (BuiltinOptions type, options class)
    "CONV_2D": ("Conv2DOptions", schema.Conv2DOptionsT),
    "DEPTHWISE_CONV_2D": ("DepthwiseConv2DOptions", schema.DepthwiseConv2DOptionsT),
    "FULLY_CONNECTED": ("FullyConnectedOptions", schema.FullyConnectedOptionsT),
    "AVERAGE_POOL_2D": ("Pool2DOptions", schema.Pool2DOptionsT),
    "MAX_POOL_2D": ("Pool2DOptions", schema.Pool2DOptionsT),
    "ADD": ("AddOptions", schema.AddOptionsT),
    "SOFTMAX": ("SoftmaxOptions", schema.SoftmaxOptionsT),
    "RESHAPE": ("ReshapeOptions", schema.ReshapeOptionsT),
    "QUANTIZE": ("QuantizeOptions", schema.QuantizeOptionsT),
    "DEQUANTIZE": ("DequantizeOptions", schema.DequantizeOptionsT),
}


class OneOp:
    """Collects tensors for one operator, then serialises the model."""

    def __init__(self):
        self.tensors: list = []
        self.buffers = [schema.BufferT()]  # buffer 0: the empty sentinel

    def tensor(self, shape, dtype, scale=None, zero_point=None, axis=0, data=None) -> int:
        t = schema.TensorT()
        t.shape = list(shape)
        t.type = TYPES[np.dtype(dtype)]
        t.name = f"t{len(self.tensors)}"
        t.buffer = 0
        if data is not None:
            b = schema.BufferT()
            b.data = np.frombuffer(np.ascontiguousarray(data, dtype=dtype).astype(np.dtype(dtype).newbyteorder("<")).tobytes(), np.uint8)
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        if scale is not None:
            q = schema.QuantizationParametersT()
            q.scale = [float(s) for s in np.atleast_1d(scale)]
            q.zeroPoint = [int(z) for z in np.atleast_1d(zero_point if zero_point is not None else 0)]
            q.quantizedDimension = axis
            t.quantization = q
        self.tensors.append(t)
        return len(self.tensors) - 1

    def build(self, op: str, inputs, outputs, **options) -> bytes:
        code = schema.OperatorCodeT()
        code.builtinCode = getattr(BUILTIN, op)
        code.deprecatedBuiltinCode = min(code.builtinCode, 127)
        code.version = 1
        operator = schema.OperatorT()
        operator.opcodeIndex = 0
        operator.inputs = list(inputs)
        operator.outputs = list(outputs)
        kind, cls = OPTIONS[op]
        operator.builtinOptionsType = getattr(schema.BuiltinOptions, kind)
        opts = cls()
        for k, v in options.items():
            if not hasattr(opts, k):
                raise AttributeError(f"{cls.__name__} has no field {k}")
            setattr(opts, k, v)
        operator.builtinOptions = opts
        sg = schema.SubGraphT()
        sg.tensors = self.tensors
        sg.inputs = [i for i in inputs if i >= 0 and self.tensors[i].buffer == 0]
        sg.outputs = list(outputs)
        sg.operators = [operator]
        model = schema.ModelT()
        model.version = 3
        model.operatorCodes = [code]
        model.subgraphs = [sg]
        model.buffers = self.buffers
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())
