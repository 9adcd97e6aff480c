"""CLI for boards: `edgert board start|info`, `edgert deploy`, and the board side of
`edgert run --port`. PORT is a pyserial URL (/dev/ttyUSB0, socket://host:port, loop://) or an
emulated board name (qemu-riscv32, qemu-mps2-an386, host) started for the command's duration."""
from __future__ import annotations

import contextlib
import signal
import textwrap
import time

import click
import numpy as np

from edgert import table

from .board import Board, fnv1a64
from .launcher import ALIASES, MACHINES, host_board, qemu_board, start, stop

PORT_HELP = "serial URL (/dev/ttyUSB0, socket://HOST:PORT) or an emulated board: " + \
            ", ".join([*MACHINES, "host"])


@contextlib.contextmanager
def board_url(port: str):
    """Yield a serial URL; an emulated board named by PORT lives for the with block."""
    if port in MACHINES or port in ALIASES:
        with qemu_board(port) as url:
            yield url
    elif port == "host":
        with host_board() as url:
            yield url
    else:
        yield port


@contextlib.contextmanager
def open_board(port: str, timeout: float):
    with board_url(port) as url, Board.open(url, timeout=timeout) as board:
        yield board


@click.group()
def board():
    """Boards running the edgert firmware."""


@board.command("start")
@click.argument("name", type=click.Choice(sorted(MACHINES)))
def board_start(name):
    """Boot the firmware in QEMU and print its serial URL; runs until Ctrl-C."""
    proc, url = start(name)
    click.echo(url)
    click.echo(f"{name} running (pid {proc.pid}); Ctrl-C stops it", err=True)
    try:
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
        while proc.poll() is None:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        stop(proc)


@board.command("info")
@click.option("--port", required=True, help=PORT_HELP)
@click.option("--timeout", default=1.0, show_default=True, help="seconds per reply")
def board_info(port, timeout):
    """Firmware version, port, clock, capacities and ops of a board."""
    with open_board(port, timeout) as b:
        i = b.info()
    rows = [["firmware", i.firmware], ["port", i.port], ["counter", f"{i.counter} ({i.clock_hz} Hz)"],
            ["model capacity", f"{i.model_capacity} B"], ["arena capacity", f"{i.arena_capacity} B"],
            ["max nodes", i.max_nodes], ["frame payload", f"{i.max_payload} B"],
            ["model loaded", f"{i.model_size} B, digest {i.model_digest:016x}" if i.model_size else "none"]]
    click.echo(table.render(["", ""], rows, title="board"))
    click.echo(textwrap.fill(f"ops ({len(i.ops)}): {' '.join(i.ops)}", 100, subsequent_indent="  "))


def deploy_if_needed(b: Board, model) -> bool:
    """Upload unless the board already holds exactly these bytes; True if uploaded."""
    info = b.info()
    if info.model_size == len(model.ert) and info.model_digest == fnv1a64(model.ert):
        b.adopt(model)
        return False
    b.deploy(model)
    return True


@click.command("deploy")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--port", required=True, help=PORT_HELP)
@click.option("--timeout", default=1.0, show_default=True, help="seconds per reply")
def deploy_cmd(model, port, timeout):
    """Upload MODEL (.ert, or any model edgert compiles) to a board."""
    import edgert
    m = edgert.load(model)
    with open_board(port, timeout) as b:
        t0 = time.monotonic()
        r = b.deploy(m)
        dt = time.monotonic() - t0
    click.echo(f"deployed {r['bytes']} bytes in {dt:.2f} s ({r['bytes'] / dt / 1024:.1f} KiB/s): "
               f"{r['nodes']} ops, arena {r['arena']} B; the board verified the digest and the file")


def run_on_board(m, session, x, port: str, timeout: float):
    """Run x on the board and on the host; returns (board output, host output, counts table)."""
    with open_board(port, timeout) as b:
        uploaded = deploy_if_needed(b, m)
        y_board = b.run(x)
        counts = b.counters()
        info = b.info()
    y_host = session.run(x)
    rows = [[c.index, c.name, c.op, c.cycles] for c in counts]
    title = (f"board {info.port}: {info.counter} per op ({'model uploaded' if uploaded else 'model already on board'})")
    return y_board, y_host, table.render(["#", "node", "op", info.counter], rows, title=title)


def compare_report(y_board, y_host) -> tuple[bool, str]:
    pairs = y_board.items() if isinstance(y_board, dict) else [("output", y_board)]
    host = y_host if isinstance(y_host, dict) else {"output": y_host}
    lines, same = [], True
    for name, yb in pairs:
        yh = np.asarray(host[name])
        if yb.tobytes() == yh.tobytes():
            lines.append(f"{name}: board output identical to the host ({yb.size} elements)")
        else:
            same = False
            n = int(np.sum(yb.reshape(-1) != yh.reshape(-1))) if yb.shape == yh.shape else yb.size
            lines.append(f"{name}: board output DIFFERS from the host in {n} of {yb.size} elements")
    return same, "\n".join(lines)
