"""ONNX ops (NCHW) get the same loop geometry as the TFLite op with the same shapes, and pay
ONNX's float32 requantization where TFLite uses fixed point."""
from dataclasses import replace

import pytest

from edgert.emulators import Emulator
from edgert.emulators.workload import conv2d_work

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
