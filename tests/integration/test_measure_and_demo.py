"""End to end: QEMU board + simulated PPK2 + emulator estimate, through the CLI."""
import json

import numpy as np
from click.testing import CliRunner

from edgert.cli import main

KWS = "models/mlperf_tiny/kws_ref_model.tflite"


def test_measure_on_qemu_board_with_simulated_meter(tmp_path):
    out = tmp_path / "m.json"
    r = CliRunner().invoke(main, ["measure", KWS, "--port", "qemu-riscv32", "--meter", "sim:",
                                  "-n", "5", "--repeats", "2", "--json", str(out),
                                  "--trace", str(tmp_path / "t.npz"), "--plot", str(tmp_path / "t.png")])
    assert r.exit_code == 0, r.output
    assert "board output equals the host's" in r.output
    doc = json.loads(out.read_text())
    measured, estimate = doc["measured"], doc["estimate"]
    assert measured["marker_source"] == "pin"
    # the simulated meter draws the estimate's average power while the board is busy, so the
    # measured power inside the windows is that power, and energy = power x time per inference
    power = estimate["energy_j"] / estimate["latency_s"]
    assert abs(measured["average_power_w"] - power) / power < 0.02
    assert abs(measured["energy_per_inference_j"] - power * measured["latency_s"]) / measured["energy_per_inference_j"] < 0.02
    trace = np.load(tmp_path / "t.npz")
    assert trace["i"].size > 1000 and trace["windows"].shape == (2, 2) and (tmp_path / "t.png").stat().st_size > 1000


def test_demo_runs_the_whole_story(tmp_path):
    r = CliRunner().invoke(main, ["demo", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "board output == host output, byte for byte" in r.output
    assert "cannot run: unsupported op" in r.output  # spinnaker1 says why it cannot run a CNN
    for name in ("kws.ert", "emulate_all.json", "gap8_layers.png", "kws_trace.npz", "kws_energy.png"):
        assert (tmp_path / name).stat().st_size > 0
