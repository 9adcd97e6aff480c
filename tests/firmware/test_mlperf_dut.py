"""The MLPerf Tiny DUT command set, as the EEMBC / MLCommons runners speak it ('%'-terminated
commands, m-ready after each reply), against the host-port firmware with KWS deployed."""
from pathlib import Path

import numpy as np
import pytest

import edgert
from edgert.devices import Board, MlperfDut
from edgert.errors import BoardError

KWS = Path(__file__).resolve().parents[2] / "models" / "mlperf_tiny" / "kws_ref_model.tflite"


@pytest.fixture(scope="module")
def kws():
    return edgert.compile(KWS)


@pytest.fixture
def dut(host_url, kws):
    with Board.open(host_url) as board:
        board.deploy(kws)
    with MlperfDut.open(host_url) as d:
        yield d


def test_identification(dut):
    assert dut.name() == "edgert"
    assert dut.profile()[0] == "ULPMark for tinyML Firmware V0.0.1"
    assert dut.timestamp_us() >= 0


def test_db_load_infer_results_match_host(dut, kws):
    session = edgert.Session(kws, backend="c")
    x = np.load(KWS.parent / "samples" / "kws_sample_input_int8.npy").astype(np.int8).reshape(1, 49, 10, 1)
    dut.load(x.tobytes())                       # 31 bytes per `db` command, as the runner does
    result = dut.infer(3, 1)
    expected = ["%0.3f" % v for v in session.dequantize(session.run(x)).reshape(-1)]
    assert ["%0.3f" % v for v in result.results] == expected
    assert result.iterations == 3 and result.elapsed_us >= 0
    assert dut.results() == result.results


def test_errors_are_reported(dut):
    with pytest.raises(BoardError, match="Unknown command: frobnicate"):
        dut.command("frobnicate now")
    with pytest.raises(BoardError, match="hex digits"):
        dut.command("db 123")
    dut.load(b"\x01\x02\x03")
    with pytest.raises(BoardError, match="different number of bytes"):
        dut.infer(1, 0)


def test_binary_protocol_still_works_after_text(dut, host_url):
    dut.command("name")
    with Board.open(host_url) as board:
        assert board.info().model_size > 0
