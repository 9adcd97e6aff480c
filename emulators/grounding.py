"""ISA grounding: predicted instruction counts of our C kernels against QEMU's exact counts.

The ISA-only profiles `rv32imc` and `cortex-m4` cost every instruction class 1, so the mcu
model's per-node cycles are predicted instructions: loop-event counts (native_events.py) x
instructions per event for the ISA. The per-event numbers are fitted here from single-op
micro-benchmarks run on the QEMU boards (never from the MLPerf Tiny models, which stay the
held-out check), stored in emulators/isa_calibration.json, and compared per op type and per
model with the boards' counts of whole models:

    python -m edgert.emulators.grounding calibrate          # micro-benchmarks -> isa_calibration.json
    python -m edgert.emulators.grounding check MODEL...     # per-op and per-model table, both ISAs

Targets: +-10 % per op type, +-5 % per model.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from edgert import table
from edgert.runtime import Model, compile as compile_graph, load
from edgert.runtime.ir import Graph, Tensor

from .kernels_c import CALIBRATION_PATH, calibration
from .native_events import events

BOARDS = {"rv32imc": "qemu-riscv32", "armv7e-m": "qemu-mps2-an386"}  # ISA -> QEMU board
PROFILES = {"rv32imc": "rv32imc", "armv7e-m": "cortex-m4"}  # ISA -> ISA-only profile
OP_TOLERANCE, MODEL_TOLERANCE = 0.10, 0.05
GATHER_STACK = 512  # int8_conv.c gathers windows of up to this many bytes on the stack


# -- measuring on QEMU ------------------------------------------------------------------------

def _ticks_to_instructions(board_name: str, info) -> float:
    """Instructions per board-counter tick: rdinstret counts them; SysTick counts virtual time,
    and under -icount shift=S one instruction is 2^S ns."""
    if info.counter == "instret":
        return 1.0
    from edgert.devices.launcher import machine
    shift = int(re.search(r"shift=(\d+)", " ".join(machine(board_name).args)).group(1))
    return (1e9 / info.clock_hz) / 2 ** shift


def random_inputs(model: Model, rng: np.random.Generator) -> dict:
    """int8 inputs uniform over the range; float inputs standard normal with a random share of
    exact zeros (as after ReLU: soft float takes early exits on them)."""
    out = {}
    for i in model.graph.inputs:
        t = model.graph.tensors[i]
        if t.dtype.startswith("float"):
            x = rng.standard_normal(t.shape).astype(t.dtype)
            x[rng.random(t.shape) < rng.uniform(0.0, 0.8)] = 0.0
            out[t.name] = x
        else:
            out[t.name] = rng.integers(-128, 128, size=t.shape).astype(t.dtype)
    return out


def measure(models: list, inputs: list[dict], board_name: str) -> list[list[float]]:
    """Per model, per node: instructions QEMU counted for one inference on the given inputs."""
    from edgert.devices.board import Board
    from edgert.devices.launcher import qemu_board
    out = []
    with qemu_board(board_name) as url, Board.open(url) as board:
        scale = _ticks_to_instructions(board_name, board.info())
        for model, x in zip(models, inputs):
            board.deploy(model)
            board.run(x)
            out.append([c.cycles * scale for c in board.counters()])
    return out


# -- micro-benchmarks ------------------------------------------------------------------------

def _graph(op: str, x_shapes, y_shape, consts=(), attrs=None, scratch: int = 0, dtype: str = "int8") -> Model:
    """One node: activations `x_shapes`, constant inputs `consts` (arrays), output `y_shape`."""
    g = Graph()
    ins = [g.add_tensor(Tensor(f"x{k}", dtype, s)) for k, s in enumerate(x_shapes)]
    ins += [g.add_tensor(Tensor(f"c{k}", str(c.dtype), c.shape, data=c)) for k, c in enumerate(consts)]
    y = g.add_tensor(Tensor("y", dtype, y_shape))
    g.add_node(op, ins, [y], attrs or {}, scratch=scratch)
    g.inputs, g.outputs = ins[:len(x_shapes)], [y]
    return compile_graph(g)


def _requant(n: int) -> dict:
    return {"multiplier": [1518500250] * n, "shift": [-8] * n, "zp_in": -3, "zp_out": 5, "act_min": -128, "act_max": 127}


def _conv(h, w, cin, cout, k, s, pad, depthwise=False) -> Model:
    """k: an int (square filter) or (kh, kw); pad applies to both sides of both axes."""
    kh, kw = (k, k) if isinstance(k, int) else k
    rng = np.random.default_rng(h * 1000 + cin * 10 + kh)
    oh, ow = (h + 2 * pad - kh) // s + 1, (w + 2 * pad - kw) // s + 1
    wshape = (1, kh, kw, cout) if depthwise else (kh, kw, cin, cout)  # edgert's layouts: 1HWC, HWIO
    wt = rng.integers(-128, 128, size=wshape).astype(np.int8)
    bias = rng.integers(-1000, 1000, size=cout).astype(np.int32)
    attrs = {"stride": [s, s], "dilation": [1, 1], "pad": [pad, pad], **_requant(cout)}
    if depthwise:
        attrs["depth_multiplier"] = 1
    # as the importer: a window gathered off the stack needs 4 windows of node scratch
    on_stack = depthwise or (kh == kw == 1 and pad == 0) or kh * kw * cin <= GATHER_STACK
    return _graph("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", [(1, h, w, cin)], (1, oh, ow, cout),
                  [wt, bias, bias], attrs, scratch=0 if on_stack else 4 * kh * kw * cin)


def micro_benchmarks() -> list[Model]:
    """Single-op graphs whose shapes vary every loop level of the kernels independently
    (square and tall / wide filters separate the per-row from the per-tap loop costs)."""
    models = [_conv(h, w, cin, cout, k, s, p) for h, w, cin, cout, k, s, p in [
        (8, 8, 8, 8, 1, 1, 0), (9, 7, 16, 4, 1, 1, 0), (5, 5, 32, 12, 1, 1, 0), (6, 6, 3, 20, 1, 1, 0),
        (4, 3, 24, 16, 1, 1, 0), (8, 8, 8, 8, 3, 1, 1), (8, 8, 4, 16, 3, 2, 1), (10, 6, 2, 8, 5, 1, 2),
        (12, 12, 3, 8, 3, 2, 0), (7, 9, 16, 8, 3, 1, 0), (10, 4, 1, 12, 4, 2, 1), (6, 6, 16, 16, 1, 2, 0),
        (9, 9, 8, 4, 5, 2, 2), (5, 11, 12, 6, 3, 1, 1), (4, 4, 16, 80, 1, 1, 0), (5, 5, 8, 70, 3, 1, 1),
        (12, 3, 4, 8, (7, 1), 1, 0), (4, 12, 6, 6, (1, 6), 1, 0), (10, 5, 2, 10, (10, 4), 2, 1),
        (6, 6, 64, 24, 3, 1, 1), (7, 3, 20, 33, 1, 1, 0)]]
    models += [_conv(h, w, c, c, k, s, p, depthwise=True) for h, w, c, k, s, p in [
        (8, 8, 8, 3, 1, 1), (6, 6, 70, 3, 1, 1), (9, 9, 16, 3, 2, 0), (10, 10, 4, 5, 1, 2),
        (7, 5, 32, 3, 2, 1), (4, 4, 130, 3, 1, 0), (12, 6, 2, 3, 1, 1), (20, 1, 40, (7, 1), 1, 0),
        (16, 1, 100, (12, 1), 1, 0), (3, 14, 24, (1, 9), 1, 0), (5, 9, 12, 3, 1, 1), (6, 7, 64, 3, 2, 1),
        (9, 5, 20, (2, 3), 1, 0), (4, 13, 8, 5, 2, 2), (8, 3, 100, 3, 1, 1), (16, 16, 16, 3, 2, 1),
        (12, 12, 8, 3, 1, 1), (10, 10, 24, 3, 1, 1), (6, 6, 28, 3, 2, 1), (7, 7, 48, 3, 1, 1),
        (11, 11, 8, 3, 2, 0), (9, 9, 36, 3, 1, 1), (6, 10, 2, 3, 2, 1), (13, 7, 12, (1, 1), 1, 0)]]
    rng = np.random.default_rng(7)
    for batches, units, depth in [(1, 10, 64), (1, 128, 40), (2, 16, 100), (1, 3, 640), (4, 7, 9), (1, 8, 120),
                                  (1, 120, 8), (1, 20, 600), (1, 70, 30), (3, 12, 50), (1, 4, 200), (2, 5, 17),
                                  (1, 66, 12)]:
        wt = rng.integers(-128, 128, size=(units, depth)).astype(np.int8)
        bias = rng.integers(-1000, 1000, size=units).astype(np.int32)
        models.append(_graph("FULLY_CONNECTED", [(batches, depth)], (batches, units), [wt, bias, bias], _requant(units)))
    for op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        for h, w, c, kh, kw, s, p in [(8, 8, 16, 2, 2, 2, 0), (6, 6, 80, 3, 3, 1, 1), (25, 5, 8, 25, 5, 1, 0),
                                      (9, 9, 4, 3, 3, 2, 0), (4, 4, 130, 4, 4, 4, 0), (7, 7, 3, 3, 3, 1, 1)]:
            oh, ow = (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1
            models.append(_graph(op, [(1, h, w, c)], (1, oh, ow, c), (),
                                 {"filter": [kh, kw], "stride": [s, s], "pad": [p, p], "act_min": -128, "act_max": 127}))
    add = {"left_shift": 20, "zp": [-3, 4, 1], "multiplier": [1623821475, 1073741824, 1098017566],
           "shift": [-2, 0, -17], "act_min": -128, "act_max": 127}
    for shape in [(1, 4, 4, 8), (1, 16, 16, 3), (1, 10, 10, 20)]:
        models.append(_graph("ADD", [shape, shape], shape, (), add))
    # input scalings vary how many bits each exponential's argument has set
    for (rows, depth), (mult, shift, diff_min) in zip(
            [(1, 10), (1, 100), (4, 12), (3, 2), (2, 40), (1, 64), (5, 8), (1, 30)],
            [(1476210432, 24, -124), (1476210432, 24, -124), (1073741824, 20, -250), (1476210432, 24, -124),
             (1610612736, 22, -200), (1073741824, 18, -255), (1879048192, 25, -60), (1200000000, 21, -255)]):
        models.append(_graph("SOFTMAX", [(rows, depth)], (rows, depth), (),
                             {"multiplier": mult, "shift": shift, "diff_min": diff_min}))
    for shape, out in [((1, 1, 1, 64), (1, 64)), ((1, 8, 8, 20), (64, 20)), ((4, 100), (400,))]:
        models.append(_graph("RESHAPE", [shape], out))
        models.append(_reshape_chain(shape, out))
    return models


def float_micro_benchmarks() -> list[Model]:
    """The float32 kernels (soft float on both QEMU boards) over the same kinds of shapes."""
    rng = np.random.default_rng(11)
    act = {"act_min": 0.0, "act_max": 3.4e38}  # ReLU, as most float models fuse it
    models = []
    for h, w, cin, cout, k, s, p in [(8, 8, 4, 8, 3, 1, 1), (6, 6, 8, 4, 1, 1, 0), (9, 7, 2, 6, 3, 2, 0),
                                     (10, 4, 1, 8, (10, 4), 2, 1), (5, 5, 16, 4, (3, 1), 1, 1), (7, 7, 3, 5, 5, 2, 2),
                                     (4, 9, 6, 3, (1, 5), 1, 0), (6, 3, 4, 12, (4, 2), 1, 1), (8, 8, 12, 2, 1, 2, 0),
                                     (3, 3, 30, 6, 3, 1, 1), (12, 2, 2, 4, (6, 1), 3, 2)]:
        kh, kw = (k, k) if isinstance(k, int) else k
        oh, ow = (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1
        wt = rng.standard_normal((kh, kw, cin, cout)).astype(np.float32)
        models.append(_graph("CONV_2D_F32", [(1, h, w, cin)], (1, oh, ow, cout), [wt, rng.standard_normal(cout).astype(np.float32)],
                             {"stride": [s, s], "dilation": [1, 1], "pad": [p, p], **act}, dtype="float32"))
    for h, w, c, k, s, p in [(8, 8, 8, 3, 1, 1), (6, 6, 20, 3, 2, 0), (10, 6, 4, (5, 3), 1, 2), (5, 5, 70, 3, 1, 1),
                             (12, 1, 16, (7, 1), 1, 0), (4, 10, 6, (1, 4), 1, 1), (9, 9, 3, 5, 2, 2), (6, 6, 1, 3, 1, 1),
                             (7, 5, 40, (2, 2), 2, 0)]:
        kh, kw = (k, k) if isinstance(k, int) else k
        oh, ow = (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1
        wt = rng.standard_normal((1, kh, kw, c)).astype(np.float32)
        models.append(_graph("DEPTHWISE_CONV_2D_F32", [(1, h, w, c)], (1, oh, ow, c), [wt, rng.standard_normal(c).astype(np.float32)],
                             {"stride": [s, s], "dilation": [1, 1], "pad": [p, p], "depth_multiplier": 1, **act}, dtype="float32"))
    for batches, units, depth in [(1, 10, 64), (1, 32, 20), (2, 8, 50), (1, 3, 200)]:
        wt = rng.standard_normal((units, depth)).astype(np.float32)
        models.append(_graph("FULLY_CONNECTED_F32", [(batches, depth)], (batches, units),
                             [wt, rng.standard_normal(units).astype(np.float32)], act, dtype="float32"))
    for op in ("AVERAGE_POOL_2D_F32", "MAX_POOL_2D_F32"):
        for h, w, c, kh, kw, s, p in [(8, 8, 6, 2, 2, 2, 0), (25, 5, 8, 25, 5, 1, 0), (7, 7, 3, 3, 3, 1, 1), (6, 6, 16, 3, 3, 2, 0),
                                      (4, 4, 40, 4, 4, 4, 0), (9, 3, 2, 3, 3, 1, 1), (10, 10, 1, 5, 2, 2, 0)]:
            oh, ow = (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1
            models.append(_graph(op, [(1, h, w, c)], (1, oh, ow, c), (),
                                 {"filter": [kh, kw], "stride": [s, s], "pad": [p, p], **act}, dtype="float32"))
    for shape in [(1, 4, 4, 8), (1, 10, 10, 6), (1, 3, 3, 50)]:
        models.append(_graph("ADD_F32", [shape, shape], shape, (), act, dtype="float32"))
    for rows, depth in [(1, 10), (1, 60), (3, 12), (5, 2), (2, 30)]:
        models.append(_graph("SOFTMAX_F32", [(rows, depth)], (rows, depth), (), {"beta": 1.0}, dtype="float32"))
    return models


def _reshape_chain(shape, out) -> Model:
    """x -> RESHAPE -> RESHAPE -> y: the planner puts the second copy's output below its input,
    so memmove runs forward there and backward in the single-op graphs."""
    g = Graph()
    x = g.add_tensor(Tensor("x", "int8", shape))
    mid = g.add_tensor(Tensor("mid", "int8", out))
    y = g.add_tensor(Tensor("y", "int8", shape))
    g.add_node("RESHAPE", [x], [mid])
    g.add_node("RESHAPE", [mid], [y])
    g.inputs, g.outputs = [x], [y]
    return compile_graph(g)


# -- fitting and predicting ------------------------------------------------------------------

def fit(models: list[Model], inputs: list[dict], counts: list[list[float]]) -> dict[str, dict[str, float]]:
    """Instructions per loop event, per op, by least squares over single-op micro-benchmarks."""
    rows: dict[str, list[tuple[dict, float]]] = defaultdict(list)
    for model, x, per_node in zip(models, inputs, counts):
        for node, measured in zip(model.graph.nodes, per_node):
            ev = events(node, model.graph, _node_inputs(model, node, x))
            if ev is not None:
                rows[node.op].append((ev, measured))
    table_ = {}
    for op, samples in rows.items():
        names = sorted({k for ev, _ in samples for k in ev})
        a = np.array([[ev.get(k, 0) for k in names] for ev, _ in samples], np.float64)
        b = np.array([m for _, m in samples], np.float64)
        table_[op] = {k: round(float(c), 3) for k, c in zip(names, _nonnegative_lstsq(a, b))}
    return table_


def _nonnegative_lstsq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Least squares with every coefficient >= 0 (an event cannot save instructions): drop the
    most negative event and refit until none is negative."""
    used = a.any(axis=0)
    while True:
        coef = np.zeros(a.shape[1])
        coef[used] = np.linalg.lstsq(a[:, used], b, rcond=None)[0]
        if coef.min() >= 0:
            return coef
        used[int(np.argmin(coef))] = False


