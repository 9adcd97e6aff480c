"""Per-op instruction counts of the C kernels on the QEMU boards: the ISA ground truth the
emulators are checked against (emulators/grounding.py reads this JSON).

    python -m edgert.devices.isa MODEL [-o measured.json] [--board qemu-riscv32|qemu-mps2-an386]

qemu-riscv32: rdinstret under -icount shift=0 = retired instructions, exact.
qemu-mps2-an386: SysTick ticks (25 MHz) under -icount shift=7 (128 ns per instruction), so
instructions = ticks * 40 / 128, exact up to the tick granularity (one tick = 0.3125 insn).
Each count spans one kernel call (plus a constant ~10-instruction counter-read overhead).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .board import Board
from .launcher import machine, qemu_board

PROFILES = {"qemu-riscv32-virt": "rv32imc", "qemu-mps2-an386": "cortex-m4"}


def to_instructions(counter: str, ticks: int) -> float:
    if counter == "instret":
        return float(ticks)
    if counter == "systick":
        return ticks * 40 / 128
    raise ValueError(f"counter {counter!r} does not count instructions")


def measure(model, board: str = "qemu-riscv32", x=None, seed: int = 0) -> dict:
    """Deploy `model` (from edgert.compile/load) on a QEMU board, run it once on x (default:
    seeded random input) and return the per-node instruction counts."""
    import edgert
    session = edgert.Session(model, backend="c")
    if x is None:
        d = session.input_details()[0]
        rng = np.random.default_rng(seed)
        if np.issubdtype(np.dtype(d["dtype"]), np.integer):
            info = np.iinfo(d["dtype"])
            x = rng.integers(info.min, info.max + 1, d["shape"], dtype=d["dtype"])
        else:
            x = rng.standard_normal(d["shape"]).astype(d["dtype"])
    with qemu_board(board) as url, Board.open(url, timeout=2.0) as b:
        info = b.info()
        b.deploy(model)
        b.run(x)
        counts = b.counters()
    return {
        "profile": PROFILES[info.port], "board": info.port, "counter": info.counter,
        "source": f"{info.port} under QEMU -icount ({info.counter}); exact, measured",
        "nodes": [{"index": c.index, "name": c.name, "op": c.op,
                   "instructions": to_instructions(info.counter, c.cycles), "ticks": c.cycles,
                   "activity": list(c.activity)} for c in counts],
    }


def main(argv=None) -> None:
    import edgert
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("-o", "--output", help="write JSON here (default: stdout)")
    ap.add_argument("--board", default="qemu-riscv32", help="qemu-riscv32 or qemu-mps2-an386")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    machine(a.board)   # unknown names fail before compiling
    result = measure(edgert.load(a.model), a.board, seed=a.seed)
    result["model"] = Path(a.model).name
    text = json.dumps(result, indent=1)
    if a.output:
        Path(a.output).write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
