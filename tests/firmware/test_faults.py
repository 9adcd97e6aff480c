"""Fault injection between host and firmware: bytes dropped, corrupted, duplicated and delayed
at ~1e-3 per byte. Every seeded run either deploys and returns exactly the right outputs, or
fails with an edgert error after bounded retries; it never returns wrong data."""
import numpy as np
import pytest

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
