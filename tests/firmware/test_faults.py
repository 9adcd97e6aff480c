"""Fault injection between host and firmware: bytes dropped, corrupted, duplicated and delayed
at ~1e-3 per byte. Every seeded run either deploys and returns exactly the right outputs, or
fails with an edgert error after bounded retries; it never returns wrong data."""
from pathlib import Path

import numpy as np
import pytest

import edgert
from edgert.devices import Board, Faults
from edgert.errors import EdgertError
from native.models import padded_model  # tests/ is on sys.path (pytest prepend import)

MODEL = padded_model(20000)
SEEDS = range(50)


def deploy_and_run(url, faults):
    with Board.open(url, timeout=0.1, retries=10, faults=faults) as board:
        board.deploy(MODEL)
        rng = np.random.default_rng(faults.seed)
        for _ in range(3):
            x = rng.integers(-128, 128, (2, 8), dtype=np.int8)
            np.testing.assert_array_equal(board.run(x), x.reshape(-1))   # wrong data fails the test
        return board.client.port.injected, board.client.stats


def test_seeded_fault_runs_succeed_or_fail_cleanly(host_url):
    outcomes, injected_total = [], 0
    for seed in SEEDS:
        faults = Faults(drop=1e-3, corrupt=1e-3, duplicate=1e-3, delay=1e-3, seed=seed)
        try:
            injected, stats = deploy_and_run(host_url, faults)
            injected_total += sum(injected.values())
            outcomes.append("ok")
        except EdgertError as e:
            assert str(e)            # a clear message, never a bare failure
            outcomes.append(type(e).__name__)
    print("outcomes:", outcomes, "faults injected in successful runs:", injected_total)
    assert injected_total > 0                 # the proxy really damaged traffic
    assert outcomes.count("ok") >= len(SEEDS) * 0.8


@pytest.mark.parametrize("kind", ["drop", "corrupt", "duplicate"])
def test_heavy_faults_give_a_clear_error_not_wrong_data(host_url, kind):
    faults = Faults(seed=1, **{kind: 0.05})   # 5 % of bytes: most frames are damaged
    try:
        deploy_and_run(host_url, faults)
    except EdgertError as e:
        assert "board" in str(e).lower() or "upload" in str(e).lower()


def test_faulty_link_to_qemu_board_deploys_kws_exactly(riscv_url):
    """The same over QEMU's TCP serial with a real model: KWS deployed and run through a link
    that damages ~3e-3 of all bytes, outputs still byte-identical to the host."""
    kws = edgert.compile(Path(__file__).resolve().parents[2] / "models" / "mlperf_tiny" / "kws_ref_model.tflite")
    session = edgert.Session(kws, backend="c")
    rng = np.random.default_rng(5)
    for seed in range(3):
        faults = Faults(drop=1e-3, corrupt=1e-3, duplicate=1e-3, delay=1e-3, seed=100 + seed)
        with Board.open(riscv_url, timeout=0.3, retries=10, faults=faults) as board:
            board.deploy(kws)
            for _ in range(3):
                x = rng.integers(-128, 128, (1, 49, 10, 1), dtype=np.int8)
                assert board.run(x).tobytes() == session.run(x).tobytes()
            assert sum(board.client.port.injected.values()) > 0
