"""The `edgert` command line."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import numpy as np

import edgert
from edgert import table
from edgert.errors import EdgertError


class _Group(click.Group):
    """Turn edgert errors into one clear line and exit status 2, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except EdgertError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(edgert.__version__)
def main():
    """edgert: compile a model once; run it on the host, in device emulators and on boards."""


@main.command("compile")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="output .ert (default: MODEL with .ert suffix)")
@click.option("--trust", is_flag=True, help="allow unpickling .joblib/.pkl files (unpickling runs code from the file)")
@click.option("-O", "--option", "extra", multiple=True, metavar="KEY=VALUE",
              help="importer option, e.g. -O dt=1e-3 -O integrator=exact -O mode=fixed (NIR: docs/spiking.md)")
def compile_cmd(model, output, trust, extra):
    """Compile MODEL (.tflite, .onnx, .nir, .joblib/.pkl) to an .ert file."""
    options = {"trust": True} if trust else {}
    options.update(_parse_options(extra))
    m = edgert.compile(model, **options)
    out = Path(output) if output else Path(model).with_suffix(".ert")
    m.save(out)
    click.echo(f"wrote {out}: {len(m.graph.nodes)} ops, {m.weight_bytes} weight bytes, "
               f"{m.arena_size} arena bytes, {len(m.ert)} file bytes")


def _parse_options(pairs) -> dict:
    """KEY=VALUE strings -> options; values read as int, then float, else kept as text."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r}: options are KEY=VALUE")
        for cast in (int, float, str):
            try:
                options[key] = cast(value)
                break
            except ValueError:
                continue
    return options


def _info_rows(m):
    from edgert.runtime import kernels
    rows = []
    for k, n in enumerate(m.graph.nodes):
        t_out = m.graph.tensors[n.outputs[0]]
        params = ", ".join(f"{a}={v}" for a, v in n.attrs.items() if not isinstance(v, (list, np.ndarray)) or len(v) <= 4)
        rows.append([k, n.op, n.name[:40], "x".join(map(str, t_out.shape)) or "scalar",
                     kernels.macs(n, m.graph.tensors), params[:60]])
    return rows


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of tables")
def info(model, as_json):
    """Show a model's ops, parameters, MACs and memory."""
    m = edgert.load(model)
    summary = {"family": m.family, "ops": len(m.graph.nodes), "macs": m.macs,
               "weight_bytes": m.weight_bytes, "arena_bytes": m.arena_size, "file_bytes": len(m.ert),
               "inputs": [_tensor_desc(m.graph.tensors[i]) for i in m.graph.inputs],
               "outputs": [_tensor_desc(m.graph.tensors[i]) for i in m.graph.outputs]}
    if as_json:
        summary["nodes"] = [dict(zip(["index", "op", "name", "output_shape", "macs", "params"], r)) for r in _info_rows(m)]
        click.echo(json.dumps(summary, indent=2, default=str))
        return
    click.echo(table.render(["#", "op", "name", "output", "MACs", "params"], _info_rows(m), title=f"{model}"))
    click.echo()
    for key in ("family", "ops", "macs", "weight_bytes", "arena_bytes", "file_bytes"):
        click.echo(f"{key:>12}: {summary[key]}")
    for kind in ("inputs", "outputs"):
        for d in summary[kind]:
            click.echo(f"{kind[:-1]:>12}: {d}")


def _tensor_desc(t) -> str:
    q = f" scale={t.quant.scale[0]:.6g} zp={t.quant.zero_point[0]}" if t.quant is not None and not t.quant.per_channel else ""
    return f"{t.name} {t.dtype}[{','.join(map(str, t.shape))}]{q}"


def _load_input(path: str) -> np.ndarray:
    p = Path(path)
    if p.suffix == ".npy":
        return np.load(p, allow_pickle=False)
    raise click.BadParameter(f"{path}: inputs are .npy files")


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--input", "input_path", type=click.Path(exists=True, dir_okay=False), help="input .npy (default: random)")
@click.option("--backend", type=click.Choice(["c", "numba", "numpy"]), default="c", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="write the output to this .npy")
@click.option("--seed", default=0, show_default=True, help="seed for the random input")
@click.option("--steps", type=click.IntRange(1), help="spiking models: run this many time steps (input: (T, ...) array)")
@click.option("--events", is_flag=True, help="spiking models: the input .npy is a list of (t, index) events")
@click.option("--port", help="also run on the board at this serial URL (or qemu-riscv32, qemu-mps2-an386, "
              "host) and compare with the host result")
def run(model, input_path, backend, output, seed, steps, events, port):
    """Run MODEL on the host (or on a board with --port) and print (or save) its output."""
    m = edgert.load(model)
    session = edgert.Session(m, backend=backend)
    if steps or events:
        return _run_steps(session, _load_input(input_path) if input_path else None, steps, events, seed, output)
    if input_path:
        x = _load_input(input_path)
    else:
        x = _random_input(session, seed)
    if port:
        from edgert.devices.cli import compare_report, run_on_board
        y, y_host, counts = run_on_board(m, session, x, port, timeout=1.0)
        same, report = compare_report(y, y_host)
        click.echo(counts + "\n" + report)
        if not same:
            sys.exit(1)
    else:
        y = session.run(x)
    if output:
        np.save(output, y if not isinstance(y, dict) else next(iter(y.values())))
        click.echo(f"wrote {output}")
    else:
        np.set_printoptions(threshold=64, linewidth=100)
        click.echo(y)


