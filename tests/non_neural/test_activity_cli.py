"""Activity counters per inference, and the CLI on scikit-learn models."""
from __future__ import annotations

import joblib
import numpy as np
import pytest
from click.testing import CliRunner
from sklearn import ensemble, neighbors, svm, tree

import edgert
from nn_data import BACKENDS, dataset, fit
from edgert.cli import main


def _activity(model, x, backend, op):
    records = []
    edgert.Session(model, backend=backend).run(x, observer=records.append)
    return next(r.activity for r in records if r.op == op)


@pytest.mark.parametrize("backend", BACKENDS)
def test_tree_nodes_visited_match_sklearn_decision_paths(backend):
    est = fit(ensemble.RandomForestClassifier(5, max_depth=6, random_state=0), "breast_cancer")
    X = dataset("breast_cancer")[1][:20]
    act = _activity(edgert.compile(est, batch=len(X)), X, backend, "NN_TREES")
    want = sum(int(t.decision_path(X.astype(np.float32)).sum()) for t in est.estimators_)
    assert act == {"nodes_visited": want, "trees_walked": 5 * len(X)}
    single = fit(tree.DecisionTreeClassifier(random_state=0), "breast_cancer")
    x = X[:1]
    assert _activity(edgert.compile(single), x, backend, "NN_TREES")["nodes_visited"] == single.decision_path(x).sum()


@pytest.mark.parametrize("backend", BACKENDS)
def test_kernel_evaluations_and_distances(backend):
    X = dataset("iris")[1][:7]
    est = fit(svm.SVC(), "iris")
    assert _activity(edgert.compile(est, batch=7), X, backend, "NN_SVM") == {"kernel_evals": 7 * len(est.support_)}
    knn = fit(neighbors.KNeighborsClassifier(3), "iris")
    assert _activity(edgert.compile(knn, batch=7), X, backend, "NN_KNN") == {"distances": 7 * len(knn._fit_X)}


def test_cli_compile_info_run(tmp_path):
    est = fit(ensemble.GradientBoostingClassifier(n_estimators=5, random_state=0), "wine")
    src = tmp_path / "gb.joblib"
    joblib.dump(est, src)
    runner = CliRunner()
    refused = runner.invoke(main, ["compile", str(src)])
    assert refused.exit_code == 2 and "runs code" in refused.output
    ok = runner.invoke(main, ["compile", "--trust", str(src), "-o", str(tmp_path / "gb.ert")])
    assert ok.exit_code == 0, ok.output
    info = runner.invoke(main, ["info", str(tmp_path / "gb.ert")])
    assert info.exit_code == 0 and "NN_TREES" in info.output and "non-neural" in info.output
    x = dataset("wine")[1][0]
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "label.npy"
    run = runner.invoke(main, ["run", str(tmp_path / "gb.ert"), "--input", str(tmp_path / "x.npy"), "-o", str(out)])
    assert run.exit_code == 0, run.output
    assert np.load(out)[0] == est.predict(x[None])[0]


def test_cli_run_with_a_batch_file(tmp_path):
    est = fit(svm.SVR(), "diabetes")
    X = dataset("diabetes")[1][:6]
    edgert.compile(est, batch=6).save(tmp_path / "svr.ert")
    np.save(tmp_path / "x.npy", X)
    run = CliRunner().invoke(main, ["run", str(tmp_path / "svr.ert"), "--input", str(tmp_path / "x.npy"),
                                    "-o", str(tmp_path / "y.npy"), "--backend", "numba"])
    assert run.exit_code == 0, run.output
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), est.predict(X), rtol=1e-12)
