"""Emulation cost relative to a plain host run of the same model (target: at most 1.5x).

    .venv/bin/python bench/emulate.py [--backend numpy] [--repeats 20]

Per MLPerf Tiny int8 model and device: median seconds of Session.run, median seconds of
Emulator.run (host run + costing), their ratio, and the one-off cost of preparing the
emulator (shape-based costing of every node) relative to one host run.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

import edgert
from edgert import table
from edgert.emulators import Emulator

MODELS = Path(__file__).resolve().parents[1] / "models" / "mlperf_tiny"
CASES = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8"]
DEVICES = ["gap8", "stm32l4r5", "rv32imc", "jetson-orin-nano", "zcu104", "spinnaker2"]
SPIKING = {"braille_noDelay_bias_zero": ["spinnaker1", "spinnaker2", "jetson-agx-orin"]}  # one step per run


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--backend", default="numpy", choices=["c", "numba", "numpy"])
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    rows = []
    cases = [(MODELS / f"{name}.tflite", DEVICES) for name in CASES]
    cases += [(MODELS.parent / "nir" / f"{name}.nir", devices) for name, devices in SPIKING.items()]
    for path, devices in cases:
        name = path.stem
        model = edgert.compile(path)
        session = edgert.Session(model, backend=args.backend)
        spec = session.input_details()[0]
        x = np.random.default_rng(0).integers(-128 if spec["dtype"] == "int8" else 0, 128 if spec["dtype"] == "int8" else 2,
                                              size=spec["shape"]).astype(spec["dtype"])  # spikes are 0/1
        host = median_seconds(lambda: session.run(x), args.repeats)
        for device in devices:
            t0 = time.perf_counter()
            emulator = Emulator(model, device, backend=args.backend)
            prepare = time.perf_counter() - t0
            emulated = median_seconds(lambda: emulator.run(x), args.repeats)
            rows.append([name, device, host * 1e3, emulated * 1e3, emulated / host, prepare / host])
    print(table.render(["model", "device", "host ms", "emulate ms", "ratio", "prepare / host run"], rows,
                       title=f"emulation cost vs plain host run (backend {args.backend}, median of {args.repeats})"))
    print(f"\nworst steady-state ratio: {max(r[4] for r in rows):.3f} (target <= 1.5)")


if __name__ == "__main__":
    main()
