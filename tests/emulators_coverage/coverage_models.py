"""Small models of every family the runtime compiles, with inputs that exercise them, chosen so
that together they use every op the runtime has (tests/emulators_coverage/test_op_coverage.py
checks that): int8 and float TFLite (MLPerf Tiny KWS and ResNet; the converters and max pools,
which no model file has, in an IR graph), ONNX (a QDQ CNN, its float
twin and the integer ops, built with onnx.helper), scikit-learn (trees, SVM, kNN pipeline,
logistic regression, naive Bayes; float and fixed mode), NIR spiking graphs (float and fixed,
event and dense synapses, a recurrent one)."""
from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

import edgert
from edgert.runtime.importers.tflite import quantize_multiplier
from edgert.runtime.ir import Graph, Quant, Tensor

MODELS = Path(__file__).resolve().parents[2] / "models"


def _tflite(name):
    model = edgert.compile(MODELS / "mlperf_tiny" / f"{name}.tflite")
    t = model.graph.tensors[model.graph.inputs[0]]
    rng = np.random.default_rng(0)
    if name == "kws_ref_model":
        return model, np.load(MODELS / "mlperf_tiny" / "samples" / "kws_sample_input_int8.npy")
    if t.dtype == "float32":
        return model, rng.normal(0, 1, t.shape).astype(np.float32)
    return model, rng.integers(-128, 128, t.shape).astype(np.int8)


def tflite_converters():
    """The TFLite ops no model file in the repo has, as the TFLite importer writes them:
    x (1,8,8,4) float -> MAX_POOL_2D_F32 -> QUANTIZE -> MAX_POOL_2D -> REQUANTIZE -> DEQUANTIZE."""
    g = Graph()
    q_in, q_out = Quant(0.05, 3), Quant(0.1, -5)
    x, pooled = (g.add_tensor(Tensor(n, "float32", s)) for n, s in (("x", (1, 8, 8, 4)), ("p", (1, 4, 4, 4))))
    q = g.add_tensor(Tensor("q", "int8", (1, 4, 4, 4), quant=q_in))
    m = g.add_tensor(Tensor("m", "int8", (1, 2, 2, 4), quant=q_in))
    r = g.add_tensor(Tensor("r", "int8", (1, 2, 2, 4), quant=q_out))
    y = g.add_tensor(Tensor("y", "float32", (1, 2, 2, 4)))
    window, big = {"filter": [2, 2], "stride": [2, 2], "pad": [0, 0]}, float(np.finfo(np.float32).max)
    multiplier, shift = quantize_multiplier(0.05 / 0.1)
    g.add_node("MAX_POOL_2D_F32", [x], [pooled], {**window, "act_min": -big, "act_max": big})
    g.add_node("QUANTIZE", [pooled], [q], {"scale": 0.05, "zp_out": 3})
    g.add_node("MAX_POOL_2D", [q], [m], {**window, "act_min": -128, "act_max": 127})
    g.add_node("REQUANTIZE", [m], [r], {"multiplier": multiplier, "shift": shift, "zp_in": 3, "zp_out": -5})
    g.add_node("DEQUANTIZE", [r], [y], {"scale": np.array([0.1]), "zp_in": -5})
    g.inputs, g.outputs = [x], [y]
    return edgert.compile(g), np.random.default_rng(4).normal(0, 3, (1, 8, 8, 4)).astype(np.float32)


def onnx_cnn(quantized: bool):
    """x (1,3,12,12) -> conv+relu -> maxpool -> depthwise conv+clip, + residual add -> global
    average pool -> flatten -> gemm. Quantized: every activation and weight goes through Q/DQ (int8),
    which edgert fuses into ONNX_QLINEAR_* ops; else the float ONNX_*_F32 ops."""
    onnx = importlib.import_module("onnx")
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


