"""Hostile .tflite files: mutated copies of real models (flipped bytes, truncation, inflated
counts and sizes) must import to a valid model or fail with an edgert error, never crash,
hang or allocate without bound; whatever imports must also run on the C backend without
faulting. Also: unsupported ops / options are rejected by name."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import edgert
from edgert.errors import EdgertError, FormatError, UnsupportedOpError
from edgert.runtime.importers.tflite import load_bytes
from tests.int8.tflite_builder import OneOp

MODELS_DIR = Path(__file__).resolve().parents[2] / "models" / "mlperf_tiny"
SEEDS = {name: (MODELS_DIR / f"{name}.tflite").read_bytes() for name in ("kws_ref_model", "ad01_int8")}
BIG = [0x7FFFFFFF, 0xFFFFFFFF, 0x10000000, 0x00FFFFFF, 65536]


def import_or_edgert_error(raw: bytes) -> None:
    """Import; if that works, compile and run on C. Any failure must be an EdgertError."""
    try:
        graph = load_bytes(raw, "<mutated>")
        model = edgert.compile(graph)
        session = edgert.Session(model, backend="c")
        inputs = {d["name"]: np.zeros(d["shape"], d["dtype"]) for d in session.input_details()}
        session.run(inputs)
    except EdgertError:
        pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(sorted(SEEDS)), data=st.data())
def test_flipped_bytes(seed, data):
    raw = bytearray(SEEDS[seed])
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    import_or_edgert_error(bytes(raw))


@settings(max_examples=60, deadline=None)
@given(seed=st.sampled_from(sorted(SEEDS)), cut=st.floats(0, 1, exclude_max=True))
def test_truncated(seed, cut):
    raw = SEEDS[seed]
    import_or_edgert_error(raw[:int(len(raw) * cut)])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(sorted(SEEDS)), data=st.data())
def test_inflated_counts_and_offsets(seed, data):
    """Overwrite aligned 32-bit words (vector lengths, offsets, shape dims, indices) with huge
    or negative values."""
    raw = bytearray(SEEDS[seed])
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) // 4 - 1)) * 4
        value = data.draw(st.sampled_from(BIG) | st.integers(0, 0xFFFFFFFF))
        raw[pos:pos + 4] = struct.pack("<I", value)
    import_or_edgert_error(bytes(raw))


def test_garbage_and_empty_are_format_errors():
    for raw in (b"", b"TFL3", b"\0" * 64, b"not a flatbuffer at all, just text" * 3):
        with pytest.raises(FormatError):
            load_bytes(raw, "<garbage>")


def test_shape_larger_than_any_edge_model_is_rejected(tmp_path):
    m = OneOp()
    x = m.tensor((1, 65536, 65536, 64), np.int8, 0.1, 0)
    y = m.tensor((1, 65536, 65536, 64), np.int8, 0.1, 0)
    path = tmp_path / "huge.tflite"
    path.write_bytes(m.build("MAX_POOL_2D", [x], [y], padding=0, strideH=1, strideW=1, filterHeight=1, filterWidth=1))
    with pytest.raises(FormatError, match="limit"):
        edgert.compile(path)


def test_unsupported_op_is_named(tmp_path):
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema
    raw = (MODELS_DIR / "ad01_int8.tflite").read_bytes()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(raw, 0))
    model.operatorCodes[0].builtinCode = schema.BuiltinOperator.LSTM
    model.operatorCodes[0].deprecatedBuiltinCode = schema.BuiltinOperator.LSTM
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path = tmp_path / "lstm.tflite"
    path.write_bytes(bytes(builder.Output()))
    with pytest.raises(UnsupportedOpError, match="LSTM"):
        edgert.compile(path)


def test_unsupported_option_is_named(tmp_path):
    m = OneOp()
    x = m.tensor((2, 8), np.int8, 0.1, 0)
    w = m.tensor((4, 8), np.int8, 0.1, 0, data=np.ones((4, 8), np.int8))
    y = m.tensor((2, 4), np.int8, 0.1, 0)
    path = tmp_path / "shuffled.tflite"
    path.write_bytes(m.build("FULLY_CONNECTED", [x, w, -1], [y], weightsFormat=1))
    with pytest.raises(UnsupportedOpError, match="shuffled"):
        edgert.compile(path)
