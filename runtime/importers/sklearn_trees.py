"""Tree models -> one NN_TREES / NN_HIST_TREES / NN_TREES_Q node (runtime/kernels/nonneural_trees.py).

Summation order and arithmetic follow scikit-learn exactly: forests add each tree's normalized
leaf fractions (classifiers) or leaf values in estimator order from zero and divide by the
number of trees once; gradient boosting starts from the init estimator's raw prediction and adds
learning_rate * leaf value stage by stage (the products are formed here, in float64, as
predict_stages forms them); hist gradient boosting starts from its baseline and adds leaf
values, which already include the learning rate.
"""
from __future__ import annotations

import numpy as np

from edgert.errors import UnsupportedOpError

from ..ir import Quant
from .sklearn_fixed import int_scale, quantize


class TreeTable:
    """Trees flattened into one node table (preorder, children after parents) + one leaf table."""

    def __init__(self):
        self.nodes, self.thresholds, self.leaves = [], [], []
        self.roots, self.targets = [], []
        self.n_nodes = self.n_leaves = self.max_depth = 0

    def add(self, left, right, feature, threshold, values, target: int = 0, depth: int = 0) -> None:
        left, right = np.asarray(left, np.int64), np.asarray(right, np.int64)
        is_leaf = left == -1
        base = self.n_nodes
        leaf_row = np.cumsum(is_leaf) - 1 + self.n_leaves
        self.nodes.append(np.stack([np.where(is_leaf, leaf_row, feature),
                                    np.where(is_leaf, -1, left + base),
                                    np.where(is_leaf, -1, right + base)], axis=1))
        self.thresholds.append(np.where(is_leaf, 0.0, threshold))
        self.leaves.append(np.asarray(values, np.float64).reshape(len(left), -1)[is_leaf])
        self.roots.append(base)
        self.targets.append(target)
        self.n_nodes += len(left)
        self.n_leaves += int(is_leaf.sum())
        self.max_depth = max(self.max_depth, int(depth))

    def add_sklearn_tree(self, tree, values, target: int = 0) -> None:
        self.add(tree.children_left, tree.children_right, tree.feature, tree.threshold, values, target, tree.max_depth)

    def arrays(self):
        return (np.concatenate(self.nodes).astype(np.int32), np.concatenate(self.thresholds),
                np.concatenate(self.leaves))


def float32_thresholds(thr64) -> np.ndarray:
    """Largest float32 <= each float64 threshold: for float32 x, x <= thr64 <=> x <= result."""
    t = np.asarray(thr64, np.float64).astype(np.float32)
    above = t.astype(np.float64) > thr64
    t[above] = np.nextafter(t[above], np.float32(-np.inf))
    return t


def _tree_proba(tree) -> np.ndarray:
    """A classification tree's leaf class fractions. scikit-learn 1.9 stores fractions and its
    predict_proba returns them as stored (no renormalization, so none here either)."""
    return tree.value[:, 0, :]


def _single_output(est) -> None:
    if getattr(est, "n_outputs_", 1) != 1 and hasattr(est, "classes_"):
        raise UnsupportedOpError(f"{type(est).__name__} with {est.n_outputs_} outputs (multi-output classification) "
                                 "is not supported")


def _emit(b, table: TreeTable, op: str, n_out: int, init, divisor: float, fixed: dict | None = None) -> int:
    nodes, thresholds, leaves = table.arrays()
    attrs = dict(roots=table.roots, targets=table.targets, max_depth=table.max_depth)
    if fixed is None:
        thr = float32_thresholds(thresholds) if op == "NN_TREES" else thresholds.astype(np.float64)
        x = b.features
        attrs.update(init=np.asarray(init, np.float64).reshape(n_out), divisor=np.float64([divisor]))
        leaf_dtype, out_dtype, quant = "float64", "float64", None
    else:
        op, x = "NN_TREES_Q", b.quantizer.node(b)
        thr = _quantized_thresholds(b.quantizer, nodes, thresholds)
        leaves = fixed["leaves"](leaves)
        attrs.update(init=np.broadcast_to(np.asarray(fixed["init"], np.int32), (n_out,)).tolist())
        leaf_dtype, out_dtype, quant = "int32", "int32", fixed.get("quant")
    scores = b.activation("scores", out_dtype, n_out, quant=quant)
    b.node(op, [x, b.const("tree_nodes", nodes), b.const("tree_thresholds", thr),
                b.const("tree_leaves", leaves, leaf_dtype)], [scores], **attrs)
    return scores


