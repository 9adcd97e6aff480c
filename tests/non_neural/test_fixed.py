"""Fixed-point mode: the three backends give identical integers, and the labels agree with
scikit-learn on >= 99 % of held-out rows for kNN, SVM and Gaussian NB (the issue's bar); every
other estimator is held to the same bar on two datasets."""
from __future__ import annotations

import numpy as np
import pytest

import edgert
from nn_data import BACKENDS, as_dict, dataset, fit
from nn_estimators import CLASSIFIERS, REGRESSORS

KEY = ("GaussianNB", "SVC-rbf", "SVC-poly", "SVC-sigmoid", "SVC-linear", "NuSVC-rbf",
       "KNeighborsClassifier-euclidean", "KNeighborsClassifier-manhattan-distance")
KEY_SETS = ("iris", "wine", "breast_cancer", "digits", "make_classification")
OTHERS = sorted(set(CLASSIFIERS) - set(KEY) - {"KNeighborsClassifier-minkowski3"})


def _run_all(est, data):
    Xtr, Xte = dataset(data)[:2]
    model = edgert.compile(est, mode="fixed", calibration=Xtr, batch=len(Xte))
    assert model.graph.tensors[model.graph.inputs[0]].dtype == "float32"
    outs = [as_dict(edgert.Session(model, backend=b).run(Xte)) for b in BACKENDS]
    for b, out in zip(BACKENDS[1:], outs[1:]):
        for key in outs[0]:
            np.testing.assert_array_equal(out[key], outs[0][key], err_msg=f"{b} {key}")
    return outs[0], Xte


@pytest.mark.parametrize("data", KEY_SETS)
@pytest.mark.parametrize("name", KEY)
def test_fixed_agreement_knn_svm_gnb(name, data):
    est = fit(CLASSIFIERS[name](), data)
    out, Xte = _run_all(est, data)
    assert np.mean(out["value"] == est.predict(Xte)) >= 0.99


@pytest.mark.parametrize("data", ("wine", "digits"))
@pytest.mark.parametrize("name", OTHERS)
def test_fixed_agreement_other_classifiers(name, data):
    est = fit(CLASSIFIERS[name](), data)
    out, Xte = _run_all(est, data)
    assert np.mean(out["value"] == est.predict(Xte)) >= 0.99


@pytest.mark.parametrize("name", sorted(REGRESSORS))
def test_fixed_regressors_dequantize_close_to_sklearn(name):
    est = fit(REGRESSORS[name](), "make_regression")
    out, Xte = _run_all(est, "make_regression")
    model = edgert.compile(est, mode="fixed", calibration=dataset("make_regression")[0], batch=len(Xte))
    got = edgert.Session(model, backend="c").dequantize(out["value"]).astype(np.float64)
    span = np.ptp(dataset("make_regression")[2])
    assert np.mean(np.abs(got - est.predict(Xte)) <= 0.01 * span) >= 0.99


def test_fixed_without_calibration_uses_what_the_estimator_stores():
    est = fit(CLASSIFIERS["KNeighborsClassifier-euclidean"](), "wine")
    Xte = dataset("wine")[1]
    model = edgert.compile(est, mode="fixed", batch=len(Xte))
    assert np.mean(edgert.Session(model).run(Xte) == est.predict(Xte)) >= 0.99
    linear = fit(REGRESSORS["LinearSVR"](), "diabetes")  # its scaler's training statistics set the range
    assert edgert.compile(linear, mode="fixed").graph.meta["mode"] == "fixed"
    from sklearn.linear_model import LogisticRegression
    bare = LogisticRegression(max_iter=500).fit(*dataset("wine")[0::2])
    with pytest.raises(edgert.ModelError, match="calibration"):
        edgert.compile(bare, mode="fixed")
