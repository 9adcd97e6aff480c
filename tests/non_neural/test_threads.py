"""Session(threads=...) on the C backend: a batch split over threads gives the single-thread
run's bytes, for every estimator, batches not divisible by the thread count and batches
smaller than it; bad thread counts and models that are not row-wise get clear errors."""
from __future__ import annotations

import gc
import multiprocessing
import threading
import time

import numpy as np
import pytest

import edgert
from edgert.runtime.ir import Graph, Tensor
from nn_data import as_dict, dataset, fit
from nn_estimators import CLASSIFIERS, REGRESSORS

ESTIMATORS = {**{k: (v, "make_classification") for k, v in CLASSIFIERS.items()},
              **{k: (v, "make_regression") for k, v in REGRESSORS.items()}}


def _assert_same_bytes(a, b):
    a, b = as_dict(a), as_dict(b)
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape
        assert a[k].tobytes() == b[k].tobytes(), k


def _queries(name: str, rows: int) -> np.ndarray:
    """`rows` test rows (repeated past the test set), float64."""
    Xte = dataset(name)[1]
    return np.resize(Xte, (rows, Xte.shape[1])).astype(np.float64)


@pytest.mark.parametrize("key", sorted(ESTIMATORS))
def test_threads_give_the_single_thread_bytes(key):
    make, data = ESTIMATORS[key]
    est = fit(make(), data)
    X = _queries(data, 101)   # 101 rows: 51 + 50 on two threads, 34 + 34 + 33 on three
    model = edgert.compile(est, batch=len(X))
    one = edgert.Session(model, threads=1)
    assert one._split is None
    expected = one.run(X)
    for threads in (2, 3):
        s = edgert.Session(model, threads=threads)
        assert len(s._split.chunks) == threads
        _assert_same_bytes(s.run(X), expected)
        _assert_same_bytes(s.run(X.tolist()), expected)   # the general input path splits too


@pytest.mark.parametrize("key", ["HistGradientBoostingClassifier", "KNeighborsClassifier-euclidean", "SVC-rbf",
                                 "LogisticRegression", "KNeighborsRegressor"])
def test_threads_in_fixed_mode(key):
    make, data = ESTIMATORS[key]
    est = fit(make(), data)
    X = _queries(data, 77)
    model = edgert.compile(est, mode="fixed", calibration=dataset(data)[0], batch=len(X))
    x = edgert.Session(model, threads=1).quantize(X) if model.graph.tensors[model.graph.inputs[0]].quant else X
    _assert_same_bytes(edgert.Session(model, threads=3).run(x), edgert.Session(model, threads=1).run(x))


@pytest.mark.parametrize("batch", [1, 2, 3, 5])
def test_batch_smaller_than_or_near_the_thread_count(batch):
    est = fit(CLASSIFIERS["KMeans"](), "make_classification")
    X = _queries("make_classification", batch)
    model = edgert.compile(est, batch=batch)
    s = edgert.Session(model, threads=4)
    assert (s._split is None) == (batch == 1)
    if s._split is not None:
        assert len(s._split.chunks) == len(range(0, batch, -(-batch // 4)))
    _assert_same_bytes(s.run(X), edgert.Session(model, threads=1).run(X))


def test_default_threads_follow_the_batch(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    est = fit(CLASSIFIERS["GaussianNB"](), "make_classification")
    for batch, threads in ((1, 1), (511, 1), (512, 2), (1024, 4), (5000, 4)):
        s = edgert.Session(edgert.compile(est, batch=batch))
        assert (len(s._split.chunks) if s._split else 1) == threads, batch
    assert edgert.Session(edgert.compile(est, batch=5000), threads=1)._split is None


def test_nan_in_any_chunk_is_refused_and_the_session_still_runs():
    est = fit(REGRESSORS["KNeighborsRegressor"](), "make_regression")
    X = _queries("make_regression", 60)
    s = edgert.Session(edgert.compile(est, batch=60), threads=3)
    expected = s.run(X)
    for row in (0, 25, 59):
        bad = X.copy()
        bad[row, 1] = np.nan
        with pytest.raises(edgert.InputError, match="NaN or infinity"):
            s.run(bad)
    _assert_same_bytes(s.run(X), expected)


def test_observer_runs_stay_on_one_context():
    est = fit(CLASSIFIERS["DecisionTreeClassifier"](), "make_classification")
    X = _queries("make_classification", 40)
    s = edgert.Session(edgert.compile(est, batch=40), threads=2)
    records = []
    _assert_same_bytes(s.run(X, observer=records.append), s.run(X))
    assert [r.op for r in records] == [n.op for n in s.graph.nodes]


@pytest.mark.parametrize("threads", [0, -1, 1.5, "2", True])
def test_bad_thread_counts(threads):
    est = fit(CLASSIFIERS["GaussianNB"](), "make_classification")
    with pytest.raises(ValueError, match="threads must be"):
        edgert.Session(edgert.compile(est, batch=8), threads=threads)


def test_threads_are_for_the_c_backend():
    est = fit(CLASSIFIERS["GaussianNB"](), "make_classification")
    model = edgert.compile(est, batch=8)
    with pytest.raises(ValueError, match="c backend"):
        edgert.Session(model, backend="numpy", threads=2)
    edgert.Session(model, backend="numpy", threads=1)


def test_models_that_are_not_row_wise_refuse_threads():
    g = Graph()
    x = g.add_tensor(Tensor("x", "float32", (4, 3)))
    y = g.add_tensor(Tensor("y", "float32", (4, 3)))
    g.add_node("ONNX_RELU_F32", [x], [y], {})
    g.inputs, g.outputs = [x], [y]
    model = edgert.compile(g)
    with pytest.raises(edgert.ModelError, match="rows are independent"):
        edgert.Session(model, threads=2)
    assert edgert.Session(model)._split is None   # threads=None: one thread, no error


def test_a_dropped_session_stops_its_worker_threads():
    est = fit(CLASSIFIERS["GaussianNB"](), "make_classification")
    model = edgert.compile(est, batch=64)
    X = _queries("make_classification", 64)
    before = threading.active_count()
    s = edgert.Session(model, threads=3)
    s.run(X)
    assert threading.active_count() == before + 2
    del s
    gc.collect()
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before


def test_a_forked_child_runs_the_split_with_its_own_threads():
    est = fit(CLASSIFIERS["GaussianNB"](), "make_classification")
    X = _queries("make_classification", 64)
    s = edgert.Session(edgert.compile(est, batch=64), threads=2)
    expected = s.run(X)
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=lambda: send.send(s.run(X)))   # fork: nothing is pickled but the result
    child.start()
    assert receive.poll(60), "the forked child's run did not finish"
    got = receive.recv()
    child.join(10)
    _assert_same_bytes(got, expected)
