"""Ties are broken as scikit-learn breaks them (reference/non-neural.md §9)."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn import cluster, ensemble, linear_model, neighbors, svm, tree

import edgert
from nn_data import BACKENDS, as_dict


def _labels(est, X):
    model = edgert.compile(est, batch=len(X))
    return {b: as_dict(edgert.Session(model, backend=b).run(X)) for b in BACKENDS}


def _assert_labels(est, X):
    want = est.predict(X)
    for backend, out in _labels(est, X).items():
        got = out.get("label", out.get("value"))
        np.testing.assert_array_equal(got, want, err_msg=backend)


def test_inputs_exactly_on_thresholds_go_left():
    """x == threshold goes left (<=), also where the float64 threshold is not a float32."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    est = tree.DecisionTreeClassifier(random_state=0).fit(X, y)
    t = est.tree_
    split = t.children_left != -1
    rows = []
    for f, thr in zip(t.feature[split], t.threshold[split]):
        for v in (np.float32(thr), np.nextafter(np.float32(thr), np.float32(np.inf)),
                  np.nextafter(np.float32(thr), np.float32(-np.inf))):
            x = X[rng.integers(len(X))].copy()
            x[f] = v
            rows.append(x)
    X_on = np.array(rows, np.float32)
    assert np.any(X_on.astype(np.float64)[np.arange(0, len(X_on), 3), t.feature[split]] != t.threshold[split]), \
        "some thresholds should not be float32 values"
    _assert_labels(est, X_on)


def test_equal_forest_votes_go_to_the_lowest_class():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([2, 1, 2, 1])
    queries = np.linspace(-1, 4, 101)[:, None]
    for seed in range(50):  # two pure random trees that disagree somewhere: 0.5 / 0.5 votes
        est = ensemble.ExtraTreesClassifier(n_estimators=2, random_state=seed).fit(X, y)
        proba = est.predict_proba(queries)
        if np.any(proba[:, 0] == proba[:, 1]):
            break
    assert np.any(proba[:, 0] == proba[:, 1]), "the test needs tied votes"
    _assert_labels(est, queries)


def test_equidistant_neighbours_and_vote_ties():
    """Two neighbours at the same distance, of different classes: the vote ties -> lowest class;
    the same with distance weights; k-means / nearest centroid: the lower index."""
    X = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0], [12.0, 10.0]])
    y = np.array([1, 0, 2, 1])
    q = np.array([[1.0, 0.0], [11.0, 10.0], [1.0, 5.0]])
    for weights in ("uniform", "distance"):
        est = neighbors.KNeighborsClassifier(2, weights=weights).fit(X, y)
        assert np.array_equal(est.predict(q)[:2], [0, 1])
        _assert_labels(est, q)
    centres = cluster.KMeans(2, n_init=1, random_state=0).fit(X)
    centres.cluster_centers_ = np.array([[2.0, 0.0], [0.0, 0.0]])
    _assert_labels(centres, np.array([[1.0, 0.0], [1.0, 3.0], [5.0, 0.0]]))
    nc = neighbors.NearestCentroid().fit(X[:2], [0, 1])
    _assert_labels(nc, np.array([[1.0, 0.0], [1.0, 7.0]]))


def test_svc_vote_ties_go_to_the_lowest_class():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2))
    y = rng.integers(0, 3, 90)
    est = svm.SVC(kernel="linear", C=0.5).fit(X, y)
    q = rng.normal(scale=3, size=(400, 2))
    est.decision_function_shape = "ovo"
    d = est.decision_function(q)
    est.decision_function_shape = "ovr"
    votes = np.stack([(d[:, 0] > 0) + (d[:, 1] > 0), (d[:, 0] <= 0) + (d[:, 2] > 0), (d[:, 1] <= 0) + (d[:, 2] <= 0)], 1)
    assert np.any((votes == 1).all(axis=1)), "the test needs 1-1-1 vote ties"
    _assert_labels(est, q)


@pytest.mark.parametrize("kind", ["logistic", "svc"])
def test_binary_decision_exactly_zero(kind):
    """LogisticRegression: d == 0 -> classes_[0] (d > 0 rule); SVC: f == 0 -> classes_[1]."""
    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [0.0, 2.0]])
    y = np.array([3, 7, 7, 3])
    q = np.array([[1.0, 1.0], [0.0, 0.0], [3.0, 1.0]])
    if kind == "logistic":
        est = linear_model.LogisticRegression().fit(X, y)
        est.coef_ = np.array([[1.0, -1.0]])
        est.intercept_ = np.array([0.0])
    else:
        est = svm.SVC(kernel="linear").fit(X, y)
        est._intercept_ = np.array([0.0])  # sklearn's decision uses the internal (unflipped) copy
        est.intercept_ = np.array([0.0])
        est._dual_coef_ = np.array([[1.0, -1.0, 1.0, -1.0]])[:, :len(est.support_)]
        est.dual_coef_ = -est._dual_coef_
        f = est.decision_function(q)
        assert np.any(f == 0), "the test needs f(x) == 0"
    _assert_labels(est, q)
