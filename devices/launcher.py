"""Start emulated boards and yield their serial URL; always stop them (also when the caller
fails or dies: PR_SET_PDEATHSIG).

    with qemu_board("qemu-riscv32") as url, Board.open(url) as board: ...   # QEMU, TCP serial
    with host_board() as url, Board.open(url) as board: ...                 # POSIX process, pty

The firmware is built with make when missing or stale.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import select
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from edgert.errors import BoardError

FIRMWARE_DIR = Path(__file__).resolve().parent.parent / "firmware"


@dataclass(frozen=True)
class QemuMachine:
    port: str                # firmware port (firmware/ports/<port>)
    binary: str
    args: tuple[str, ...]
    packages: str            # Debian packages that provide the binary and the cross compiler


MACHINES = {
    # -icount shift=0: rdinstret counts retired instructions exactly, the same every run
    "qemu-riscv32": QemuMachine("qemu-riscv32-virt", "qemu-system-riscv32",
                                ("-M", "virt", "-bios", "none", "-icount", "shift=0"),
                                "qemu-system-misc gcc-riscv64-unknown-elf"),
    # -icount shift=7: 128 ns per instruction, SysTick (25 MHz) ticks x 40/128 = instructions
    "qemu-mps2-an386": QemuMachine("qemu-mps2-an386", "qemu-system-arm",
                                   ("-M", "mps2-an386", "-icount", "shift=7"),
                                   "qemu-system-arm gcc-arm-none-eabi"),
}
ALIASES = {"qemu-riscv32-virt": "qemu-riscv32", "qemu-mps2": "qemu-mps2-an386", "qemu-arm": "qemu-mps2-an386"}


def machine(name: str) -> QemuMachine:
    key = ALIASES.get(name, name)
    if key not in MACHINES:
        raise BoardError(f"unknown QEMU board {name!r}: choose one of {sorted(MACHINES)}")
    return MACHINES[key]


def build_firmware(port: str, packages: str = "gcc") -> Path:
    """make -C firmware PORT=port (a no-op when up to date); returns the built binary."""
    if not shutil.which("make"):
        raise BoardError("building the firmware needs `make`")
    proc = subprocess.run(["make", "-s", "-C", str(FIRMWARE_DIR), f"PORT={port}"],
                          capture_output=True, text=True)
    if proc.returncode:
        raise BoardError(f"firmware build for {port} failed (needs: apt-get install "
                         f"--no-install-recommends {packages}):\n{proc.stderr[-2000:]}")
    return FIRMWARE_DIR / "build" / port / ("edgert-fw" if port == "host" else "edgert-fw.elf")


def firmware_path(name: str) -> Path:
    m = machine(name)
    return build_firmware(m.port, m.packages)


def _die_with_parent():  # runs in the child between fork and exec
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(name: str, elf: Path | None = None) -> tuple[subprocess.Popen, str]:
    """Start QEMU for a board; returns (process, serial URL). The caller must stop() it."""
    m = machine(name)
    if not shutil.which(m.binary):
        raise BoardError(f"{m.binary} not found: apt-get install --no-install-recommends {m.packages}")
    elf = elf or firmware_path(name)
    for _ in range(5):   # the free port may be taken between probe and bind: retry
        tcp = _free_port()
        argv = [m.binary, *m.args, "-nographic", "-monitor", "none", "-kernel", str(elf),
                "-serial", f"tcp:127.0.0.1:{tcp},server=on,wait=on,nodelay=on"]
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        url = f"socket://127.0.0.1:{tcp}"
        # QEMU announces the listening socket; the guest only starts once a client connects
        # (wait=on), so the first client sees the boot banner
        found, out = _wait_for(proc, b"waiting for connection", 10)
        if found and proc.poll() is None:
            return proc, url
        stop(proc)
        if b"Address already in use" not in out:
            raise BoardError(f"{m.binary} did not start: {out.decode(errors='replace').strip()[-1000:]}")
    raise BoardError(f"could not start {m.binary}: no free TCP port")


def _wait_for(proc: subprocess.Popen, marker: bytes, timeout: float) -> tuple[bool, bytes]:
    """Read QEMU's output until the marker appears (True), or it exits / times out (False)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and marker not in seen:
        ready, _, _ = select.select([proc.stdout], [], [], 0.05)
        chunk = os.read(proc.stdout.fileno(), 4096) if ready else b""
        if ready and not chunk or not ready and proc.poll() is not None:
            break
        seen += chunk
    return marker in seen, seen


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout:
        proc.stdout.close()


@contextlib.contextmanager
def qemu_board(name: str = "qemu-riscv32"):
    """Context manager yielding the serial URL of a freshly booted QEMU board."""
    proc, url = start(name)
    try:
        yield url
    finally:
        stop(proc)


@contextlib.contextmanager
def host_board():
    """The firmware core as a host process serving a pseudo-terminal; yields the pty path."""
    exe = build_firmware("host")
    proc = subprocess.Popen([str(exe)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
    try:
        found, out = _wait_for(proc, b"\n", 10)
        line = out.decode(errors="replace").strip()
        if not found or "serial on " not in line:
            raise BoardError(f"host firmware did not start: {line!r}")
        yield line.split("serial on ", 1)[1]
    finally:
        stop(proc)
