"""QDQ models built with onnx.helper (tests/onnx/qdq_models.py): edgert fuses every
DQ -> op -> Q chain into integer ops, all backends agree bit for bit, and the result equals
onnxruntime (whose QDQ fusion uses the same float32 requantization) and onnx.reference
(which evaluates the float graph). Exceptions, by construction of the arithmetic:
  * onnx.reference computes fused Conv / MatMul / Gemm / AveragePool in float, so a near-tie
    may round the other way: at most 1 LSB, rarely;
  * onnxruntime's QLinearAdd rescales each operand by scale ratios instead of evaluating the
    QDQ graph, so Add may differ from it by 1 LSB (edgert equals onnx.reference there);
  * onnxruntime fuses uint8 GlobalAveragePool with the same requantization as edgert, but runs
    int8 pooling in float: 1 LSB, rarely (models "pools" and "chain")."""
import numpy as np
import pytest

import edgert

import qdq_models as zoo
from onnx_builders import QDQ, model, onnxruntime_run, reference_run, run_backends, value

CASES = [
    ("conv", {}),
    ("conv", dict(dtype="int8", per_channel=True, act="Relu")),
    ("conv", dict(act="Clip", stride=2, auto_pad="SAME_LOWER")),
    ("conv", dict(dtype="int8", stride=2, auto_pad="SAME_UPPER", per_channel=True)),
    ("conv", dict(group=2, dilation=2, pads=(2, 1, 0, 2))),
    ("conv", dict(auto_pad="VALID", bias=False, per_channel=True)),
    ("matmul", {}),
    ("matmul", dict(dtype="int8", per_channel=False)),
    ("gemm", {}),
    ("gemm", dict(dtype="int8", act=None)),
    ("add", {}),
    ("add", dict(dtype="int8")),
    ("pools", {}),
    ("pools", dict(dtype="int8", count_include_pad=1)),
    ("chain", {}),
    ("chain", dict(dtype="uint8")),
]
EXACT_VS_REFERENCE = {"add"}  # no float sum: the QDQ float graph is evaluated exactly
INEXACT_VS_ORT = {"add": 0.25, "pools": 0.05, "chain": 0.05}  # share of outputs 1 LSB off, at most
RUNS = 12


def lsb_diff(y, other, scale):
    return np.rint(np.abs(y.astype(np.float64) - other.astype(np.float64)) / scale).astype(np.int64)


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}"
                                                    for n, kw in CASES])
def test_qdq_model(name, kwargs):
    rng = np.random.default_rng(7)
    m, shape, fused_ops = getattr(zoo, name)(rng, **kwargs)
    compiled = edgert.compile(m)
    assert [n.op for n in compiled.graph.nodes] == fused_ops  # fused: no float op left inside
    out_scale = compiled.graph.tensors[compiled.graph.nodes[-1].inputs[0]].quant.scale[0]
    d_ref, d_ort = [], []
    for _ in range(RUNS):
        x = rng.normal(0, 1.5, shape).astype(np.float32)
        y = run_backends(compiled, x)
        d_ref.append(lsb_diff(y, reference_run(m, {"x": x}), out_scale).ravel())
        d_ort.append(lsb_diff(y, onnxruntime_run(m, {"x": x}), out_scale).ravel())
    d_ref, d_ort = np.concatenate(d_ref), np.concatenate(d_ort)
    if name in EXACT_VS_REFERENCE:
        assert d_ref.max() == 0
    else:
        assert d_ref.max() <= 1 and (d_ref > 0).mean() < 0.05
    if name in INEXACT_VS_ORT:
        assert d_ort.max() <= 1 and (d_ort > 0).mean() <= INEXACT_VS_ORT[name]
    else:
        assert d_ort.max() == 0


def test_unfused_qdq_runs_the_float_graph():
    """A DQ whose consumer is not followed by a Q stays float: DQ, float conv, no requantization."""
    rng = np.random.default_rng(3)
    b = QDQ(rng, (1, 2, 5, 5), "int8")
    w, _ = b.weight((3, 2, 3, 3), None)
    from onnx import helper
    b.nodes.append(helper.make_node("Conv", [b.act(), w], ["y"], pads=[1, 1, 1, 1]))
    m = model(b.nodes, b.inputs, [value("y", "float32", (1, 3, 5, 5))], b.inits)
    compiled = edgert.compile(m)
    assert [n.op for n in compiled.graph.nodes] == ["ONNX_QUANTIZE_LINEAR", "ONNX_DEQUANTIZE_LINEAR", "ONNX_CONV_F32"]
    x = rng.normal(0, 1, (1, 2, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(run_backends(compiled, x), reference_run(m, {"x": x}), rtol=1e-5, atol=1e-6)
