"""`edgert emulate --device all` spans every family and says which devices cannot run a model
and why; `edgert devices` lists the part-2 profiles."""
import json

import numpy as np
from click.testing import CliRunner

from edgert.cli import main

from part2_nets import TINY, dense_snn, spike_vector

PART2 = ["spinnaker1", "spinnaker2", "jetson-nano", "jetson-xavier-nx", "jetson-orin-nano", "jetson-agx-orin",
         "dpu-b512", "dpu-b800", "dpu-b1024", "dpu-b1152", "dpu-b1600", "dpu-b2304", "dpu-b3136", "dpu-b4096",
         "zcu102", "zcu104", "kv260"]


def rows(output: str) -> dict:
    return {line.split()[0]: line for line in output.splitlines() if line.split() and line.split()[0] in PART2}


def test_devices_lists_every_part2_profile():
    result = CliRunner().invoke(main, ["devices"])
    assert result.exit_code == 0, result.output
    assert set(rows(result.output)) == set(PART2)
    shown = CliRunner().invoke(main, ["devices", "show", "jetson-orin-nano"])
    assert "MAXN_SUPER" in shown.output and "nvpmodel" in shown.output


def test_all_devices_on_a_cnn(tmp_path):
    out = tmp_path / "all.json"
    result = CliRunner().invoke(main, ["emulate", str(TINY / "kws_ref_model.tflite"), "--device", "all",
                                       "--backend", "numpy", "--json", str(out)])
    assert result.exit_code == 0, result.output
    table = rows(result.output)
    assert set(table) == set(PART2)
    assert "cannot run: unsupported op" in table["spinnaker1"] and "spiking layers only" in table["spinnaker1"]
    for device in set(PART2) - {"spinnaker1"}:
        assert "cannot run" not in table[device], table[device]
    assert {r["device"] for r in json.loads(out.read_text())} >= set(PART2) - {"spinnaker1"}


def test_all_devices_on_a_busy_spiking_layer(tmp_path):
    model = tmp_path / "snn.ert"
    dense_snn(1000, 512).save(model)
    x = tmp_path / "spikes.npy"
    np.save(x, spike_vector(1000, 300))  # far beyond a SpiNNaker core's event budget
    result = CliRunner().invoke(main, ["emulate", str(model), "--device", "all", "--backend", "numpy",
                                       "--input", str(x)])
    assert result.exit_code == 0, result.output
    table = rows(result.output)
    for device in ("spinnaker1", "spinnaker2"):
        assert "misses real time" in table[device]
    for device in ("dpu-b512", "zcu102", "kv260"):
        assert "cannot run: unsupported op" in table[device]
    assert "cannot run" not in table["jetson-agx-orin"]
    quiet = tmp_path / "quiet.npy"
    np.save(quiet, spike_vector(1000, 2))
    calm = CliRunner().invoke(main, ["emulate", str(model), "--device", "spinnaker2", "--backend", "numpy",
                                     "--input", str(quiet), "--timestep", "1ms"])
    assert calm.exit_code == 0 and "real_time: True" in calm.output and "timestep_s=0.001" in calm.output


def test_single_device_options_reach_the_model():
    result = CliRunner().invoke(main, ["emulate", str(TINY / "vww_96_int8.tflite"), "--device", "kv260",
                                       "--backend", "numpy", "--disable", "conv_2d_1*"])
    assert result.exit_code == 0, result.output
    assert "saved_energy_j" in result.output and "disabled_nodes" in result.output
    bad = CliRunner().invoke(main, ["emulate", str(TINY / "vww_96_int8.tflite"), "--device", "spinnaker2",
                                    "--backend", "numpy", "--timestep", "soon"])
    assert bad.exit_code == 2 and "cannot read time" in bad.output