def _run_steps(session, x, steps, events, seed, output):
    from edgert.runtime import spiking
    x = spiking.step_inputs(session, x, steps, events, seed=seed)
    totals = spiking.ActivityTotals()
    y = spiking.run_steps(session, x, observer=totals)
    y = y if not isinstance(y, dict) else next(iter(y.values()))
    counters = list(dict.fromkeys(k for c in totals.totals.values() for k in c))
    rows = [[name] + [c.get(k, "") for k in counters] for name, c in totals.totals.items() if c]
    click.echo(table.render(["node"] + counters, rows, title=f"{len(x)} steps: activity per node"))
    click.echo(f"output spike counts: {y.sum(axis=0).reshape(-1).tolist()}")
    if output:
        np.save(output, y)
        click.echo(f"wrote {output} ({len(x)} steps x {list(y.shape[1:])})")


def _random_input(session, seed: int):
    rng = np.random.default_rng(seed)
    d = session.input_details()[0]
    if np.issubdtype(np.dtype(d["dtype"]), np.integer):
        info = np.iinfo(d["dtype"])
        return rng.integers(info.min, info.max + 1, size=d["shape"], dtype=d["dtype"])
    return rng.standard_normal(d["shape"]).astype(d["dtype"])


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--port", default="qemu-riscv32", show_default=True,
              help="board: serial URL (/dev/ttyUSB0, socket://HOST:PORT) or an emulated board name")
@click.option("--meter", "meter_spec", default="sim:", show_default=True,
              help="meter spec: ppk2:/dev/ttyACM0, visa:RESOURCE, jetson:, ina:/dev/ttyUSB0, sim:")
@click.option("-n", "n", default=20, show_default=True, help="inferences per run")
@click.option("--repeats", default=3, show_default=True, help="runs; energy is their median (MLPerf Tiny)")
@click.option("--device", help="profile for the estimate shown beside the measurement (default: the board's)")
@click.option("--input", "input_path", type=click.Path(exists=True, dir_okay=False), help="input .npy (default: random)")
@click.option("--trace", "trace_path", type=click.Path(dir_okay=False), help="save the trace (.npz or .csv)")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), help="write a PNG of the trace")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="write the results as JSON")
@click.option("--timeout", default=2.0, show_default=True, help="seconds per board reply")
def measure(model, port, meter_spec, n, repeats, device, input_path, trace_path, plot_path, json_path, timeout):
    """Measure energy per inference of MODEL on a board with a power meter."""
    from edgert.devices.cli import deploy_if_needed, open_board
    from edgert.measure import ESTIMATE_FOR_PORT, estimate, open_meter_for, run_measurement

    m = edgert.load(model)
    session = edgert.Session(m)
    x = _load_input(input_path) if input_path else _random_input(session, 0)
    with open_board(port, timeout) as board:
        deploy_if_needed(board, m)
        same = _same(board.run(x), session.run(x))
        click.echo(f"board output {'equals' if same else 'DIFFERS FROM'} the host's")
        profile = device or ESTIMATE_FOR_PORT.get(board.info().port)
        report = estimate(m, profile, x) if profile else None
        with open_meter_for(meter_spec, report) as meter:
            result = run_measurement(board, meter, x, n, repeats)
    click.echo(measure_table(result, report))
    if trace_path:
        result.trace.save(trace_path)
        click.echo(f"wrote {trace_path}")
    if plot_path:
        result.trace.plot(plot_path, title=f"{Path(model).name} on {port}")
        click.echo(f"wrote {plot_path}")
    if json_path:
        doc = {"measured": result.as_dict(), "estimate": None if report is None else report.to_dict()}
        Path(json_path).write_text(json.dumps(doc, indent=2, default=float))
    if not same:
        sys.exit(1)


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return all(np.array_equal(a[k], b[k]) for k in a)
    return bool(np.array_equal(a, b))


def measure_table(result, report) -> str:
    est = report is not None and report.energy_j is not None
    rows = [["energy / inference (uJ)", round(result.energy_per_inference_j * 1e6, 3),
             round(report.energy_j * 1e6, 3) if est else "-"],
            ["latency (ms)", round(result.latency_s * 1e3, 3), round(report.latency_s * 1e3, 4) if report else "-"],
            ["average power (mW)", round(result.average_power_w * 1e3, 3),
             round(report.energy_j / report.latency_s * 1e3, 3) if est else "-"],
            ["runs x inferences", f"{len(result.runs_energy_per_inference_j)} x {result.inferences_per_run}", ""],
            ["inference markers", result.marker_source, ""]]
    title = "measured" + (f" vs estimated on {report.device}" if report is not None else "")
    return table.render(["", "measured", f"estimate ({report.device})" if report is not None else "estimate"],
                        rows, title=title)


@main.command()
@click.option("--out", type=click.Path(file_okay=False), default="out/demo", show_default=True,
              help="folder for the compiled model, reports, traces and plots")
def demo(out):
    """Run the whole story on embedded defaults (bundled model, QEMU board, simulated meter)."""
    from edgert.demo import run_demo
    run_demo(Path(out))


from edgert.emulators.cli import devices, emulate_cmd  # noqa: E402  (device profiles and emulators)

main.add_command(devices)
main.add_command(emulate_cmd)

from edgert.devices.cli import board, deploy_cmd  # noqa: E402  (boards over serial)

main.add_command(board)
main.add_command(deploy_cmd)


if __name__ == "__main__":
    main()
