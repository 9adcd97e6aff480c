"""Peak activation arena: edgert's planned arena (what `edgert info` reports) is no larger than
the arena TFLite Micro plans for the same model (the wheel's RecordingMicroAllocator "head":
its non-persistent activation and scratch section; "tail" holds TFLM's own structs)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import edgert
from edgert.cli import main as cli

MODELS_DIR = Path(__file__).resolve().parents[2] / "models" / "mlperf_tiny"
MODELS = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "pretrainedResnet_large_int8",
          "ad01_int8", "str_ww_ref_model", "vww_96_float", "pretrainedResnet", "ad01_fp32"]
PRINT_ALLOCATIONS = ("import sys; from tflite_micro import runtime; "
                     "runtime.Interpreter.from_file(sys.argv[1]).print_allocations()")


def tflm_arena(path: Path) -> dict[str, int]:
    """TFLM's recorded arena sections, printed by its C++ logger: read from a child's stderr."""
    out = subprocess.run([sys.executable, "-c", PRINT_ALLOCATIONS, str(path)], capture_output=True,
                         text=True, check=True).stderr
    return {k: int(v) for k, v in re.findall(r"Arena allocation (\w+) (\d+) bytes", out)}


@pytest.mark.parametrize("name", MODELS)
def test_arena_no_larger_than_tflm(name, tmp_path):
    path = MODELS_DIR / f"{name}.tflite"
    model = edgert.compile(path)
    tflm = tflm_arena(path)
    assert tflm["head"] > 0
    assert model.arena_size <= tflm["head"], f"{name}: edgert {model.arena_size} B > TFLM {tflm['head']} B"
    # `edgert info` reports the same figure
    model.save(tmp_path / "m.ert")
    result = CliRunner().invoke(cli, ["info", str(tmp_path / "m.ert"), "--json"])
    assert result.exit_code == 0, result.output
    assert f'"arena_bytes": {model.arena_size}' in result.output
