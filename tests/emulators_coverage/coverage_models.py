"""One small model per family the runtime compiles, with an input that exercises it: int8 and
float TFLite (MLPerf Tiny KWS), ONNX (a QDQ CNN and its float twin, built with onnx.helper),
scikit-learn (a tree and an SVM, float and fixed mode), NIR spiking graphs (float and fixed)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import edgert

MODELS = Path(__file__).resolve().parents[2] / "models"


def _tflite(name):
    model = edgert.compile(MODELS / "mlperf_tiny" / f"{name}.tflite")
    shape = model.graph.tensors[model.graph.inputs[0]].shape
    rng = np.random.default_rng(0)
    if name.endswith("float32"):
        return model, rng.normal(0, 1, shape).astype(np.float32)
    return model, np.load(MODELS / "mlperf_tiny" / "samples" / "kws_sample_input_int8.npy")


def onnx_cnn(quantized: bool):
    """x (1,3,12,12) -> conv+relu -> maxpool -> depthwise conv+clip, + residual add -> global
    average pool -> flatten -> gemm. Quantized: every activation and weight goes through Q/DQ (int8),
    which edgert fuses into ONNX_QLINEAR_* ops; else the float ONNX_*_F32 ops."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(5)
    nodes, inits = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def qdq(name, scale):  # activation round trip through int8 (fused away by the importer)
        if not quantized:
            return name
        s, z = const(name + "_s", np.float32(scale)), const(name + "_z", np.int8(0))
        nodes.append(helper.make_node("QuantizeLinear", [name, s, z], [name + "_q"]))
        nodes.append(helper.make_node("DequantizeLinear", [name + "_q", s, z], [name + "_dq"]))
        return name + "_dq"

    def weight(name, shape):
        w = rng.normal(0, 0.3, shape).astype(np.float32)
        if not quantized:
            return const(name, w)
        scale = np.float32(np.abs(w).max() / 127)
        q = const(name + "_q", np.clip(np.rint(w / scale), -127, 127).astype(np.int8))
        nodes.append(helper.make_node("DequantizeLinear", [q, const(name + "_s", scale), const(name + "_z", np.int8(0))],
                                      [name]))
        return name

    def op(kind, inputs, out, scale, **attrs):  # scale None: no Q/DQ round trip after it
        nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out if scale is None else qdq(out, scale)

    x = qdq("x", 0.02)
    conv = op("Conv", [x, weight("w1", (8, 3, 3, 3))], "c1", None, pads=[1, 1, 1, 1])
    relu = op("Relu", [conv], "r1", 0.03)
    pool = op("MaxPool", [relu], "p1", 0.03, kernel_shape=[2, 2], strides=[2, 2])
    dw = op("Conv", [pool, weight("w2", (8, 1, 3, 3))], "d1", None, pads=[1, 1, 1, 1], group=8)
    clip = op("Clip", [dw, const("lo", np.float32(-1)), const("hi", np.float32(1))], "k1", 0.01)
    add = op("Add", [clip, pool], "a1", 0.06)
    gap = op("GlobalAveragePool", [add], "g1", 0.02)
    flat = op("Flatten", [gap], "f1", None)  # a reshape keeps the DQ deferred
    y = op("Gemm", [flat, weight("w3", (5, 8))], "y", 0.05, transB=1)
    graph = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 12, 12])],
                              [helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, 5])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return edgert.compile(model), rng.normal(0, 1, (1, 3, 12, 12)).astype(np.float32)


def _sklearn(estimator: str, mode: str):
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_iris
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier
    X, y = load_iris(return_X_y=True)
    est = (DecisionTreeClassifier(max_depth=4, random_state=0) if estimator == "tree" else SVC(gamma=0.5)).fit(X, y)
    model = edgert.compile(est, mode=mode, calibration=X) if mode == "fixed" else edgert.compile(est)
    dtype = model.graph.tensors[model.graph.inputs[0]].dtype
    return model, X[[7]].astype(dtype)


def _nir(name: str, mode: str):
    pytest.importorskip("nir")
    model = edgert.compile(MODELS / "nir" / f"{name}.nir", mode=mode)
    t = model.graph.tensors[model.graph.inputs[0]]
    spikes = np.random.default_rng(2).random(t.shape) < 0.3
    spikes.flat[0] = True  # at least one input event in every layer that sees the input
    x = spikes.astype(np.float32)
    session = edgert.Session(model, backend="numpy")
    return model, session.quantize(x) if mode == "fixed" else x


FAMILIES = {
    "tflite-int8": lambda: _tflite("kws_ref_model"),
    "tflite-float32": lambda: _tflite("kws_ref_model_float32"),
    "onnx-qdq": lambda: onnx_cnn(quantized=True),
    "onnx-float": lambda: onnx_cnn(quantized=False),
    "sklearn-tree": lambda: _sklearn("tree", "float"),
    "sklearn-svm": lambda: _sklearn("svm", "float"),
    "sklearn-tree-fixed": lambda: _sklearn("tree", "fixed"),
    "sklearn-svm-fixed": lambda: _sklearn("svm", "fixed"),
    "snn-lif": lambda: _nir("lif_norse", "float"),
    "snn-lif-fixed": lambda: _nir("lif_norse", "fixed"),
    "snn-cnn": lambda: _nir("cnn_sinabs", "float"),
    "snn-cnn-fixed": lambda: _nir("cnn_sinabs", "fixed"),
}
