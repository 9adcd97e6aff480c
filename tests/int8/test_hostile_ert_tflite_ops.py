"""Hostile .ert files carrying the TFLite ops: words of a compiled MLPerf Tiny model are
overwritten (shapes, attributes such as strides, shifts and multipliers, tensor references,
constant data) and the CRC is recomputed, as an attacker would. Whatever the strict reader
accepts must then run, or fail with an edgert error, on every backend: the kernels' own
checks (C load-time checks, Python shape checks) stand between the file and memory."""
from __future__ import annotations

import functools
import struct
import zlib
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import edgert
from edgert.errors import EdgertError
from edgert.runtime.compiler import Model

MODELS_DIR = Path(__file__).resolve().parents[2] / "models" / "mlperf_tiny"
SEEDS = ("kws_ref_model", "ad01_int8", "str_ww_ref_model", "pretrainedResnet_quant", "ad01_fp32", "kws_ref_model_float32")
HEADER_BYTES = 64
VALUES = [0, 1, 2, 3, 31, 32, 64, 255, 65535, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFE1]


@functools.cache
def ert_bytes(name: str) -> bytes:
    return edgert.compile(MODELS_DIR / f"{name}.tflite").ert


def with_crc(raw: bytearray) -> bytes:
    struct.pack_into("<I", raw, 12, 0)
    struct.pack_into("<I", raw, 12, zlib.crc32(raw))
    return bytes(raw)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_mutated_ert_runs_or_fails_cleanly(seed, data):
    raw = bytearray(ert_bytes(seed))
    for _ in range(data.draw(st.integers(1, 3))):
        pos = data.draw(st.integers(HEADER_BYTES // 4, len(raw) // 4 - 1)) * 4
        raw[pos:pos + 4] = struct.pack("<I", data.draw(st.sampled_from(VALUES) | st.integers(0, 0xFFFFFFFF)))
    try:
        model = Model.from_bytes(with_crc(raw))
    except EdgertError:
        return
    for backend in ("c", "numba", "numpy"):
        try:
            session = edgert.Session(model, backend=backend)
            session.run({d["name"]: np.zeros(d["shape"], d["dtype"]) for d in session.input_details()})
        except EdgertError:
            pass
