"""Feature preprocessing of the non-neural models.

NN_SCALE     float64 affine per feature, in sklearn's order of operations:
             mode "standard": (x - a) / b (StandardScaler), mode "minmax": x * a + b (MinMaxScaler).
NN_QUANTIZE  float -> int16 per feature: clamp(round_half_away((x - center) * inv_step), +-32767)
             (the entry of fixed-mode models; attrs center, inv_step: float64 per feature).

Both are elementwise numpy expressions already, so the numba backend runs the same function.
"""
from __future__ import annotations

import numpy as np

from . import Call, kernel, op_info

Q_MAX = 32767


@kernel("NN_SCALE", "numpy", "numba")
def scale(call: Call):
    x, a, b = call.inputs
    x = x.astype(np.float64)
    if call.attr("mode") == "standard":
        return [(x - a) / b]
    return [x * a + b]


@kernel("NN_QUANTIZE", "numpy", "numba")
def quantize(call: Call):
    v = (call.inputs[0].astype(np.float64) - np.asarray(call.attr("center"))) * np.asarray(call.attr("inv_step"))
    q = np.trunc(v + np.copysign(0.5, v))
    return [np.clip(q, -Q_MAX, Q_MAX).astype(np.int16)]


def _elements(node, tensors) -> int:
    return int(np.prod(tensors[node.outputs[0]].shape))


op_info("NN_SCALE", macs=_elements, family="non-neural")
op_info("NN_QUANTIZE", macs=_elements, family="non-neural")
