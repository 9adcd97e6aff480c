"""Batch-1 latency of the six int8 MLPerf Tiny models: edgert (c / numba / numpy) against
the tflite-micro wheel (TFLM reference kernels) and LiteRT (`ai-edge-litert`: default
resolver = XNNPACK delegate, and the BUILTIN_REF reference resolver), in one process run.

    .venv/bin/python bench/int8.py [--repeats 50] [--models kws_ref_model,ad01_int8] [--markdown]

Every runtime gets the same random int8 input; each is warmed up once, then timed as the
median of `repeats` invocations (set input + invoke + read output). The runtimes take turns in
blocks of --block consecutive calls, so that background load affects them alike while each
runtime's caches are as warm as in a loop that calls one model again and again (the batch-1
use). `--block 1` takes turns call by call instead: every call then starts with caches the
other runtimes cooled (the numpy reference alone touches megabytes), which costs the fastest
runtime most (ad01 on edgert c: about 13 us in blocks, 28 us call by call). Ratios are
peer latency / edgert-c latency (> 1: edgert c is faster). Also checks that edgert c's
output equals the tflite-micro wheel's on that input.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

import edgert
from edgert import table

MODELS_DIR = Path(__file__).resolve().parents[1] / "models" / "mlperf_tiny"
MODELS = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "pretrainedResnet_large_int8",
          "ad01_int8", "str_ww_ref_model"]


def interleaved_medians(runners: dict, repeats: dict, block: int = 1) -> dict:
    """Median seconds per call of each runner, the runners taking turns in blocks of `block`
    consecutive calls so that load from other processes hits every runtime alike; each
    runner is warmed up once first."""
    times = {k: [] for k in runners}
    for fn in runners.values():
        fn()  # warm-up (JIT compile, caches)
    while any(len(times[k]) < repeats[k] for k in runners):
        for k, fn in runners.items():
            for _ in range(min(block, repeats[k] - len(times[k]))):
                t0 = time.perf_counter()
                fn()
                times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def edgert_runner(model, backend: str, x):
    session = edgert.Session(model, backend=backend)
    return lambda: session.run(x)


def tflm_runner(path: Path, x):
    from tflite_micro import runtime
    it = runtime.Interpreter.from_file(str(path))

    def run():
        it.set_input(x, 0)
        it.invoke()
        return it.get_output(0)
    return run


def litert_runner(path: Path, x, reference: bool):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    kind = OpResolverType.BUILTIN_REF if reference else OpResolverType.AUTO
    it = Interpreter(model_path=str(path), experimental_op_resolver_type=kind, num_threads=1)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]

    def run():
        it.set_tensor(inp, x)
        it.invoke()
        return it.get_tensor(out)
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--block", type=int, default=10, help="consecutive calls per turn (1: call by call)")
    ap.add_argument("--numpy-repeats", type=int, default=10, help="the numpy reference is slow")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table (docs/int8.md)")
    args = ap.parse_args()

    rows = []
    for name in args.models.split(","):
        path = MODELS_DIR / f"{name}.tflite"
        model = edgert.compile(path)
        d = edgert.Session(model, backend="numpy").input_details()[0]
        x = np.random.default_rng(0).integers(-128, 128, size=d["shape"], dtype=np.int8)
        runners = {
            "edgert c": edgert_runner(model, "c", x),
            "edgert numba": edgert_runner(model, "numba", x),
            "edgert numpy": edgert_runner(model, "numpy", x),
            "tflite-micro": tflm_runner(path, x),
            "LiteRT default": litert_runner(path, x, reference=False),
            "LiteRT ref": litert_runner(path, x, reference=True),
        }
        exact = np.array_equal(np.asarray(runners["edgert c"]()).ravel(), np.asarray(runners["tflite-micro"]()).ravel())
        repeats = {k: args.numpy_repeats if k == "edgert numpy" else args.repeats for k in runners}
        ms = {k: v * 1e3 for k, v in interleaved_medians(runners, repeats, args.block).items()}
        c = ms["edgert c"]
        rows.append([name, f"{c:.3f}", f"{ms['edgert numba']:.3f}", f"{ms['edgert numpy']:.2f}",
                     f"{ms['tflite-micro']:.2f}", f"{ms['LiteRT default']:.3f}", f"{ms['LiteRT ref']:.2f}",
                     f"{ms['tflite-micro'] / c:.1f}x", f"{c / ms['LiteRT default']:.2f}x",
                     f"{ms['LiteRT ref'] / c:.1f}x", "yes" if exact else "NO"])
    headers = ["model", "c ms", "numba ms", "numpy ms", "tflite-micro ms", "LiteRT ms", "LiteRT ref ms",
               "tflm / c", "c / LiteRT", "LiteRT ref / c", "c == tflm"]
    title = f"batch-1 median latency, {os.cpu_count()} CPUs, repeats={args.repeats}, block={args.block}"
    if args.markdown:
        print(f"{title}\n")
        print("| " + " | ".join(headers) + " |")
        print("|" + "---|" * len(headers))
        for r in rows:
            print("| " + " | ".join(r) + " |")
    else:
        print(table.render(headers, rows, title=title))


if __name__ == "__main__":
    main()
