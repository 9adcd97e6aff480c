"""Feature preprocessing for scikit-learn models: scalers (float32 mode) and the int16 input
quantizer of fixed mode, with the Pipeline's scalers folded into it.

Fixed mode maps each feature of the estimator's input domain y to q = round((y - c) / s),
clamped to int16. Where c and s come from: a calibration set when given, otherwise a range the
estimator itself stores (support vectors, training points, thresholds, class means). Three
layouts, chosen by the estimator (docs/non-neural.md explains why):
  per_feature  c, s per feature (the range maps to +-16383, leaving 2x headroom): trees,
               linear models, naive Bayes: each feature may have its own unit.
  shared_step  c per feature, one s for all: distances (kNN, k-means, nearest centroid) must
               keep every feature in the same unit.
  symmetric    c = 0, one s: SVM kernels need dot products of the raw values as well.
"""
from __future__ import annotations

import numpy as np

from edgert.errors import ModelError, UnsupportedOpError

Q_MAX = 32767
HALF = 16383  # the calibration range maps into +-HALF

SCALERS = ("StandardScaler", "MinMaxScaler")


def _affine(scaler) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, beta) with scaler.transform(x) = alpha * x + beta."""
    name = type(scaler).__name__
    if name == "StandardScaler":
        n = scaler.n_features_in_
        mean = scaler.mean_ if scaler.mean_ is not None else np.zeros(n)
        scale = scaler.scale_ if scaler.scale_ is not None else np.ones(n)
        return 1.0 / scale, -mean / scale
    return np.asarray(scaler.scale_, np.float64), np.asarray(scaler.min_, np.float64)


def _scaler_rows(scaler):
    """Two rows spanning the training data a scaler saw (mean +- 4 std for StandardScaler)."""
    if type(scaler).__name__ == "MinMaxScaler":
        return np.stack([scaler.data_min_, scaler.data_max_])
    if scaler.mean_ is None or scaler.scale_ is None:
        return None
    return np.stack([scaler.mean_ - 4 * scaler.scale_, scaler.mean_ + 4 * scaler.scale_])


def _check_scaler(scaler) -> None:
    if type(scaler).__name__ == "MinMaxScaler" and scaler.clip:
        raise UnsupportedOpError("MinMaxScaler(clip=True) is not supported; refit with clip=False")


def scale_node(b, scaler, k: int) -> int:
    """NN_SCALE node reproducing scaler.transform in float64; returns its output tensor."""
    _check_scaler(scaler)
    n = b.n_features
    if type(scaler).__name__ == "StandardScaler":
        a = scaler.mean_ if scaler.mean_ is not None else np.zeros(n)  # x - 0 and x / 1 are exact
        c = scaler.scale_ if scaler.scale_ is not None else np.ones(n)
        mode = "standard"  # (x - mean) / scale
    else:
        a, c, mode = scaler.scale_, scaler.min_, "minmax"  # x * scale + min
    out = b.activation(f"scaled_{k}", "float64", n)
    b.node("NN_SCALE", [b.features, b.const(f"scale_a_{k}", np.asarray(a, np.float64)),
                        b.const(f"scale_b_{k}", np.asarray(c, np.float64))], [out], mode=mode)
    return out


class Quantizer:
    """The int16 input quantization of one model, in the estimator's input domain."""

    def __init__(self, scalers, calibration, n_features: int):
        self.alpha = np.ones(n_features)
        self.beta = np.zeros(n_features)
        for s in scalers:
            _check_scaler(s)
            a, c = _affine(s)
            self.alpha, self.beta = a * self.alpha, a * self.beta + c
        self.calibration = calibration
        self.scaler_rows = _scaler_rows(scalers[0]) if scalers else None
        for s in scalers:
            self.scaler_rows = None if self.scaler_rows is None else s.transform(self.scaler_rows)
        self.center = self.step = None

    def data_range(self, stored=None, what: str = "") -> tuple[np.ndarray, np.ndarray]:
        """Per-feature (lo, hi) in the estimator's domain: the calibration set's, else that of
        `stored` (rows the estimator keeps), else the span the first scaler saw in training."""
        rows = next((r for r in (self.calibration, stored, self.scaler_rows) if r is not None), None)
        if rows is None:
            raise ModelError(f"fixed mode needs the feature ranges of {what}, which it does not store: "
                             "pass calibration=X_train (e.g. edgert.compile(est, mode='fixed', calibration=X))")
        rows = np.asarray(rows, np.float64)
        return rows.min(axis=0), rows.max(axis=0)

    def choose(self, layout: str, lo, hi) -> None:
        lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
        if layout == "per_feature":
            self.center, step = (lo + hi) / 2, (hi - lo) / (2 * HALF)
        elif layout == "shared_step":
            self.center, step = (lo + hi) / 2, np.full(lo.shape, np.max(hi - lo) / (2 * HALF))
        elif layout == "symmetric":
            self.center = np.zeros(lo.shape)
            step = np.full(lo.shape, np.max(np.maximum(np.abs(lo), np.abs(hi))) / HALF)
        else:
            raise ValueError(layout)
        # a feature constant over the range gets the coarsest step of the others (1.0 if all are)
        self.step = np.where(step > 0, step, step.max() if step.max() > 0 else 1.0)

    def values(self, v, clamp: bool = True) -> np.ndarray:
        """Quantize values of the estimator's input domain (rows of features) like the input."""
        q = _round_half_away((np.asarray(v, np.float64) - self.center) / self.step)
        return np.clip(q, -Q_MAX, Q_MAX) if clamp else q

    def node(self, b) -> int:
        """NN_QUANTIZE: float x -> int16 q, with the scalers folded in."""
        center_x = (self.center - self.beta) / self.alpha
        inv_step_x = self.alpha / self.step
        q = b.activation("q", "int16", b.n_features)
        b.node("NN_QUANTIZE", [b.x], [q], center=center_x.astype(np.float64), inv_step=inv_step_x.astype(np.float64))
        return q


def _round_half_away(v):
    return np.trunc(v + np.copysign(0.5, v))


def int_scale(max_abs: float, bits: int) -> float:
    """Scale that maps +-max_abs onto +-2**bits (1.0 when max_abs is 0)."""
    return float(max_abs) / 2.0**bits if max_abs > 0 else 1.0


def quantize(v, scale: float, dtype="int32") -> np.ndarray:
    return _round_half_away(np.asarray(v, np.float64) / scale).astype(dtype)
