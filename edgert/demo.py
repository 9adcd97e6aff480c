"""`edgert demo`: the whole story on a laptop, on embedded defaults.

Compile the bundled keyword-spotting model; run it on the host; emulate it on every device
profile; boot a QEMU RISC-V board, deploy the same .ert over serial, run it there and compare
with the host byte for byte; measure energy per inference with a simulated PPK2 whose current
follows the board; write the trace, its plot and the emulator's per-layer plot.
"""
from __future__ import annotations

import json
import time
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

    step("emulate on every device profile")
    from edgert.emulators import emulate
    from edgert.emulators.cli import compare_devices
    rows, reports = compare_devices(model, x, {})
    click.echo(table.render(["device", "ms", "uJ", "cycles", "MAC/cyc", "config / status"], rows))
    (out_dir / "emulate_all.json").write_text(json.dumps(reports, indent=2))
    _, gap8 = emulate(model, "gap8", x)
    gap8.plot(out_dir / "gap8_layers.png")
    click.echo(f"wrote {out_dir / 'emulate_all.json'} and {out_dir / 'gap8_layers.png'}")

    step("deploy to a QEMU RISC-V board over serial and compare with the host")
    from edgert.devices import Board, qemu_board
    from edgert.measure import estimate, open_meter_for, run_measurement
    t0 = time.monotonic()
    with qemu_board("qemu-riscv32") as url, Board.open(url, timeout=2.0) as board:
        info = board.info()
        click.echo(f"board {info.port} at {url}: firmware {info.firmware}, booted in {time.monotonic() - t0:.1f} s")
        t0 = time.monotonic()
        board.deploy(model)
        click.echo(f"deployed {len(model.ert):,} bytes in {time.monotonic() - t0:.1f} s (digest verified on the board)")
        y_board = board.run(x)
        same = np.array_equal(y_board, y)
        click.echo(f"board output {'==' if same else '!='} host output, byte for byte: {y_board.ravel().tolist()}")
        counts = board.counters()
        click.echo(table.render(["#", "op", info.counter], [[c.index, c.op, c.cycles] for c in counts]))
        click.echo(f"total {sum(c.cycles for c in counts):,} {info.counter} "
                   f"(the rv32imc emulator predicts {[r for r in rows if r[0] == 'rv32imc'][0][3]:,.0f})")

        step("measure energy per inference (simulated PPK2 following the board)")
        report = estimate(model, "gap8", x)
        with open_meter_for("sim:", report) as meter:
            result = run_measurement(board, meter, x, n=10, repeats=3)
    from edgert.cli import measure_table
    click.echo(measure_table(result, report))
    click.echo("note: a QEMU board's latency is emulation time; the simulated meter draws the gap8 "
               "estimate's average power while the board is busy")
    result.trace.save(out_dir / "kws_trace.npz")
    result.trace.plot(out_dir / "kws_energy.png", title="kws on qemu-riscv32, simulated PPK2")
    click.echo(f"wrote {out_dir / 'kws_trace.npz'} and {out_dir / 'kws_energy.png'}")
    if not same:
        raise edgert.BoardError("the board's output differs from the host's")
