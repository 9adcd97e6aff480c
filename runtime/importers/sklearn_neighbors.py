"""Distance models -> NN_KNN (float64) or NN_KNN_Q (int16 features, int64 distances).

KNeighborsClassifier/Regressor use the stored training set; KMeans and NearestCentroid are the
same op with k = 1 over the cluster centres / class centroids (label = nearest, ties -> lowest
index, as sklearn's argmin). Neighbours are the k smallest distances, equal distances ordered by
training index (sklearn leaves that order undefined; reference/non-neural.md §6).
"""
from __future__ import annotations

import numpy as np

from edgert.errors import UnsupportedOpError

from ..ir import Quant
from .sklearn_fixed import int_scale, quantize

METRIC_P = {"euclidean": 2.0, "manhattan": 1.0, "l2": 2.0, "l1": 1.0, "cityblock": 1.0}


def _metric_p(name: str, metric: str, params: dict | None) -> float:
    if metric == "minkowski":
        p = float((params or {}).get("p", 2))
        if not p >= 1 or not np.isfinite(p):
            raise UnsupportedOpError(f"{name}: minkowski p={p} is not supported (need 1 <= p < inf)")
        return p
    if metric not in METRIC_P:
        raise UnsupportedOpError(f"{name}(metric={metric!r}) is not supported; metrics: euclidean, manhattan, minkowski")
    return METRIC_P[metric]


def _neighbours(b, name, points, targets, k: int, p: float, weights: str, n_classes: int, out_name: str,
                stored_range=None) -> int:
    """The NN_KNN(_Q) node; returns its output (class scores, or values for regression)."""
    points = np.asarray(points, np.float64)
    n_out = n_classes if n_classes else targets.shape[1]
    attrs = dict(k=int(k), weights=weights, n_classes=int(n_classes))
    scratch = 12 * int(k)
    if b.mode == "float32":
        t = targets.astype(np.int32) if n_classes else targets.astype(np.float64)
        out = b.activation(out_name, "float64", n_out)
        b.node("NN_KNN", [b.features, b.const("points", points), b.const("targets", t)], [out],
               scratch=scratch, p=np.float64([p]), **attrs)
        return out
    if p not in (1.0, 2.0):
        raise UnsupportedOpError(f"{name}: fixed mode supports p=1 (manhattan) and p=2 (euclidean), not p={p}")
    qz = b.quantizer
    qz.choose("shared_step", *qz.data_range(points if stored_range is None else stored_range, name))
    quant = None
    if n_classes:
        t = targets.astype(np.int32)
    else:  # regression targets in int32 units with 24 bits of range
        unit = int_scale(np.abs(targets).max(), 24)
        t = quantize(targets, unit)
        quant = Quant(np.float32(unit), 0)
    out = b.activation(out_name, "int32", n_out, quant=quant)
    b.node("NN_KNN_Q", [qz.node(b), b.const("points", qz.values(points).astype(np.int16)),
                        b.const("targets", t)], [out], scratch=scratch, p=int(p), **attrs)
    return out


def _knn(b, est):
    name = type(est).__name__
    if est.weights not in ("uniform", "distance"):
        raise UnsupportedOpError(f"{name}(weights={est.weights!r}) is not supported (uniform, distance)")
    if getattr(est, "outputs_2d_", False) and hasattr(est, "classes_"):
        raise UnsupportedOpError(f"multi-output {name} is not supported")
    p = _metric_p(name, est.effective_metric_, est.effective_metric_params_)
    if hasattr(est, "classes_"):
        scores = _neighbours(b, name, est._fit_X, np.asarray(est._y), est.n_neighbors, p, est.weights,
                             len(est.classes_), "proba")
        label = b.labels(scores, "argmax", est.classes_)
        return b.output(label) if b.mode == "fixed" else b.output(label, scores)
    y = np.asarray(est._y, np.float64)
    y2 = y.reshape(len(y), -1)
    out = _neighbours(b, name, est._fit_X, y2, est.n_neighbors, p, est.weights, 0, "value")
    if y.ndim == 1:
        b.graph.tensors[out].shape = (b.batch,)
    b.output(out)


def _nearest(b, name, centres, classes, p: float, stored_range=None):
    centres = np.asarray(centres, np.float64)
    scores = _neighbours(b, name, centres, np.arange(len(centres)), 1, p, "uniform", len(centres), "nearest",
                         stored_range)
    b.output(b.labels(scores, "argmax", classes))


def _kmeans(b, est):
    c = np.asarray(est.cluster_centers_, np.float64)
    spread = c.max(axis=0) - c.min(axis=0)  # the data reaches beyond the centres
    rows = np.stack([c.min(axis=0) - spread, c.max(axis=0) + spread])
    _nearest(b, "KMeans", c, np.arange(len(c)), 2.0, rows)


def _nearest_centroid(b, est):
    if not np.isclose(est.class_prior_, 1 / len(est.classes_)).all():
        raise UnsupportedOpError("NearestCentroid with non-uniform priors is not supported (its predict then "
                                 "uses the discriminant scores); use priors='uniform'")
    c = np.asarray(est.centroids_, np.float64)
    spread = c.max(axis=0) - c.min(axis=0)
    _nearest(b, "NearestCentroid", c, est.classes_, _metric_p("NearestCentroid", est.metric, None),
             np.stack([c.min(axis=0) - spread, c.max(axis=0) + spread]))


BUILDERS = {
    "KNeighborsClassifier": _knn,
    "KNeighborsRegressor": _knn,
    "KMeans": _kmeans,
    "NearestCentroid": _nearest_centroid,
}
