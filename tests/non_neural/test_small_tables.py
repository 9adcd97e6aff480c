"""kNN over tables of 1-9 points: on x86 the C kernel transposes tables of <= 8 points once and
pads them with +inf lanes (native/src/kernels/nn_knn.c); its outputs must stay those of the
numpy reference, ties between equal points included, for every k and p in {1, 2}."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn import neighbors

import edgert


@pytest.mark.parametrize("n_pts", range(1, 10))
@pytest.mark.parametrize("p", [1, 2])
def test_small_tables_match_the_reference(n_pts, p):
    rng = np.random.default_rng(n_pts)
    X = rng.integers(-3, 4, size=(n_pts, 5)).astype(float)
    X[-1] = X[0]   # a duplicated point: equal distances keep point order
    y = np.arange(n_pts) % 3
    Q = np.vstack([rng.integers(-4, 5, size=(37, 5)).astype(float), X])
    for k in sorted({1, min(2, n_pts), n_pts}):
        for weights in ("uniform", "distance"):
            est = neighbors.KNeighborsRegressor(k, p=p, weights=weights).fit(X, y.astype(float))
            model = edgert.compile(est, batch=len(Q))
            c = edgert.Session(model, threads=1).run(Q)
            ref = edgert.Session(model, backend="numpy").run(Q)
            assert np.array_equal(c, ref), (k, weights)
    est = neighbors.KNeighborsClassifier(1, p=p).fit(X, y)
    model = edgert.compile(est, batch=len(Q))
    got = edgert.Session(model, threads=1).run(Q)
    assert np.array_equal(got["label"] if isinstance(got, dict) else got, est.predict(Q))