def onnx_integer():
    """ConvInteger and MatMulInteger side by side: two uint8 inputs, two int32 outputs."""
    onnx = importlib.import_module("onnx")
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(6)
    inits = [numpy_helper.from_array(a, name) for name, a in [
        ("w", rng.integers(-128, 128, (3, 2, 3, 3)).astype(np.int8)), ("b", rng.integers(-128, 128, (8, 5)).astype(np.int8)),
        ("x_zp", np.uint8(128)), ("w_zp", np.int8(1)), ("a_zp", np.uint8(120)), ("b_zp", np.int8(-2))]]
    nodes = [helper.make_node("ConvInteger", ["x", "w", "x_zp", "w_zp"], ["y"], pads=[1, 1, 1, 1]),
             helper.make_node("MatMulInteger", ["a", "b", "a_zp", "b_zp"], ["z"])]
    value = helper.make_tensor_value_info
    graph = helper.make_graph(nodes, "integer", [value("x", TensorProto.UINT8, [1, 2, 6, 6]),
                                                 value("a", TensorProto.UINT8, [4, 8])],
                              [value("y", TensorProto.INT32, [1, 3, 6, 6]), value("z", TensorProto.INT32, [4, 5])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    inputs = {"x": rng.integers(0, 256, (1, 2, 6, 6)).astype(np.uint8), "a": rng.integers(0, 256, (4, 8)).astype(np.uint8)}
    return edgert.compile(model), inputs


def _estimator(name: str):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier
    return {"tree": lambda: DecisionTreeClassifier(max_depth=4, random_state=0), "svm": lambda: SVC(gamma=0.5),
            "knn": lambda: make_pipeline(StandardScaler(), KNeighborsClassifier(3)),
            "logreg": lambda: LogisticRegression(max_iter=500), "gnb": GaussianNB,
            "histgb": lambda: HistGradientBoostingClassifier(max_iter=5, random_state=0)}[name]()


def _sklearn(estimator: str, mode: str):
    importlib.import_module("sklearn")
    from sklearn.datasets import load_iris
    X, y = load_iris(return_X_y=True)
    est = _estimator(estimator).fit(X, y)
    model = edgert.compile(est, mode=mode, calibration=X) if mode == "fixed" else edgert.compile(est)
    dtype = model.graph.tensors[model.graph.inputs[0]].dtype
    return model, X[[7]].astype(dtype)


def glue_snn():
    """A NIR graph in code with the glue ops: Scale, Threshold, Delay, and an Output that echoes
    the Input (a copy): Input(4) -> Scale -> Linear -> Threshold -> Delay -> Affine -> LIF."""
    nir = importlib.import_module("nir")
    rng = np.random.default_rng(1)

    def full(n, v):
        return np.full(n, v, np.float32)

    nodes = {"input": nir.Input(input_type={"input": np.array([4])}), "scale": nir.Scale(scale=full(4, 2.0)),
             "fc": nir.Linear(weight=rng.normal(0, 1, (6, 4)).astype(np.float32)),
             "threshold": nir.Threshold(threshold=full(6, 0.5)), "delay": nir.Delay(delay=full(6, 2e-4)),
             "fc2": nir.Affine(weight=rng.normal(0, 1, (3, 6)).astype(np.float32), bias=full(3, 0.0)),
             "lif": nir.LIF(tau=full(3, 0.01), r=full(3, 1.0), v_leak=full(3, 0.0), v_threshold=full(3, 1.0),
                            v_reset=full(3, 0.0)),
             "output": nir.Output(output_type={"output": np.array([3])}),
             "echo": nir.Output(output_type={"output": np.array([4])})}
    edges = [("input", "scale"), ("scale", "fc"), ("fc", "threshold"), ("threshold", "delay"), ("delay", "fc2"),
             ("fc2", "lif"), ("lif", "output"), ("input", "echo")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def _nir(name: str, mode: str, synapses: str = "event"):
    importlib.import_module("nir")
    source = glue_snn() if name == "glue" else MODELS / "nir" / f"{name}.nir"
    model = edgert.compile(source, mode=mode, synapses=synapses)
    t = model.graph.tensors[model.graph.inputs[0]]
    spikes = np.random.default_rng(2).random(t.shape) < 0.3
    spikes.flat[0] = True  # at least one input event in every layer that sees the input
    x = spikes.astype(np.float32)
    session = edgert.Session(model, backend="numpy")
    return model, session.quantize(x) if mode == "fixed" else x


FAMILIES = {
    "tflite-int8": lambda: _tflite("kws_ref_model"),
    "tflite-float32": lambda: _tflite("kws_ref_model_float32"),
    "tflite-resnet-int8": lambda: _tflite("pretrainedResnet_quant"),
    "tflite-resnet-float32": lambda: _tflite("pretrainedResnet"),
    "tflite-converters": tflite_converters,
    "onnx-qdq": lambda: onnx_cnn(quantized=True),
    "onnx-float": lambda: onnx_cnn(quantized=False),
    "onnx-integer": onnx_integer,
    "sklearn-tree": lambda: _sklearn("tree", "float"),
    "sklearn-svm": lambda: _sklearn("svm", "float"),
    "sklearn-tree-fixed": lambda: _sklearn("tree", "fixed"),
    "sklearn-svm-fixed": lambda: _sklearn("svm", "fixed"),
    "sklearn-knn": lambda: _sklearn("knn", "float"),
    "sklearn-knn-fixed": lambda: _sklearn("knn", "fixed"),
    "sklearn-logreg": lambda: _sklearn("logreg", "float"),
    "sklearn-logreg-fixed": lambda: _sklearn("logreg", "fixed"),
    "sklearn-gnb": lambda: _sklearn("gnb", "float"),
    "sklearn-gnb-fixed": lambda: _sklearn("gnb", "fixed"),
    "sklearn-histgb": lambda: _sklearn("histgb", "float"),
    "snn-lif": lambda: _nir("lif_norse", "float"),
    "snn-lif-fixed": lambda: _nir("lif_norse", "fixed"),
    "snn-cnn": lambda: _nir("cnn_sinabs", "float"),
    "snn-cnn-fixed": lambda: _nir("cnn_sinabs", "fixed"),
    "snn-cnn-dense": lambda: _nir("cnn_sinabs", "float", "dense"),
    "snn-braille": lambda: _nir("braille_noDelay_bias_zero", "float"),
    "snn-braille-fixed": lambda: _nir("braille_noDelay_bias_zero", "fixed"),
    "snn-glue": lambda: _nir("glue", "float"),
    "snn-glue-fixed-dense": lambda: _nir("glue", "fixed", "dense"),
}
