"""kNN regressors add their neighbours in sklearn's order, so their predictions are bit-equal to
sklearn's on every backend: numpy's pairwise summation (np.sum over the neighbour axis: weighted
sums, weight totals, one-target means), which differs from a plain loop from 8 terms on and
splits runs over 128 terms in two, and neighbour after neighbour for multi-target uniform means
(np.mean over a middle axis).

Euclidean (p = 2) stops at k = 129: from k >= n_train / 2 sklearn's algorithm="auto" picks brute
force, whose euclidean distances come from |x|^2 - 2 x.t + |t|^2 and differ from edgert's
per-feature sums in the last bits (docs/non-neural.md); the sums over 300 neighbours (two
pairwise runs of 128 and more) are checked with p = 1, whose distances agree."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn import neighbors

import edgert
from nn_data import BACKENDS


def _data(targets: int):
    rng = np.random.default_rng(targets)
    X = rng.normal(size=(400, 9)) * rng.uniform(0.5, 3.0, size=9)
    y = rng.normal(size=(300, targets)) * 1e3 + rng.uniform(-5, 5, size=(300, targets))
    return X[:300], (y[:, 0] if targets == 1 else y), X[300:]


@pytest.mark.parametrize("targets", [1, 3])
@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("k, p", [(k, p) for k in (7, 8, 9, 24, 129) for p in (1, 2)] + [(300, 1)])
def test_regressor_sums_equal_sklearn_bit_for_bit(k, p, weights, targets):
    Xtr, ytr, Xq = _data(targets)
    est = neighbors.KNeighborsRegressor(k, weights=weights, p=p).fit(Xtr, ytr)
    want = est.predict(Xq)
    model = edgert.compile(est, batch=len(Xq))
    for backend in BACKENDS:
        got = edgert.Session(model, backend=backend).run(Xq)
        np.testing.assert_array_equal(np.asarray(got).reshape(want.shape), want, err_msg=backend)


def test_zero_distance_neighbours_take_all_the_weight():
    Xtr, ytr, _ = _data(1)
    Xq = np.vstack([Xtr[:5], Xtr[:5] + 1e-3])   # exact training points, then near misses
    est = neighbors.KNeighborsRegressor(12, weights="distance").fit(Xtr, ytr)
    model = edgert.compile(est, batch=len(Xq))
    for backend in BACKENDS:
        np.testing.assert_array_equal(edgert.Session(model, backend=backend).run(Xq), est.predict(Xq), err_msg=backend)
