"""Oracle helper: rewrite a hybrid .tflite (float activations, int8 weights, which TFLite Micro
refuses to run) into a pure float32 model whose weights are the dequantized int8 weights, so
the tflite-micro wheel can serve as the oracle for edgert's import of the hybrid model."""
from __future__ import annotations

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

FLOAT32, INT8 = 0, 9


def dequantize_weights(buf: bytes) -> bytes:
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(buf, 0))
    for sg in model.subgraphs:
        for t in sg.tensors:
            data = model.buffers[t.buffer].data
            if t.type != INT8 or data is None or len(data) == 0 or t.quantization is None:
                continue
            q = np.asarray(data, np.uint8).view(np.int8).astype(np.float32).reshape(t.shape)
            scale = np.asarray(t.quantization.scale, np.float32)
            zp = np.asarray(t.quantization.zeroPoint, np.float32)
            if scale.size > 1:
                shape = [1] * q.ndim
                shape[t.quantization.quantizedDimension] = -1
                scale, zp = scale.reshape(shape), zp.reshape(shape)
            model.buffers[t.buffer].data = np.frombuffer(((q - zp) * scale).astype("<f4").tobytes(), np.uint8)
            t.type = FLOAT32
            t.quantization = None
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
