"""Shared helpers of the non-neural tests: datasets split once, estimators fitted on them."""
from __future__ import annotations

import functools

import numpy as np
import pytest

from sklearn import datasets
from sklearn.model_selection import train_test_split

BACKENDS = ("numpy", "numba", "c")


@functools.cache
def dataset(name: str):
    """(X_train, X_test, y_train, y_test); classification unless the name says regression."""
    rng = np.random.default_rng(0)
    if name == "iris":
        X, y = datasets.load_iris(return_X_y=True)
    elif name == "wine":
        X, y = datasets.load_wine(return_X_y=True)
    elif name == "breast_cancer":
        X, y = datasets.load_breast_cancer(return_X_y=True)
    elif name == "digits":
        X, y = datasets.load_digits(return_X_y=True)
    elif name == "diabetes":
        X, y = datasets.load_diabetes(return_X_y=True)
    elif name == "make_classification":
        X, y = datasets.make_classification(400, 12, n_informative=6, n_classes=3, random_state=0)
    elif name == "make_regression":
        X, y = datasets.make_regression(400, 10, noise=5.0, random_state=0)
    elif name == "random_classification":  # labels unrelated to features: ragged boundaries
        X, y = rng.normal(size=(300, 6)), rng.integers(0, 3, 300)
    elif name == "random_regression":
        X, y = rng.normal(size=(300, 6)), rng.normal(size=300)
    else:
        raise KeyError(name)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0)
    if name.startswith("random"):  # query random points spread beyond the training cloud too
        Xte = rng.normal(scale=1.5, size=Xte.shape)
    return Xtr, Xte, ytr, yte


def fit(est, name: str):
    Xtr, _, ytr, _ = dataset(name)
    return est.fit(Xtr) if type(est).__name__ == "KMeans" else est.fit(Xtr, ytr)


def as_dict(out) -> dict:
    return out if isinstance(out, dict) else {"value": out}
