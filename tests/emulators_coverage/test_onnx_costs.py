"""ONNX ops (NCHW) get the same loop geometry as the TFLite op with the same shapes, and pay
ONNX's float32 requantization where TFLite uses fixed point."""
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from edgert.emulators import Emulator
from edgert.emulators.workload import conv2d_work, node_work
from edgert.runtime import kernels as runtime_kernels
from edgert.runtime.ir import Graph, Tensor

from coverage_models import onnx_cnn

GEOMETRY = ("kind", "reduction", "valid_terms", "rows", "row_outputs", "channels", "window", "macs", "outputs")


@pytest.fixture(scope="module")
def qdq():
    return onnx_cnn(quantized=True)


def _node(model, op, nth=0):
    return [k for k, n in enumerate(model.graph.nodes) if n.op == op][nth]


def test_onnx_conv_has_the_geometry_of_the_same_tflite_conv(qdq):
    model, _ = qdq
    emulator = Emulator(model, "rv32imc", backend="numpy")
    onnx_work = emulator.device_model.works[_node(model, "ONNX_QLINEAR_CONV")]
    tflite_work = conv2d_work(12, 12, 3, 8, 3)  # the same 3x3 SAME conv, NHWC
    assert {f: getattr(onnx_work, f) for f in GEOMETRY} == {f: getattr(tflite_work, f) for f in GEOMETRY}
    depthwise = emulator.device_model.works[_node(model, "ONNX_QLINEAR_CONV", 1)]  # group = channels = 8
    assert (depthwise.kind, depthwise.reduction, depthwise.channels, depthwise.window) == ("dwconv", 9, 8, (3, 3, 1, 1))
    pool = emulator.device_model.works[_node(model, "ONNX_QMAX_POOL")]
    assert (pool.kind, pool.window, pool.outputs) == ("maxpool", (2, 2, 2, 2), 8 * 6 * 6)


def _requant_penalty(model, device) -> float:
    """Cycles of the ONNX conv node over those of the same Work costed as a TFLite CONV_2D."""
    emulator = Emulator(model, device, backend="numpy")
    k = _node(model, "ONNX_QLINEAR_CONV")
    dm = emulator.device_model
    onnx_cycles = dm.node_cost(k, {}).cycles
    dm.works[k] = replace(dm.works[k], op="CONV_2D", events=None)
    return onnx_cycles / dm.node_cost(k, {}).cycles


def test_float_requantization_costs_most_without_an_fpu(qdq):
    model, _ = qdq
    soft_float, with_fpu = _requant_penalty(model, "rv32imc"), _requant_penalty(model, "stm32l4r5")
    assert soft_float > with_fpu
    assert soft_float > 1.05  # soft-float multiply and conversions per output are not free
    assert _requant_penalty(model, "gap8") > _requant_penalty(model, "pulp-open")  # FPU-less cluster vs FPU


def _work(op, x_shape, w_shape, y_shape, attrs):
    graph = Graph()
    x = graph.add_tensor(Tensor("x", "int8", x_shape))
    inputs = [x]
    if w_shape:
        inputs.append(graph.add_tensor(Tensor("w", "int8", w_shape, data=np.zeros(w_shape, np.int8))))
    y = graph.add_tensor(Tensor("y", "int8", y_shape))
    node = graph.add_node(op, inputs, [y], attrs)
    return node_work(node, graph, runtime_kernels.macs(node, graph.tensors))


@settings(max_examples=80, deadline=None)
@given(h=st.integers(1, 12), w=st.integers(1, 12), cin=st.integers(1, 5), cout=st.integers(1, 5),
       kh=st.integers(1, 4), kw=st.integers(1, 4), sh=st.integers(1, 3), sw=st.integers(1, 3),
       dh=st.integers(1, 2), dw=st.integers(1, 2), pads=st.tuples(*[st.integers(0, 2)] * 4),
       layer=st.sampled_from(["conv", "depthwise", "maxpool", "avgpool"]))
@example(h=5, w=5, cin=2, cout=2, kh=2, kw=1, sh=1, sw=1, dh=1, dw=1, pads=(0, 0, 0, 0), layer="conv")  # KH = C_in = C_out
def test_onnx_window_geometry_equals_tflite(h, w, cin, cout, kh, kw, sh, sw, dh, dw, pads, layer):
    """Any ONNX conv / pool window (NCHW, pads top-left-bottom-right) has the loop geometry of the
    TFLite op with the same window over the same data laid out NHWC."""
    if layer != "conv":
        cout = cin
    if layer in ("maxpool", "avgpool"):
        dh = dw = 1  # TFLite pools have no dilation
    pt, pl, pb, pr = pads
    ho, wo = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1, (w + pl + pr - dw * (kw - 1) - 1) // sw + 1
    assume(ho >= 1 and wo >= 1)
    window = {"stride": [sh, sw], "dilation": [dh, dw], "pad": [pt, pl]}
    onnx_attrs = {"strides": [sh, sw], "dilations": [dh, dw], "pads": [pt, pl, pb, pr]}
    nchw, nhwc = ((1, cin, h, w), (1, cout, ho, wo)), ((1, h, w, cin), (1, ho, wo, cout))
    if layer == "conv":
        onnx = _work("ONNX_QLINEAR_CONV", nchw[0], (cout, cin, kh, kw), nchw[1], {**onnx_attrs, "group": 1})
        tflite = _work("CONV_2D", nhwc[0], (kh, kw, cin, cout), nhwc[1], window)  # HWIO, as the importer writes
    elif layer == "depthwise":
        onnx = _work("ONNX_QLINEAR_CONV", nchw[0], (cout, 1, kh, kw), nchw[1], {**onnx_attrs, "group": cin})
        tflite = _work("DEPTHWISE_CONV_2D", nhwc[0], (1, kh, kw, cout), nhwc[1], window)
    else:
        onnx = _work("ONNX_QMAX_POOL" if layer == "maxpool" else "ONNX_QLINEAR_AVERAGE_POOL", nchw[0], None, nchw[1],
                     {**onnx_attrs, "kernel_shape": [kh, kw]})
        tflite = _work("MAX_POOL_2D" if layer == "maxpool" else "AVERAGE_POOL_2D", nhwc[0], None, nhwc[1],
                       {**window, "filter": [kh, kw]})
    if layer == "depthwise" and cin == 1:
        return  # one group of one channel: an ordinary conv to ONNX, fine either way
    assert {f: getattr(onnx, f) for f in GEOMETRY} == {f: getattr(tflite, f) for f in GEOMETRY}
