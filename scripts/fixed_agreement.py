"""Fixed-point mode vs scikit-learn: agreement on a held-out split, per estimator and dataset.

    .venv/bin/python scripts/fixed_agreement.py [--backend c] [--markdown]

Each estimator is fitted on 70 % of the data; its fixed-mode model is calibrated on the same
training rows (calibration=X_train) and run on the other 30 %. Classifiers: % of held-out rows
whose label equals sklearn's predict. Regressors: % of rows within 1 % of the target range of
sklearn's predict (and the largest error, in % of that range).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "non_neural"))

import edgert  # noqa: E402
from nn_data import dataset, fit  # noqa: E402
from nn_estimators import CLASSIFICATION_SETS, CLASSIFIERS, REGRESSION_SETS, REGRESSORS  # noqa: E402
from edgert.errors import UnsupportedOpError  # noqa: E402

DATASETS_SHOWN = {"classification": [d for d in CLASSIFICATION_SETS if not d.startswith("random")],
                  "regression": [d for d in REGRESSION_SETS if not d.startswith("random")]}


def agreement(est, data: str, backend: str, regression: bool) -> str:
    Xtr, Xte, _, ytr = dataset(data)
    model = edgert.compile(est, mode="fixed", calibration=Xtr, batch=len(Xte))
    session = edgert.Session(model, backend=backend)
    out = session.run(Xte)
    want = est.predict(Xte)
    if not regression:
        got = out["label"] if isinstance(out, dict) else out
        return f"{100 * np.mean(got == want):.1f}"
    got = session.dequantize(out).astype(np.float64)
    span = float(np.ptp(dataset(data)[2]))
    err = np.abs(got - want) / span
    return f"{100 * np.mean(err <= 0.01):.1f} ({100 * err.max():.2f})"


def table(names, factory, sets, backend, regression):
    rows = []
    for name in names:
        cells = []
        for data in sets:
            try:
                cells.append(agreement(fit(factory[name](), data), data, backend, regression))
            except UnsupportedOpError as e:
                cells.append("n/a: " + str(e).split(":")[-1].strip()[:30])
        rows.append([name, *cells])
    return rows


def render(header, rows, markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*r) for r in [header, *rows])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", default="c", choices=["c", "numba", "numpy"])
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    sets = DATASETS_SHOWN["classification"]
    print("Classifiers: % of held-out labels equal to scikit-learn's predict (fixed mode, "
          f"backend {args.backend})\n")
    print(render(["estimator", *sets], table(sorted(CLASSIFIERS), CLASSIFIERS, sets, args.backend, False), args.markdown))
    sets = DATASETS_SHOWN["regression"]
    print("\nRegressors: % of held-out predictions within 1 % of the target range (max error, % of range)\n")
    print(render(["estimator", *sets], table(sorted(REGRESSORS), REGRESSORS, sets, args.backend, True), args.markdown))


if __name__ == "__main__":
    main()
