"""Bad inputs and tampered models give clear errors, never a crash or an endless loop."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import ensemble, neighbors, svm

import edgert
from nn_data import BACKENDS, dataset, fit
from edgert.errors import EdgertError, FormatError, InputError, ModelError, UnsupportedOpError
from edgert.runtime.importers.sklearn import from_estimator


@pytest.fixture(scope="module")
def forest():
    return fit(ensemble.RandomForestClassifier(4, max_depth=4, random_state=0), "wine")


@pytest.mark.parametrize("backend", BACKENDS)
def test_wrong_feature_count_and_non_finite_inputs(forest, backend):
    session = edgert.Session(edgert.compile(forest, batch=2), backend=backend)
    x = dataset("wine")[1][:2]
    with pytest.raises(InputError, match="shape"):
        session.run(x[:, :-1])
    for bad in (np.nan, np.inf, -np.inf):
        y = x.copy()
        y[1, 3] = bad
        with pytest.raises(InputError, match="NaN or infinity"):
            session.run(y)
    assert np.array_equal(session.run(x)["label"], forest.predict(x))  # the session still works


def _tampered(est, edit) -> edgert.Model:
    graph = from_estimator(est)
    nodes = next(t for t in graph.tensors if t.name == "tree_nodes")
    nodes.data = nodes.data.copy()
    edit(nodes.data)
    return edgert.compile(graph)


def _assert_rejected(model, x):
    for backend in BACKENDS:
        with pytest.raises((FormatError, ModelError), match="tree"):
            edgert.Session(model, backend=backend).run(x)


def test_tree_with_child_out_of_range(forest):
    def edit(nodes):
        nodes[0, 1] = 1_000_000
    _assert_rejected(_tampered(forest, edit), dataset("wine")[1][0])


def test_cyclic_tree(forest):
    def edit(nodes):
        split = np.flatnonzero(nodes[:, 1] != -1)
        nodes[split[1], 1] = split[0]  # a child pointing back at its ancestor
        nodes[split[1], 2] = split[1]  # and one at itself
    _assert_rejected(_tampered(forest, edit), dataset("wine")[1][0])


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_fuzzed_tree_tables_never_crash(data):
    est = fit(ensemble.RandomForestClassifier(3, max_depth=3, random_state=0), "iris")
    x = dataset("iris")[1][:3]
    edits = data.draw(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 2), st.integers(-3, 60)), min_size=1, max_size=4))

    def edit(nodes):
        for row, col, value in edits:
            nodes[row % len(nodes), col] = value
    model = _tampered(est, edit)
    results = []
    for backend in BACKENDS:
        try:
            results.append(edgert.Session(model, backend=backend).run(x)["label"])
        except EdgertError:
            results.append(None)
    assert all(r is None for r in results) or all(r is not None and np.array_equal(r, results[0]) for r in results)


def test_tampered_tables_of_other_ops_are_rejected():
    X, _, y, _ = dataset("iris")
    est = svm.SVC().fit(X, y)
    graph = from_estimator(est)
    sv = next(n for n in graph.nodes if n.op == "NN_SVM")
    sv.attrs["n_support"] = [int(v) + 5 for v in sv.attrs["n_support"]]
    model = edgert.compile(graph)
    knn = neighbors.KNeighborsClassifier(3).fit(X, y)
    graph = from_estimator(knn)
    targets = next(t for t in graph.tensors if t.name == "targets")
    targets.data = targets.data + 7
    for m in (model, edgert.compile(graph)):
        for backend in BACKENDS:
            with pytest.raises((FormatError, ModelError)):
                edgert.Session(m, backend=backend).run(X[0])


def test_unsupported_estimators_and_options_are_named():
    X, _, y, _ = dataset("iris")
    from sklearn.neural_network import MLPClassifier
    with pytest.raises(UnsupportedOpError, match="MLPClassifier"):
        edgert.compile(MLPClassifier(max_iter=5).fit(X, y))
    with pytest.raises(UnsupportedOpError, match="precomputed"):
        edgert.compile(svm.SVC(kernel="precomputed").fit(X @ X.T, y))
    with pytest.raises(UnsupportedOpError, match="chebyshev"):
        edgert.compile(neighbors.KNeighborsClassifier(metric="chebyshev").fit(X, y))
    with pytest.raises(UnsupportedOpError, match="p=3"):
        edgert.compile(neighbors.KNeighborsClassifier(p=3).fit(X, y), mode="fixed")
    with pytest.raises(ModelError, match="mode"):
        edgert.compile(neighbors.KNeighborsClassifier().fit(X, y), mode="int4")


def test_pickles_need_trust(tmp_path, forest):
    path = tmp_path / "forest.pkl"
    path.write_bytes(pickle.dumps(forest))
    with pytest.raises(ModelError, match="runs code"):
        edgert.compile(path)
    model = edgert.compile(path, trust=True)
    x = dataset("wine")[1][:1]
    assert np.array_equal(edgert.Session(model).run(x)["label"], forest.predict(x))
