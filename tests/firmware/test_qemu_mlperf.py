"""End to end on emulated boards: the int8 MLPerf Tiny models deployed over the serial link to
the firmware in QEMU give byte-identical outputs to the host Session, and per-op counts that
are identical run to run (rdinstret under -icount shift=0; SysTick with a phase restart)."""
from pathlib import Path

import numpy as np
import pytest

import edgert
from edgert.devices import Board, qemu_board

MODELS = Path(__file__).resolve().parents[2] / "models" / "mlperf_tiny"
N_INPUTS = 10


def random_inputs(session, n, seed):
    d = session.input_details()[0]
    info = np.iinfo(np.dtype(d["dtype"]))
    rng = np.random.default_rng(seed)
    return [rng.integers(info.min, info.max + 1, d["shape"], dtype=d["dtype"]) for _ in range(n)]


def check_model_on_board(board, name):
    model = edgert.compile(MODELS / f"{name}.tflite")
    session = edgert.Session(model, backend="c")
    report = board.deploy(model)
    assert report["nodes"] == len(model.graph.nodes)
    inputs = random_inputs(session, N_INPUTS, seed=len(name))
    if name == "kws_ref_model":
        inputs.append(np.load(MODELS / "samples" / "kws_sample_input_int8.npy").reshape(inputs[0].shape))
    for x in inputs:
        y = board.run(x)
        assert y.tobytes() == session.run(x).tobytes()
    # per-op counts: present for every node, identical when the same input runs twice
    board.run(inputs[0])
    first = board.counters()
    board.run(inputs[0])
    second = board.counters()
    assert [c.op for c in first] == [n.op for n in model.graph.nodes]
    assert all(c.cycles > 0 for c in first)
    assert [c.cycles for c in first] == [c.cycles for c in second]
    return first


@pytest.fixture(scope="module")
def riscv_board(riscv_url):
    with Board.open(riscv_url, timeout=2.0) as board:
        yield board


@pytest.mark.parametrize("name", ["kws_ref_model", "ad01_int8", "pretrainedResnet_quant", "vww_96_int8"])
def test_mlperf_int8_on_qemu_riscv32(riscv_board, name):
    info = riscv_board.info()
    assert info.counter == "instret"
    counts = check_model_on_board(riscv_board, name)
    # board timestamps bracket the per-op counts (the window adds only the loop around them)
    inv = riscv_board.last_invocation
    assert sum(c.cycles for c in counts) <= inv.ticks


def test_kws_on_qemu_mps2_an386():
    with qemu_board("qemu-mps2-an386") as url, Board.open(url, timeout=2.0) as board:
        assert board.info().counter == "systick"
        check_model_on_board(board, "kws_ref_model")


def test_isa_harness_counts_every_kws_op_on_riscv():
    from edgert.devices.isa import measure
    result = measure(edgert.compile(MODELS / "kws_ref_model.tflite"), "qemu-riscv32")
    assert result["profile"] == "rv32imc" and result["counter"] == "instret"
    assert [n["op"] for n in result["nodes"]][:2] == ["CONV_2D", "DEPTHWISE_CONV_2D"]
    assert all(n["instructions"] == n["ticks"] > 0 for n in result["nodes"])


def test_non_neural_and_spiking_models_on_qemu_riscv32(riscv_board):
    """The same loader and interpreter run the other families: a random forest (tree-node
    activity counters) and a NIR LIF network whose membrane state carries across invokes."""
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    X, y = load_iris(return_X_y=True)
    forest = edgert.compile(RandomForestClassifier(5, max_depth=4, random_state=0).fit(X, y))
    lif = edgert.compile(MODELS.parent / "nir" / "lif_norse.nir")
    for model, inputs in [(forest, [X[i:i + 1].astype(np.float32) for i in range(0, 150, 15)]),
                          (lif, list(np.random.default_rng(0).random((10, 1, 1), dtype=np.float32)))]:
        session = edgert.Session(model, backend="c")
        riscv_board.deploy(model)      # the board resets its state at deploy, like a new Session
        for x in inputs:
            yb, yh = riscv_board.run(x), session.run(x)
            yb, yh = (yb, yh) if isinstance(yb, dict) else ({"y": yb}, {"y": yh})
            assert all(yb[k].tobytes() == np.asarray(yh[k]).tobytes() for k in yb)
        assert any(any(c.activity) for c in riscv_board.counters())
