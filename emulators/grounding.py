"""ISA grounding: the emulator's predicted instruction counts per op against QEMU's exact counts.

The ISA-only profiles `rv32imc` and `cortex-m4` cost every instruction class 1, so the mcu
model's per-node cycles are predicted instruction counts of our portable C kernels. The firmware
harness runs each op of a model on the QEMU boards (`-icount shift=0`, rdinstret / SysTick) and
writes what it measured as JSON:

    {"profile": "rv32imc", "model": "kws_ref_model.tflite",
     "nodes": [{"index": 0, "op": "CONV_2D", "instructions": 123456}, ...]}

`compare` lines the two up per node, per op type and for the whole model; the targets are
+-10 % per op and +-5 % per model. The per-loop-level tables in kernels_c.py are what a miss
calibrates.

    .venv/bin/python -m edgert.emulators.grounding MODEL MEASURED.json
"""
from __future__ import annotations

import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from edgert import table
from edgert.errors import InputError

from .core import Emulator

OP_TOLERANCE, MODEL_TOLERANCE = 0.10, 0.05


@dataclass
class Row:
    what: str  # node name, op type, or "model"
    predicted: float
    measured: float

    @property
    def error(self) -> float:
        return (self.predicted - self.measured) / self.measured if self.measured else float("inf")


def predicted_instructions(model, profile: str) -> list[tuple[str, str, float]]:
    """(node name, op, predicted instructions) per node; costing needs no run."""
    emulator = Emulator(model, profile, backend="numpy")
    dm = emulator.device_model
    return [(c.name, c.op, c.detail["instructions"]) for c in (dm.node_cost(k, {}) for k in range(len(dm.works)))]


def compare(model, measured: dict) -> dict[str, list[Row]]:
    """Rows per node, per op type and for the model; `measured` is the harness's JSON."""
    predicted = predicted_instructions(model, measured["profile"])
    by_index = {int(n["index"]): n for n in measured["nodes"]}
    missing = [k for k in range(len(predicted)) if k not in by_index]
    if missing:
        raise InputError(f"measured counts lack nodes {missing}; the harness must report every op")
    nodes, per_op = [], defaultdict(lambda: [0.0, 0.0])
    for k, (name, op, count) in enumerate(predicted):
        got = by_index[k]
        if got.get("op", op) != op:
            raise InputError(f"node {k}: measured op {got['op']} but the model has {op}; same model?")
        nodes.append(Row(name, count, float(got["instructions"])))
        per_op[op][0] += count
        per_op[op][1] += float(got["instructions"])
    ops = [Row(op, p, m) for op, (p, m) in sorted(per_op.items())]
    total = Row("model", sum(r.predicted for r in nodes), sum(r.measured for r in nodes))
    return {"nodes": nodes, "ops": ops, "model": [total]}


def within_targets(result: dict[str, list[Row]]) -> bool:
    return (all(abs(r.error) <= OP_TOLERANCE for r in result["ops"])
            and abs(result["model"][0].error) <= MODEL_TOLERANCE)


def render(result: dict[str, list[Row]], title: str = "") -> str:
    rows = [[r.what, round(r.predicted), round(r.measured), f"{100 * r.error:+.1f}%"] for r in result["ops"] + result["model"]]
    return table.render(["op", "predicted", "measured (QEMU)", "error"], rows, title=title)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    measured = json.loads(Path(argv[1]).read_text())
    result = compare(argv[0], measured)
    print(render(result, title=f"{argv[0]} on {measured['profile']}"))
    ok = within_targets(result)
    print("within +-10 % per op and +-5 % per model" if ok else "MISSES the grounding targets")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
