"""`edgert compile net.nir -O ...` and `edgert run net.ert --steps N --input spikes.npy [--events]`."""
import numpy as np
from click.testing import CliRunner

import edgert
from edgert.cli import main

from .nets import MODELS


def _compile(tmp_path, *options):
    out = tmp_path / "lif.ert"
    r = CliRunner().invoke(main, ["compile", str(MODELS / "lif_norse.nir"), "-o", str(out), *options])
    assert r.exit_code == 0, r.output
    return out


def test_compile_with_options_records_them(tmp_path):
    out = _compile(tmp_path, "-O", "integrator=exact", "-O", "dt=2e-4", "-O", "mode=fixed")
    meta = edgert.load(out).meta["spiking"]
    assert (meta["integrator"], meta["dt"], meta["mode"]) == ("exact", 2e-4, "fixed")


def test_run_dense_spikes_and_events_give_the_reference_spikes(tmp_path):
    ert = _compile(tmp_path)
    ref = np.loadtxt(MODELS / "lif_norse.csv", delimiter=",")
    np.save(tmp_path / "spikes.npy", ref[:, :1].astype(bool))
    np.save(tmp_path / "events.npy", np.array([(t, 0) for t in np.flatnonzero(ref[:, 0])]))
    for args in (["--input", str(tmp_path / "spikes.npy")], ["--events", "--input", str(tmp_path / "events.npy")]):
        out = tmp_path / "out.npy"
        r = CliRunner().invoke(main, ["run", str(ert), "--steps", "1000", *args, "-o", str(out)])
        assert r.exit_code == 0, r.output
        assert "output spike counts: [4.0]" in r.output and "neuron_updates" in r.output
        assert list(np.flatnonzero(np.load(out))) == [460, 510, 710, 760]


def test_run_shorter_steps_cut_the_input(tmp_path):
    ert = _compile(tmp_path)
    np.save(tmp_path / "spikes.npy", np.ones((50, 1), np.float32))
    r = CliRunner().invoke(main, ["run", str(ert), "--steps", "7", "--input", str(tmp_path / "spikes.npy"), "-o", str(tmp_path / "o.npy")])
    assert r.exit_code == 0, r.output
    assert np.load(tmp_path / "o.npy").shape == (7, 1, 1)


def test_run_wrong_input_shape_is_a_clear_error(tmp_path):
    ert = _compile(tmp_path)
    np.save(tmp_path / "bad.npy", np.ones((10, 3), np.float32))
    r = CliRunner().invoke(main, ["run", str(ert), "--steps", "10", "--input", str(tmp_path / "bad.npy")])
    assert r.exit_code == 2 and "expected (T, 1, 1)" in r.output


def test_bad_option_is_a_clear_error(tmp_path):
    r = CliRunner().invoke(main, ["compile", str(MODELS / "lif_norse.nir"), "-o", str(tmp_path / "x.ert"), "-O", "reset=sideways"])
    assert r.exit_code == 2 and "reset='sideways'" in r.output
