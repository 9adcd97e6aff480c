"""Shape and table checks of the Python non-neural kernels: a hostile .ert must give a clear
ModelError, never an IndexError, and never let a numba loop index outside its arrays (numba
does not bounds-check). The C kernels make the same checks once, at load time."""
from __future__ import annotations

import numpy as np

from edgert.errors import ModelError


def require(call, ok, what: str) -> None:
    if not ok:
        raise ModelError(f"node {call.node.name!r} ({call.node.op}): {what}; the .ert file is inconsistent "
                         "(damaged or tampered with) — recompile the model")


def rows_match(call, table, what: str) -> None:
    """x (batch, F) and a (rows, F) table agree on F."""
    x = call.inputs[0]
    require(call, x.ndim == 2 and table.ndim == 2 and table.shape[1] == x.shape[1], f"{what} does not match the features")


def labels_in_range(call, labels, n_classes: int) -> None:
    require(call, labels.size == 0 or (labels.min() >= 0 and labels.max() < n_classes), "class label out of range")


def svm_tables(call, sv, dual, intercept) -> None:
    n_support = np.atleast_1d(call.attr("n_support"))
    n_classes = call.attr("n_classes")
    require(call, n_classes >= 2 and len(n_support) == n_classes and np.all(n_support >= 0)
            and n_support.sum() == len(sv), "n_support does not add up to the support vectors")
    require(call, dual.shape == (n_classes - 1, len(sv)) and intercept.shape == (n_classes * (n_classes - 1) // 2,),
            "dual coefficients / intercepts do not match the classes")
