"""Non-neural models: edgert (C, Numba) vs scikit-learn's predict and emlearn, side by side.

    .venv/bin/python bench/non_neural.py [--batch 10000] [--only RandomForest] [--json out.json]

Per estimator: batch-1 latency (median of single-row calls; edgert through Session.run with an
input of the model's dtype, sklearn through est.predict on a (1, n) array, emlearn through its
generated C compiled into a cffi module with a batch loop) and throughput at --batch rows
(rows/s of the best call among those made in 0.3 s, at least 3, after a warm-up call). Ratios:
latency sklearn / edgert-C (target >= 20) and throughput edgert-C / sklearn (target >= 1).

Data: make_classification / make_regression (16 features) rounded to integers after x100, so
emlearn's int16 features see the same values as everyone else; the `agree` column says how many
of emlearn's labels equal sklearn's (edgert's are tested equal in tests/non_neural).
Timings are wall-clock on this machine, single process. Threads: sklearn runs with its defaults
(OpenMP over all cores for HistGradientBoosting, kNN and KMeans, BLAS threads for matrix products,
one thread elsewhere); edgert C throughput uses Session's default threads (os.cpu_count() for a
batch of at least 2 x 256 rows, each thread its own chunk of rows), and the `C 1t` column the same
model with threads=1; batch-1 latency is one thread everywhere; numba and emlearn use one thread.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings

import numpy as np
from sklearn import cluster, datasets, ensemble, linear_model, naive_bayes, neighbors, pipeline, preprocessing, svm, tree

import edgert

N_FEATURES = 16


def _models():
    scaled = lambda est: pipeline.make_pipeline(preprocessing.StandardScaler(), est)  # noqa: E731
    return {
        "DecisionTreeClassifier": (tree.DecisionTreeClassifier(max_depth=10, random_state=0), "clf"),
        "RandomForestClassifier(100)": (ensemble.RandomForestClassifier(100, max_depth=10, random_state=0), "clf"),
        "ExtraTreesClassifier(100)": (ensemble.ExtraTreesClassifier(100, max_depth=10, random_state=0), "clf"),
        "GradientBoostingClassifier(100)": (ensemble.GradientBoostingClassifier(random_state=0), "clf"),
        "HistGradientBoostingClassifier(100)": (ensemble.HistGradientBoostingClassifier(random_state=0), "clf"),
        "GaussianNB": (naive_bayes.GaussianNB(), "clf"),
        "LogisticRegression": (scaled(linear_model.LogisticRegression(max_iter=2000)), "clf"),
        "LinearSVC": (scaled(svm.LinearSVC()), "clf"),
        "SVC(rbf)": (scaled(svm.SVC()), "clf"),
        "SVC(poly)": (scaled(svm.SVC(kernel="poly")), "clf"),
        "KNeighborsClassifier(5)": (neighbors.KNeighborsClassifier(5), "clf"),
        "KMeans(8)": (cluster.KMeans(8, n_init=2, random_state=0), "cluster"),
        "NearestCentroid": (neighbors.NearestCentroid(), "clf"),
        "DecisionTreeRegressor": (tree.DecisionTreeRegressor(max_depth=10, random_state=0), "reg"),
        "RandomForestRegressor(100)": (ensemble.RandomForestRegressor(100, max_depth=10, random_state=0), "reg"),
        "GradientBoostingRegressor(100)": (ensemble.GradientBoostingRegressor(random_state=0), "reg"),
        "HistGradientBoostingRegressor(100)": (ensemble.HistGradientBoostingRegressor(random_state=0), "reg"),
        "LinearSVR": (scaled(svm.LinearSVR()), "reg"),
        "SVR(rbf)": (scaled(svm.SVR()), "reg"),
        "KNeighborsRegressor(5)": (neighbors.KNeighborsRegressor(5), "reg"),
    }


def _data(kind: str, n_rows: int):
    if kind == "reg":
        X, y = datasets.make_regression(2000 + n_rows, N_FEATURES, noise=10.0, random_state=0)
    else:
        X, y = datasets.make_classification(2000 + n_rows, N_FEATURES, n_informative=8, n_classes=3, random_state=0)
    X = np.round(X * 100)  # integer-valued: emlearn's int16 features lose nothing
    return X[:2000], y[:2000], X[2000:]


def _latency_us(fn, x, calls: int) -> float:
    fn(x)
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def _throughput(fn, X, seconds: float = 0.3) -> float:
    """Rows/s of the best call among those made in `seconds` (at least 3) after a warm-up call:
    fast predicts get many tries, so a moment of another process on a core decides less."""
    fn(X)
    times = [_timed(fn, X) for _ in range(3)]
    while sum(times) < seconds:
        times.append(_timed(fn, X))
    return len(X) / min(times)


def _timed(fn, X) -> float:
    t0 = time.perf_counter()
    fn(X)
    return time.perf_counter() - t0


EMLEARN_WRAPPERS = {  # a batch loop around the generated model, per emlearn module
    "trees": ("int16_t", "out[i] = m_predict((const int16_t *)X + (size_t)i * f, f);"),
    "bayes": ("float", "out[i] = m_predict((const float *)X + (size_t)i * f, f);"),
    "neighbors": ("int16_t", "int16_t label = -1; "
                  "eml_neighbors_predict(&m, (const int16_t *)X + (size_t)i * f, f, dist, m.n_items, &label); "
                  "out[i] = label;"),
}
EMLEARN_KINDS = {"DecisionTreeClassifier": "trees", "RandomForestClassifier": "trees", "ExtraTreesClassifier": "trees",
                 "GaussianNB": "bayes", "KNeighborsClassifier": "neighbors"}


def _emlearn(est, n_train: int):
    """emlearn's generated C for the estimator (inline trees, Q16 naive Bayes, int16 kNN),
    compiled with a batch loop into a cffi module: the same call path as edgert's C backend
    (emlearn's own Python predict pipes CSV through a subprocess). None where unsupported."""
    kind = EMLEARN_KINDS.get(type(est).__name__)
    if kind is None:
        return None
    import importlib.util
    import tempfile

    import emlearn
    from cffi import FFI
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = emlearn.convert(est, method="inline" if kind == "trees" else None).save(name="m")
    dtype, body = EMLEARN_WRAPPERS[kind]
    scratch = f"static EmlNeighborsDistanceItem dist[{n_train}];" if kind == "neighbors" else ""
    wrapper = f"{scratch}\nvoid run(const void *X, int n, int f, int32_t *out)\n" \
              f"{{ for (int i = 0; i < n; i++) {{ {body} }} }}\n"
    ffi = FFI()
    ffi.cdef("void run(const void *X, int n, int f, int32_t *out);")
    name = f"_emlearn_{kind}_{abs(hash(code)) % 10**8}"
    ffi.set_source(name, code + "\n" + wrapper, include_dirs=[emlearn.common.get_include_dir()],
                   extra_compile_args=["-O3"])
    with tempfile.TemporaryDirectory(prefix="emlearn_bench_") as tmp:  # the loaded module outlives its file
        spec = importlib.util.spec_from_file_location(name, ffi.compile(tmpdir=tmp))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    np_dtype = np.int16 if dtype == "int16_t" else np.float32

    def predict(X):
        X = np.ascontiguousarray(X, np_dtype)
        out = np.empty(len(X), np.int32)
        module.lib.run(module.ffi.from_buffer(X), len(X), X.shape[1], module.ffi.from_buffer("int32_t[]", out))
        return out
    return predict, np_dtype


def bench_one(name: str, est, kind: str, batch: int, calls: int) -> dict:
    Xtr, ytr, Xq = _data(kind, batch)
    est.fit(Xtr) if kind == "cluster" else est.fit(Xtr, ytr)
    row = {"estimator": name}
    one = Xq[:1]
    row["sk_lat"] = _latency_us(est.predict, one, max(50, calls // 10))
    row["sk_thr"] = _throughput(est.predict, Xq)
    for backend in ("c", "numba"):
        s1 = edgert.Session(edgert.compile(est), backend=backend)
        dtype = s1.input_details()[0]["dtype"]
        row[f"{backend}_lat"] = _latency_us(s1.run, one.astype(dtype), calls)
        batched = edgert.compile(est, batch=batch)
        row[f"{backend}_thr"] = _throughput(edgert.Session(batched, backend=backend).run, Xq.astype(dtype))
        if backend == "c":
            row["c1_thr"] = _throughput(edgert.Session(batched, threads=1).run, Xq.astype(dtype))
    em = _emlearn(est, len(Xtr))
    if em is not None:
        predict, dtype = em
        xi = Xq.astype(dtype)
        row["em_lat"] = _latency_us(predict, xi[:1], calls)
        row["em_thr"] = _throughput(predict, xi)
        row["em_agree"] = float(np.mean(est.classes_[predict(xi)] == est.predict(Xq)))
    return row


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def render(rows) -> str:
    head = ["estimator", "sk us", "C us", "numba us", "emlearn us", "sk/C", "sk krow/s", "C krow/s", "C 1t krow/s",
            "numba krow/s", "emlearn krow/s", "C/sk", "C 1t/sk", "emlearn agree"]
    lines = []
    for r in rows:
        g = r.get
        lines.append([r["estimator"], _fmt(g("sk_lat"), ".1f"), _fmt(g("c_lat"), ".2f"), _fmt(g("numba_lat"), ".1f"),
                      _fmt(g("em_lat"), ".2f"), _fmt(g("sk_lat") / g("c_lat"), ".0f") + "x",
                      _fmt(g("sk_thr") / 1e3, ".0f"), _fmt(g("c_thr") / 1e3, ".0f"), _fmt(g("c1_thr") / 1e3, ".0f"),
                      _fmt(g("numba_thr") / 1e3, ".0f"), _fmt(g("em_thr") and g("em_thr") / 1e3, ".0f"),
                      _fmt(g("c_thr") / g("sk_thr"), ".2f") + "x", _fmt(g("c1_thr") / g("sk_thr"), ".2f") + "x",
                      _fmt(g("em_agree") and 100 * g("em_agree"), ".0f") + ("%" if g("em_agree") is not None else "")])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines)]
    out = ["  ".join(str(h).rjust(w) if i else str(h).ljust(w) for i, (h, w) in enumerate(zip(head, widths)))]
    out += ["  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(line, widths)))
            for line in lines]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description="edgert vs scikit-learn vs emlearn on non-neural models")
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--calls", type=int, default=2000, help="single-row calls per latency measurement")
    ap.add_argument("--only", help="substring of the estimator names to run")
    ap.add_argument("--json", help="also write the rows as JSON here")
    args = ap.parse_args()
    rows = []
    for name, (est, kind) in _models().items():
        if args.only and args.only.lower() not in name.lower():
            continue
        rows.append(bench_one(name, est, kind, args.batch, args.calls))
        print(f"  measured {name}", flush=True)
    print()
    print(render(rows))
    lat_ok = sum(r["sk_lat"] / r["c_lat"] >= 20 for r in rows)
    thr_ok = sum(r["c_thr"] >= r["sk_thr"] for r in rows)
    thr1_ok = sum(r["c1_thr"] >= r["sk_thr"] for r in rows)
    print(f"\nbatch-1 latency >= 20x lower than sklearn (C): {lat_ok}/{len(rows)}; "
          f"batch-{args.batch} throughput >= sklearn (C, {os.cpu_count()} threads): {thr_ok}/{len(rows)} "
          f"(C, threads=1: {thr1_ok}/{len(rows)})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
