"""Deployment benchmark on an emulated board (not a test): effective model upload throughput as
a fraction of the raw link throughput measured on the same link in the same run (target >= 0.8),
and inference round-trip time.

    .venv/bin/python bench/deploy.py [--board qemu-riscv32] [--model kws_ref_model] [--runs 20]
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

import edgert
from edgert import table
from edgert.devices import Board, qemu_board

MODELS = Path(__file__).resolve().parents[1] / "models" / "mlperf_tiny"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--board", default="qemu-riscv32")
    ap.add_argument("--model", default="kws_ref_model", help="MLPerf Tiny model for the round trip")
    ap.add_argument("--upload-model", default="vww_96_int8", help="model uploaded for the throughput")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--pairs", type=int, default=3, help="raw/upload measurement pairs (medians)")
    a = ap.parse_args()
    upload = edgert.compile(MODELS / f"{a.upload_model}.tflite")
    model = edgert.compile(MODELS / f"{a.model}.tflite")
    session = edgert.Session(model, backend="c")
    d = session.input_details()[0]
    x = np.random.default_rng(0).integers(-128, 128, d["shape"], dtype=d["dtype"])
    with qemu_board(a.board) as url, Board.open(url, timeout=2.0) as board:
        info = board.info()
        n = len(upload.ert)
        raw_s, up_s = [], []
        for _ in range(a.pairs):   # interleaved, so a busy host slows both alike
            raw_s.append(board.link_test(n))          # the same number of raw bytes, unframed
            t0 = time.perf_counter()
            board.deploy(upload)
            up_s.append(time.perf_counter() - t0)
        board.deploy(model)
        board.run(x)                                  # warm up
        rtt, ticks = [], []
        for _ in range(a.runs):
            t0 = time.perf_counter()
            y = board.run(x)
            rtt.append(time.perf_counter() - t0)
            ticks.append(board.last_invocation.ticks)
        assert y.tobytes() == session.run(x).tobytes(), "board output differs from the host"
    raw_bps, up_bps = n / statistics.median(raw_s), n / statistics.median(up_s)
    ratio = statistics.median(r / u for r, u in zip(raw_s, up_s))
    rows = [
        ["raw link host->board", f"{raw_bps / 1024:.1f} KiB/s", f"{n} unframed bytes, FNV-checked; median of {a.pairs}"],
        ["model upload", f"{up_bps / 1024:.1f} KiB/s", f"{a.upload_model}: framed + acked + digest + validation; median of {a.pairs}"],
        ["upload / raw", f"{ratio:.2f}", "median of the interleaved pairs' ratios; target >= 0.8"],
        ["inference round trip", f"{statistics.median(rtt) * 1e3:.1f} ms", f"{a.model}: set input + invoke + read output, median of {a.runs}"],
        ["board time per inference", f"{statistics.median(ticks) / info.clock_hz * 1e3:.1f} ms",
         f"{statistics.median(ticks)} {info.counter} at {info.clock_hz} Hz (virtual time)"],
    ]
    print(table.render(["measure", "value", "what"], rows, title=f"deploy benchmark on {info.port}"))


if __name__ == "__main__":
    main()
