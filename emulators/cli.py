"""`edgert devices` and `edgert emulate` (registered on the main group in edgert/cli.py)."""
from __future__ import annotations

import json
import re

import click

from edgert import table
from edgert.devices.profiles import load_all, load_profile
from edgert.errors import EdgertError, InputError

from .core import Emulator, cost_model

_UNITS = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9}


def parse_freq(text: str | None) -> float | None:
    """'175MHz', '1.2 GHz', '175e6' -> Hz."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*([0-9.]+(?:e[0-9]+)?)\s*([kmg]?)(?:hz)?\s*", text.lower())
    if not m:
        raise InputError(f"cannot read frequency {text!r}; write e.g. 175MHz, 1.2GHz or 175e6")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_seconds(text: str | None) -> float | None:
    """'1ms', '100us', '0.001' -> seconds."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*([0-9.]+(?:e-?[0-9]+)?)\s*(s|ms|us)?\s*", text.lower())
    if not m:
        raise InputError(f"cannot read time {text!r}; write e.g. 1ms, 100us or 0.001")
    return float(m.group(1)) * {"s": 1.0, "ms": 1e-3, "us": 1e-6, None: 1.0}[m.group(2)]


@click.group(invoke_without_command=True)
@click.pass_context
def devices(ctx):
    """List device profiles; `devices show NAME` prints one with the source of every number."""
    if ctx.invoked_subcommand is not None:
        return
    rows = []
    for p in load_all():
        units = ", ".join(f"{name} x{u['cores']}" for name, u in p.value("units").items())
        memory = ", ".join(f"{m.name} {_bytes(m.size_bytes)}" for m in p.memory)
        rows.append([p.name, p.kind, units, memory, len(p.operating_points), p.title])
    click.echo(table.render(["device", "kind", "units", "memory", "op. points", "title"], rows))


@devices.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="print values and sources as JSON")
def show(name, as_json):
    """Print one profile: every value with its source."""
    p = load_profile(name)
    if as_json:
        click.echo(json.dumps({"name": p.name, "kind": p.kind, "title": p.title, "summary": p.summary,
                               "data": p.data, "sources": {".".join(k): v for k, v in p.sources.items()}}, indent=2))
        return
    click.echo(f"{p.name} ({p.kind}): {p.title}\n{p.summary}\nfile: {p.path}\n")
    rows = [[".".join(path), p.value(path), source] for path, source in p.sources.items()]
    click.echo(table.render(["field", "value", "source"], rows))


def _bytes(n: int) -> str:
    for unit, size in (("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} B"


def compare_devices(m, x, wanted: dict, backend: str = "c") -> tuple[list[list], list[dict]]:
    """Emulate model `m` on input `x` on every profile; one table row per profile, saying why
    when a device cannot run it, and the reports as dicts."""
    rows, reports = [], []
    for profile in load_all():
        cls = cost_model(profile.kind)
        config = {k: v for k, v in wanted.items() if cls is not None and k in cls.OPTIONS}
        try:
            _, r = Emulator(m, profile, backend=backend, **config).run(x)
        except EdgertError as e:
            rows.append([profile.name, "-", "-", "-", "-", f"cannot run: {e}"])
            continue
        reports.append(r.to_dict())
        energy = "-" if r.energy_j is None else r.energy_j * 1e6
        status = r.summary.get("status") or ", ".join(f"{k}={v}" for k, v in r.config.items())
        rows.append([profile.name, r.latency_s * 1e3, energy, r.cycles, r.macs / r.cycles if r.cycles else 0.0, status])
    return rows, reports


@click.command("emulate")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--device", default="gap8", show_default=True, help="profile name, or 'all' to compare every profile")
@click.option("--cores", type=int, help="cluster cores to use (PULP devices)")
@click.option("--freq", help="clock frequency, e.g. 175MHz; picks the lowest-voltage operating point that reaches it")
@click.option("--op", "operating_point", help="operating point by name (see `edgert devices show`)")
@click.option("--weights", type=click.Choice(["auto", "l2", "l3", "flash", "sram"]), help="memory that holds the weights")
@click.option("--kernels", type=click.Choice(["native", "reference", "cmsis-nn"]),
              help="kernels on microcontrollers: ours (native, default), TFLite Micro reference, CMSIS-NN")
@click.option("--fc-only", is_flag=True, default=None, help="run on the fabric controller only (PULP devices)")
@click.option("--batch", type=int, help="batch size costed on GPUs (Jetson)")
@click.option("--precision", type=click.Choice(["auto", "fp16", "fp32"]), help="precision of float layers on GPUs")
@click.option("--timestep", help="time step of event cores, e.g. 1ms or 0.1ms (SpiNNaker)")
@click.option("--neurons-per-core", type=int, help="neurons placed per core (SpiNNaker)")
@click.option("--disable", multiple=True, help="switch off a node, or every node whose name starts with PREFIX* (DPU)")
@click.option("--input", "input_path", type=click.Path(exists=True, dir_okay=False), help="input .npy (default: random)")
@click.option("--backend", type=click.Choice(["c", "numba", "numpy"]), default="c", show_default=True)
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="write the report(s) as JSON")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), help="write a per-layer PNG plot")
@click.option("--seed", default=0, show_default=True, help="seed for the random input")
def emulate_cmd(model, device, cores, freq, operating_point, weights, kernels, fc_only, batch, precision, timestep,
                neurons_per_core, disable, input_path, backend, json_path, plot_path, seed):
    """Run MODEL on the host and report cycles, time, energy and memory on a device."""
    import edgert
    from edgert.cli import _load_input, _random_input

    m = edgert.load(model)
    wanted = {"cores": cores, "freq_hz": parse_freq(freq), "operating_point": operating_point,
              "weights": weights, "kernels": kernels, "fc_only": fc_only, "batch": batch, "precision": precision,
              "timestep_s": parse_seconds(timestep), "neurons_per_core": neurons_per_core, "disabled": disable or None}
    wanted = {k: v for k, v in wanted.items() if v is not None}
    if device != "all":
        emulator = Emulator(m, device, backend=backend, **wanted)
        x = _load_input(input_path) if input_path else _random_input(emulator.session, seed)
        _, report = emulator.run(x)
        click.echo(report.table())
        if json_path:
            report.to_json(json_path)
            click.echo(f"wrote {json_path}")
        if plot_path:
            report.plot(plot_path)
            click.echo(f"wrote {plot_path}")
        return
    x = _load_input(input_path) if input_path else _random_input(edgert.Session(m, backend=backend), seed)
    rows, reports = compare_devices(m, x, wanted, backend)
    click.echo(table.render(["device", "ms", "uJ", "cycles", "MAC/cyc", "config / status"], rows, title=model))
    if json_path:
        with open(json_path, "w") as f:
            json.dump(reports, f, indent=2)
        click.echo(f"wrote {json_path}")