def _node_inputs(model: Model, node, x: dict) -> list | None:
    """The node's input values (constants as stored) when its activation input is a graph
    input (data-dependent events of a micro-benchmark read it), else None."""
    tensors = model.graph.tensors
    if tensors[node.inputs[0]].name not in x:
        return None
    return [x.get(tensors[i].name, tensors[i].data) for i in node.inputs if i >= 0]


def predict(model: Model, x: dict, per_event: dict[str, dict[str, float]]) -> list[float]:
    """Predicted instructions per node of a micro-benchmark."""
    return [sum(count * per_event[node.op].get(name, 0.0)
                for name, count in events(node, model.graph, _node_inputs(model, node, x)).items())
            for node in model.graph.nodes]


def calibrate(path: Path = CALIBRATION_PATH) -> dict:
    """Run the micro-benchmarks on every QEMU board and store instructions per event."""
    int8, float32 = micro_benchmarks(), float_micro_benchmarks()
    models = int8 + float32
    # a stream per kind, so that adding int8 benchmarks leaves the float inputs (and fits) alone
    inputs = [random_inputs(m, rng) for group, rng in ((int8, np.random.default_rng(0)), (float32, np.random.default_rng(1)))
              for m in group]
    result = {}
    for isa, board_name in BOARDS.items():
        counts = measure(models, inputs, board_name)
        per_event = fit(models, inputs, counts)
        worst = max(abs(p - c) / c for m, x, cs in zip(models, inputs, counts)
                    for p, c in zip(predict(m, x, per_event), cs))
        result[isa] = {"board": board_name, "micro_benchmarks": len(models),
                       "worst_fit_error": round(worst, 4), "ops": per_event}
    result["provenance"] = {"date": date.today().isoformat(), "native_kernels_commit": _git_commit("native/src"),
                            "method": "least squares of QEMU instruction counts of single-op graphs "
                                      "(emulators/grounding.py micro_benchmarks); MLPerf Tiny models held out"}
    path.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    calibration.cache_clear()
    return result


