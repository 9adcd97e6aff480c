"""scikit-learn importer: a fitted estimator (or a Pipeline of scalers + estimator) -> Graph.

    edgert.compile(est)                                   # float32 mode: sklearn's exact results
    edgert.compile(est, batch=10_000)                     # fixed leading dimension (default 1)
    edgert.compile(est, mode="fixed", calibration=X)      # int16/int32 fixed point
    edgert.compile("model.joblib", trust=True)            # unpickling runs code: opt in

Every graph has one input `x` of shape (batch, n_features) and named outputs (docs/non-neural.md):
`label` (classifiers, clusterers), `proba`, `decision` (where sklearn has predict_proba /
decision_function; float32 mode only) and `value` (regressors). The estimator-specific parts
live in sklearn_trees / sklearn_linear / sklearn_svm / sklearn_neighbors / sklearn_bayes.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from edgert.errors import ModelError, UnsupportedOpError

from ..ir import Graph, Quant, Tensor
from . import sklearn_fixed

MODES = ("float32", "fixed")


class Builder:
    """Accumulates the graph of one estimator: input, constants, nodes and named outputs."""

    def __init__(self, n_features: int, batch: int, mode: str, input_dtype: str):
        self.graph = Graph(meta={"family": "non-neural", "mode": mode})
        self.batch = batch
        self.mode = mode
        self.n_features = n_features
        self.x = self.graph.add_tensor(Tensor("x", input_dtype, (batch, n_features)))
        self.graph.inputs = [self.x]
        self.features = self.x  # what the estimator reads: x, or x after the scalers
        self.quantizer = None  # sklearn_fixed.Quantizer of the estimator's input domain (fixed mode)

    def const(self, name: str, data, dtype: str | None = None) -> int:
        data = np.asarray(data)
        return self.graph.add_tensor(Tensor(name, dtype or data.dtype.name, data.shape, data=data))

    def activation(self, name: str, dtype: str, *cols: int, quant: Quant | None = None) -> int:
        return self.graph.add_tensor(Tensor(name, dtype, (self.batch, *cols), quant=quant))

    def node(self, op: str, inputs, outputs, scratch: int = 0, **attrs) -> None:
        self.graph.add_node(op, inputs, outputs, attrs, scratch=scratch)

    def output(self, *tensors: int) -> None:
        self.graph.outputs = list(tensors)

    def labels(self, scores: int, mode: str, classes, **attrs) -> int:
        """NN_DECIDE: scores -> `label` holding sklearn's class values (see class_table)."""
        table, dtype, names = class_table(classes)
        inputs = [scores] if table is None else [scores, self.const("classes", table)]
        if names is not None:
            self.graph.meta["classes"] = names
        label = self.activation("label", dtype)
        self.node("NN_DECIDE", inputs, [label], mode=mode, **attrs)
        return label

    def proba(self, scores: int, mode: str, n_out: int, name: str = "proba", **attrs) -> int:
        out = self.activation(name, "float64", n_out)
        self.node("NN_PROB", [scores], [out], mode=mode, **attrs)
        return out


def class_table(classes):
    """Class values as a constant: int32 when they are integers that fit, float64 when numbers,
    none (label = class index, names in meta['classes']) otherwise."""
    classes = np.asarray(classes)
    if np.issubdtype(classes.dtype, np.integer) or np.issubdtype(classes.dtype, np.bool_):
        if classes.min() >= -2**31 and classes.max() < 2**31:
            return classes.astype(np.int32), "int32", None
    if np.issubdtype(classes.dtype, np.floating):
        if np.all(classes == np.round(classes)) and np.all(np.abs(classes) < 2**31):
            return classes.astype(np.int32), "int32", None
        return classes.astype(np.float64), "float64", None
    return None, "int32", [str(c) for c in classes]