def _quantized_thresholds(quantizer, nodes, thresholds) -> np.ndarray:
    """q <= Q(t), with Q the very rounding that quantizes x: every x <= t still goes left (Q is
    monotone) and so does x == t exactly; only x within half a step above t can follow it."""
    split = nodes[:, 1] != -1
    feature = np.where(split, nodes[:, 0], 0)
    t = (thresholds - quantizer.center[feature]) / quantizer.step[feature]
    return np.where(split, np.clip(np.trunc(t + np.copysign(0.5, t)), -32768, 32767), 0).astype(np.int16)


def _choose_range(b, table_nodes_thr) -> None:
    """Fixed mode: the calibration range, else the span of each feature's thresholds (exact for
    trees: values beyond every threshold clamp without changing any comparison)."""
    nodes, thresholds = table_nodes_thr
    q = b.quantizer
    if q.calibration is not None:
        lo, hi = q.data_range()
    else:
        lo, hi = np.zeros(b.n_features), np.ones(b.n_features)
        split = nodes[:, 1] != -1
        for f in range(b.n_features):
            t = thresholds[split & (nodes[:, 0] == f)]
            if t.size:
                lo[f], hi[f] = t.min() - 1e-3 * (abs(t.min()) + 1), t.max() + 1e-3 * (abs(t.max()) + 1)
    q.choose("per_feature", lo, hi)


def _fixed_classifier(n_trees: int) -> dict:
    """Summed class fractions in units of 2**-30 / n_trees (the total stays below 2**30)."""
    return {"leaves": lambda v: np.round(v * (2.0**30 / n_trees)).astype(np.int32), "init": 0}


def _fixed_sum(leaves_per_tree: list[np.ndarray], init, share: float = 1.0) -> dict:
    """init + sum over trees of share * leaf value, in a scale that keeps the int32 accumulator
    below 2**30 (share = 1 / n_trees turns a forest's sum into its mean)."""
    init = np.atleast_1d(np.asarray(init, np.float64))
    bound = float(np.abs(init).max()) + share * sum(float(np.abs(v).max(initial=0.0)) for v in leaves_per_tree)
    scale = int_scale(bound, 30)
    return {"leaves": lambda v: quantize(v * share, scale), "init": quantize(init, scale),
            "quant": Quant(np.float32(scale), 0), "scale": scale}


def _finish_classifier(b, est, scores, label_mode: str, proba_mode: str | None, decision: bool, n_classes: int):
    label = b.labels(scores, label_mode, est.classes_)
    if b.mode == "fixed":
        return b.output(label)
    outs = [label]
    if proba_mode == "identity":
        outs.append(scores)
        b.graph.tensors[scores].name = "proba"
    else:
        outs.append(b.proba(scores, proba_mode, n_classes))
        if decision:
            b.graph.tensors[scores].name = "decision"
            outs.append(scores)
    b.output(*outs)


def _value_output(b, scores, n_out: int) -> None:
    t = b.graph.tensors[scores]
    t.name = "value"
    if n_out == 1:
        t.shape = (b.batch,)  # sklearn returns (n,) for single-output regressors
    b.output(scores)


def _forest(b, est):
    """DecisionTree*, RandomForest*, ExtraTrees* (soft voting / mean of the trees)."""
    _single_output(est)
    trees = getattr(est, "estimators_", [est])
    classifier = hasattr(est, "classes_")
    table = TreeTable()
    for t in trees:
        values = _tree_proba(t.tree_) if classifier else t.tree_.value[:, :, 0]
        table.add_sklearn_tree(t.tree_, values)
    n_out = len(est.classes_) if classifier else est.n_outputs_
    fixed = None
    if b.mode == "fixed":
        _choose_range(b, table.arrays()[:2])
        fixed = _fixed_classifier(len(trees)) if classifier else \
            _fixed_sum(table.leaves, np.zeros(n_out), share=1.0 / len(trees))  # the mean of the trees
    scores = _emit(b, table, "NN_TREES", n_out, np.zeros(n_out), float(len(trees)), fixed)
    if classifier:
        _finish_classifier(b, est, scores, "argmax", "identity", False, n_out)
    else:
        _value_output(b, scores, n_out)


