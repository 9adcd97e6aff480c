"""A whole QDQ model from a third-party tool: the float CNN of test_onnx_float.py quantized by
onnxruntime.quantization.quantize_static (QDQ format; uint8 activations with per-channel int8
weights, and int8 per tensor). edgert fuses every DQ -> op -> Q chain and matches onnxruntime
and onnx.reference to 1 LSB of the output (exactly, in practice)."""
import numpy as np
import onnx
import pytest

import edgert

from onnx_builders import onnxruntime_run, reference_run, run_backends
from test_onnx_float import cnn

from onnxruntime import quantization


class Calibration(quantization.CalibrationDataReader):
    def __init__(self, rng):
        self.batches = iter([{"x": rng.normal(0, 1, (1, 3, 15, 15)).astype(np.float32)} for _ in range(8)])

    def get_next(self):
        return next(self.batches, None)


@pytest.mark.parametrize("activations,per_channel", [("QUInt8", True), ("QInt8", False)])
def test_quantize_static_model(tmp_path, activations, per_channel):
    rng = np.random.default_rng(0)
    onnx.save(cnn(rng), tmp_path / "float.onnx")
    quantization.quantize_static(str(tmp_path / "float.onnx"), str(tmp_path / "q.onnx"), Calibration(rng),
                                 quant_format=quantization.QuantFormat.QDQ,
                                 activation_type=getattr(quantization.QuantType, activations),
                                 weight_type=quantization.QuantType.QInt8, per_channel=per_channel)
    q = onnx.load(tmp_path / "q.onnx")
    model = edgert.compile(q)
    ops = [n.op for n in model.graph.nodes]
    assert "ONNX_CONV_F32" not in ops and ops.count("ONNX_QLINEAR_CONV") == 2 and ops.count("ONNX_QLINEAR_ADD") == 2
    out_scale = float(np.asarray(model.graph.nodes[-1].attrs["scale"]).reshape(-1)[0])
    for _ in range(5):
        x = rng.normal(0, 1, (1, 3, 15, 15)).astype(np.float32)
        y = run_backends(model, x)
        for oracle in (onnxruntime_run, reference_run):
            assert np.abs(y - oracle(q, {"x": x})).max() <= out_scale * 1.001
