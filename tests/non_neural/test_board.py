"""The same .ert on the firmware (QEMU RISC-V rv32imc, soft-float, libm-free math) gives the
host C backend's outputs bit for bit, float32 and fixed mode alike."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn import ensemble, linear_model, naive_bayes, neighbors, pipeline, preprocessing, svm

import edgert
from nn_data import dataset
from edgert.devices import Board, qemu_board

MODELS = {
    "RandomForestClassifier": lambda: ensemble.RandomForestClassifier(6, max_depth=5, random_state=0),
    "GradientBoostingClassifier": lambda: ensemble.GradientBoostingClassifier(n_estimators=6, random_state=0),
    "HistGradientBoostingClassifier": lambda: ensemble.HistGradientBoostingClassifier(max_iter=6, random_state=0),
    "SVC-rbf": lambda: pipeline.make_pipeline(preprocessing.StandardScaler(), svm.SVC()),
    "SVC-sigmoid": lambda: pipeline.make_pipeline(preprocessing.StandardScaler(), svm.SVC(kernel="sigmoid")),
    "GaussianNB": naive_bayes.GaussianNB,
    "LogisticRegression": lambda: pipeline.make_pipeline(preprocessing.MinMaxScaler(), linear_model.LogisticRegression()),
    "KNeighborsClassifier-distance": lambda: neighbors.KNeighborsClassifier(4, weights="distance"),
}


@pytest.fixture(scope="module")
def board():
    with qemu_board("qemu-riscv32") as url, Board.open(url, timeout=5.0) as b:
        yield b


@pytest.mark.parametrize("mode", ["float32", "fixed"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_board_equals_host(board, name, mode):
    Xtr, Xte, ytr, _ = dataset("wine")
    est = MODELS[name]().fit(Xtr, ytr)
    x = Xte[::6][:8]
    model = edgert.compile(est, mode=mode, calibration=Xtr, batch=len(x)) if mode == "fixed" else \
        edgert.compile(est, batch=len(x))
    host = edgert.Session(model, backend="c")
    x = x.astype(host.input_details()[0]["dtype"])
    want = host.run(x)
    board.deploy(model.ert)
    got = board.run(x)
    if isinstance(want, dict):
        assert sorted(got) == sorted(want)
        for key in want:
            assert got[key].tobytes() == want[key].tobytes(), key
    else:
        assert got.tobytes() == want.tobytes()
    assert np.array_equal(want["label"] if isinstance(want, dict) else want, est.predict(Xte[::6][:8]))