def _builders():
    from . import sklearn_bayes, sklearn_linear, sklearn_neighbors, sklearn_svm, sklearn_trees
    table = {}
    for module in (sklearn_trees, sklearn_linear, sklearn_svm, sklearn_neighbors, sklearn_bayes):
        table.update(module.BUILDERS)
    return table


def _split_pipeline(est):
    """(scalers, final estimator); scalers are StandardScaler / MinMaxScaler steps."""
    if type(est).__name__ != "Pipeline":
        return [], est
    steps = [s for _, s in est.steps if s is not None and s != "passthrough"]
    if not steps:
        raise ModelError("the Pipeline has no estimator")
    scalers = steps[:-1]
    for s in scalers:
        if type(s).__name__ not in sklearn_fixed.SCALERS:
            raise UnsupportedOpError(f"Pipeline step {type(s).__name__} is not supported; edgert compiles "
                                     f"{' / '.join(sklearn_fixed.SCALERS)} steps in front of one estimator")
    return scalers, steps[-1]


def from_estimator(est, mode: str = "float32", batch: int = 1, calibration=None, **options) -> Graph:
    """Compile a fitted estimator (or Pipeline) into a Graph; see the module docstring."""
    if options:
        raise ModelError(f"unknown scikit-learn compile option(s): {', '.join(sorted(options))} "
                         "(known: mode, batch, calibration)")
    if mode not in MODES:
        raise ModelError(f"mode must be one of {MODES}, got {mode!r}")
    if not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ModelError(f"batch must be a positive integer, got {batch!r}")
    scalers, final = _split_pipeline(est)
    name = type(final).__name__
    build = _builders().get(name)
    if build is None:
        raise UnsupportedOpError(f"scikit-learn estimator {name} is not supported; supported: "
                                 + ", ".join(sorted(_builders())))
    n_features = getattr(scalers[0] if scalers else final, "n_features_in_", None)
    if n_features is None:
        raise ModelError(f"{name} is not fitted (no n_features_in_): fit it before compiling")
    tree_input = getattr(build, "float32_input", False) and not scalers
    input_dtype = "float32" if mode == "fixed" or tree_input else "float64"
    b = Builder(int(n_features), int(batch), mode, input_dtype)
    b.graph.meta.update({"estimator": name, "sklearn_pipeline": [type(s).__name__ for s in scalers]})
    if mode == "float32":
        for k, scaler in enumerate(scalers):
            b.features = sklearn_fixed.scale_node(b, scaler, k)
    else:
        cal = None if calibration is None else np.asarray(calibration, np.float64)
        if cal is not None and (cal.ndim != 2 or cal.shape[1] != n_features or not np.all(np.isfinite(cal))):
            raise ModelError(f"calibration must be a finite (n, {n_features}) array, got shape {np.shape(cal)}")
        for scaler in scalers:
            cal = None if cal is None else scaler.transform(cal)
        b.quantizer = sklearn_fixed.Quantizer(scalers, cal, n_features)
    build(b, final)
    return b.graph


def load(path, trust: bool = False, **options) -> Graph:
    """Unpickle a .joblib/.pkl estimator (only with trust=True) and compile it."""
    path = Path(path)
    if not trust:
        raise ModelError(f"{path}: loading a pickle runs code stored in the file. Only do this for files you "
                         "trust, then pass trust=True (CLI: edgert compile --trust)")
    try:
        if path.suffix.lower() == ".joblib":
            import joblib
            est = joblib.load(path)
        else:
            with open(path, "rb") as f:
                est = pickle.load(f)  # noqa: S301 - the caller opted in with trust=True
    except Exception as e:  # a broken pickle can raise nearly anything
        raise ModelError(f"{path}: cannot unpickle ({type(e).__name__}: {e})") from None
    if type(est).__module__.split(".")[0] != "sklearn":
        raise ModelError(f"{path}: holds a {type(est).__name__}, not a scikit-learn estimator")
    return from_estimator(est, **options)
