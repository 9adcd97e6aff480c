"""`edgert demo`: the whole story on a laptop, on embedded defaults.

Compile the bundled keyword-spotting model, run it on the host and show where the time goes.
"""
from __future__ import annotations

from pathlib import Path

import click
import numpy as np

import edgert
from edgert import table

ROOT = Path(__file__).resolve().parent.parent
KWS_MODEL = ROOT / "models" / "mlperf_tiny" / "kws_ref_model.tflite"
KWS_SAMPLE = ROOT / "models" / "mlperf_tiny" / "samples" / "kws_sample_input_int8.npy"
KWS_LABELS = ["down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes", "silence", "unknown"]


def step(title: str) -> None:
    click.secho(f"\n== {title}", bold=True)


def run_demo(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    step(f"compile {KWS_MODEL.name}")
    model = edgert.compile(KWS_MODEL)
    ert_path = out_dir / "kws.ert"
    model.save(ert_path)
    click.echo(f"{ert_path}: {len(model.graph.nodes)} ops, {model.macs:,} MACs, "
               f"{model.weight_bytes:,} weight bytes, {model.arena_size:,} arena bytes")

    step("run on the host (C kernels)")
    session = edgert.Session(model, backend="c")
    x = np.load(KWS_SAMPLE).reshape(session.input_details()[0]["shape"])
    y = session.run(x)
    scores = session.dequantize(y).ravel()
    top = int(np.argmax(scores))
    click.echo(f"top class: {KWS_LABELS[top]!r} (class {top}, score {scores[top]:.3f})")
    records = session.profile(x, repeats=20)
    total = sum(r.seconds for r in records)
    rows = [[r.index, r.op, r.name[:32], r.macs, round(r.seconds * 1e6, 1), round(100 * r.seconds / total, 1)]
            for r in records]
    click.echo(table.render(["#", "op", "node", "MACs", "us", "%"], rows))
    click.echo(f"total {total * 1e6:.1f} us per inference (median of 20)")