def _git_commit(sub: str) -> str:
    """Last commit touching `sub`, marked +modified when the working tree differs from it
    (the firmware QEMU ran is built from the working tree)."""
    def git(*args):
        return subprocess.run(["git", *args, "--", sub], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parents[1]).stdout.strip()
    try:
        commit = git("log", "-1", "--format=%h") or "unknown"
        return commit + ("+modified" if git("status", "--porcelain") else "")
    except OSError:
        return "unknown"


# -- comparing ------------------------------------------------------------------------------

@dataclass
class Row:
    what: str  # op type or "model"
    predicted: float
    measured: float

    @property
    def error(self) -> float:
        return (self.predicted - self.measured) / self.measured


def compare(model: Model, x: dict, measured: list[float], isa: str) -> dict[str, list[Row]]:
    """Per op type and whole-model rows: the emulator's instructions on the ISA-only profile for
    input `x` against the board's count for the same input."""
    from .core import Emulator
    _, report = Emulator(model, PROFILES[isa], backend="numpy").run(x)
    per_op = defaultdict(lambda: [0.0, 0.0])
    for node, m in zip(report.nodes, measured):
        per_op[node.op][0] += node.detail["instructions"]
        per_op[node.op][1] += m
    ops = [Row(op, p, m) for op, (p, m) in sorted(per_op.items())]
    return {"ops": ops, "model": [Row("model", sum(r.predicted for r in ops), sum(r.measured for r in ops))]}