def _gb_init(est) -> np.ndarray:
    init = est.init_
    if not (init == "zero" or type(init).__name__ in ("DummyClassifier", "DummyRegressor")):
        raise UnsupportedOpError(f"{type(est).__name__} with init={type(init).__name__} is not supported "
                                 "(only the default init estimator or init='zero')")
    return est._raw_predict_init(np.zeros((1, est.n_features_in_), np.float32))[0]


def _gradient_boosting(b, est):
    classifier = hasattr(est, "classes_")
    if classifier and est.loss != "log_loss":
        raise UnsupportedOpError(f"GradientBoostingClassifier(loss={est.loss!r}) is not supported (only log_loss)")
    stages = est.estimators_
    table = TreeTable()
    lr = est.learning_rate
    for stage in stages:
        for k, t in enumerate(stage):
            table.add_sklearn_tree(t.tree_, lr * t.tree_.value[:, 0, 0], target=k)
    _boosting(b, est, table, _gb_init(est), "NN_TREES", "ge0")


def _boosting(b, est, table: TreeTable, init, op: str, binary_rule: str) -> None:
    """init + the trees' sums (both GB kinds); outputs as sklearn's predict / proba / decision."""
    n_out = len(init)
    fixed = None
    if b.mode == "fixed":
        _choose_range(b, table.arrays()[:2])
        fixed = _fixed_sum(table.leaves, init)
    scores = _emit(b, table, op, n_out, init, 1.0, fixed)
    if hasattr(est, "classes_"):
        binary = n_out == 1
        if binary:
            b.graph.tensors[scores].shape = (b.batch,)  # decision_function is (n,) for binary
        _finish_classifier(b, est, scores, binary_rule if binary else "argmax",
                           "logistic2" if binary else "softmax", True, len(est.classes_))
    else:
        _value_output(b, scores, 1)


def _hist_gradient_boosting(b, est):
    if getattr(est, "_preprocessor", None) is not None or getattr(est, "is_categorical_", None) is not None \
            and np.any(est.is_categorical_):
        raise UnsupportedOpError(f"{type(est).__name__} with categorical features is not supported")
    link = type(est._loss.link).__name__
    if not hasattr(est, "classes_") and link != "IdentityLink":
        raise UnsupportedOpError(f"HistGradientBoostingRegressor(loss={est.loss!r}) is not supported "
                                 "(its inverse link is not the identity)")
    table = TreeTable()
    for iteration in est._predictors:
        for k, predictor in enumerate(iteration):
            n = predictor.nodes
            if np.any(n["is_categorical"]):
                raise UnsupportedOpError(f"{type(est).__name__} with categorical splits is not supported")
            leaf = n["is_leaf"].astype(bool)
            table.add(np.where(leaf, -1, n["left"].astype(np.int64)), np.where(leaf, -1, n["right"].astype(np.int64)),
                      n["feature_idx"], n["num_threshold"], n["value"], target=k, depth=int(n["depth"].max()))
    _boosting(b, est, table, np.asarray(est._baseline_prediction, np.float64).ravel(), "NN_HIST_TREES", "gt0")


_forest.float32_input = True
_gradient_boosting.float32_input = True

BUILDERS = {
    **{name: _forest for name in ("DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier",
                                  "ExtraTreeRegressor", "RandomForestClassifier", "RandomForestRegressor",
                                  "ExtraTreesClassifier", "ExtraTreesRegressor")},
    "GradientBoostingClassifier": _gradient_boosting,
    "GradientBoostingRegressor": _gradient_boosting,
    "HistGradientBoostingClassifier": _hist_gradient_boosting,
    "HistGradientBoostingRegressor": _hist_gradient_boosting,
}
