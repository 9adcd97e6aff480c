"""`edgert board info`, `edgert deploy`, `edgert run --port` and `edgert board start`."""
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from edgert.cli import main
from edgert.devices import Board

KWS = Path(__file__).resolve().parents[2] / "models" / "mlperf_tiny" / "kws_ref_model.tflite"


def test_board_info(host_url):
    r = CliRunner().invoke(main, ["board", "info", "--port", host_url])
    assert r.exit_code == 0, r.output
    assert "edgert-fw" in r.output and "RESHAPE" in r.output


def test_deploy_then_run_compares_with_host(host_url, tmp_path):
    runner = CliRunner()
    ert = tmp_path / "kws.ert"
    assert runner.invoke(main, ["compile", str(KWS), "-o", str(ert)]).exit_code == 0
    r = runner.invoke(main, ["deploy", str(ert), "--port", host_url])
    assert r.exit_code == 0 and "verified the digest" in r.output, r.output
    x = tmp_path / "x.npy"
    np.save(x, np.load(KWS.parent / "samples" / "kws_sample_input_int8.npy").reshape(1, 49, 10, 1))
    r = runner.invoke(main, ["run", str(ert), "--port", host_url, "--input", str(x)])
    assert r.exit_code == 0, r.output
    assert "model already on board" in r.output
    assert "board output identical to the host" in r.output


def test_unreachable_port_is_a_clear_error():
    r = CliRunner().invoke(main, ["board", "info", "--port", "/dev/does-not-exist"])
    assert r.exit_code == 2 and "cannot open serial port" in r.output


def test_board_start_prints_url_and_stops_qemu():
    proc = subprocess.Popen([sys.executable, "-m", "edgert.cli", "board", "start", "qemu-riscv32"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("socket://127.0.0.1:")
        with Board.open(url) as board:
            assert board.info().port == "qemu-riscv32-virt"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
    port = url.rsplit(":", 1)[1]
    left = subprocess.run(["pgrep", "-f", f"tcp:127.0.0.1:{port},"], capture_output=True, text=True)
    assert left.stdout == "", "QEMU outlived `edgert board start`"