def within_targets(result: dict[str, list[Row]]) -> bool:
    return (all(abs(r.error) <= OP_TOLERANCE for r in result["ops"])
            and abs(result["model"][0].error) <= MODEL_TOLERANCE)


def check(paths: list[str]) -> list[list]:
    """Rows (model, ISA, op, predicted, measured, error) for each model on each QEMU board."""
    models = [load(p) for p in paths]
    rng = np.random.default_rng(1)
    inputs = [random_inputs(m, rng) for m in models]
    rows = []
    for isa, board_name in BOARDS.items():
        for path, model, x, measured in zip(paths, models, inputs, measure(models, inputs, board_name)):
            result = compare(model, x, measured, isa)
            for r in result["ops"] + result["model"]:
                rows.append([Path(path).stem, isa, r.what, round(r.predicted), round(r.measured), f"{100 * r.error:+.1f}%"])
    return rows


def main(argv: list[str]) -> int:
    if argv[:1] == ["calibrate"]:
        result = calibrate()
        for isa in BOARDS:
            print(f"{isa}: {result[isa]['micro_benchmarks']} micro-benchmarks, worst fit error "
                  f"{100 * result[isa]['worst_fit_error']:.2f}% -> {CALIBRATION_PATH}")
        return 0
    if argv[:1] == ["check"] and len(argv) > 1:
        rows = check(argv[1:])
        print(table.render(["model", "ISA", "op", "predicted", "measured (QEMU)", "error"], rows,
                           title="ISA grounding: predicted vs QEMU-counted instructions"))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
