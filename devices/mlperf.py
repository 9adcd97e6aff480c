"""Host client for the MLPerf Tiny device-under-test protocol (EEMBC / MLCommons runner): text
commands terminated by '%', reply lines `m-...` / `e-[...]` ending in CRLF, each command
closed by `m-ready`. The edgert firmware speaks it next to the binary protocol."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

from edgert.errors import BoardError

from .transport import open_transport

DIRECT_CHUNK = 31   # bytes per `db` command when talking to the DUT directly (the runner's value)


@dataclass(frozen=True)
class InferResult:
    results: list[float]
    elapsed_us: int      # between the two m-lap-us timestamps around the timed inferences
    iterations: int


class MlperfDut:
    def __init__(self, port, timeout: float = 10.0):
        self.port = port
        self.port.timeout = 0.02   # per read; the command deadline is checked between reads
        self.timeout = timeout
        self._buf = b""

    @classmethod
    def open(cls, url: str, baudrate: int = 115200, timeout: float = 10.0) -> "MlperfDut":
        dut = cls(open_transport(url, baudrate=baudrate), timeout)
        dut.command("name")   # also swallows the boot banner
        return dut

    def close(self):
        self.port.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _line(self, deadline: float) -> str:
        while b"\n" not in self._buf:
            if time.monotonic() > deadline:
                raise BoardError(f"DUT sent no complete line within {self.timeout} s (got {self._buf[-80:]!r})")
            self._buf += self.port.read(max(1, self.port.in_waiting))
        line, self._buf = self._buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode(errors="replace")

    def command(self, cmd: str) -> list[str]:
        """Send one command; return its reply lines (without the closing m-ready)."""
        if len(cmd) > 79:
            raise ValueError("MLPerf Tiny commands are at most 80 characters")
        self.port.write(cmd.encode() + b"%")
        deadline = time.monotonic() + self.timeout
        lines = []
        while (line := self._line(deadline)) != "m-ready":
            lines.append(line)
        errors = [l for l in lines if l.startswith("e-")]
        if errors:
            raise BoardError(f"DUT refused {cmd.split()[0]!r}: {'; '.join(errors)}")
        return [l for l in lines if l not in ("m-timestamp-mode-performance", "m-init-done")]

    def name(self) -> str:
        return _field(self.command("name"), r"m-name-dut-\[(.*)\]")

    def profile(self) -> tuple[str, str]:
        lines = self.command("profile")
        return _field(lines, r"m-profile-\[(.*)\]"), _field(lines, r"m-model-\[(.*)\]")

    def timestamp_us(self) -> int:
        return int(_field(self.command("timestamp"), r"m-lap-us-(\d+)"))

    def load(self, data: bytes, chunk: int = DIRECT_CHUNK) -> None:
        lines = self.command(f"db load {len(data)}")
        if f"m-[Expecting {len(data)} bytes]" not in lines:
            raise BoardError(f"DUT did not accept db load {len(data)}: {lines}")
        done = []
        for off in range(0, len(data), chunk):
            done = self.command("db " + data[off:off + chunk].hex())
        if "m-load-done" not in done:
            raise BoardError("DUT did not confirm m-load-done after the last db command")

    def infer(self, iterations: int = 1, warmups: int = 0) -> InferResult:
        lines = self.command(f"infer {iterations} {warmups}")
        laps = [int(m.group(1)) for l in lines if (m := re.fullmatch(r"m-lap-us-(\d+)", l))]
        if len(laps) != 2:
            raise BoardError(f"expected two timestamps around the inferences, got {laps}")
        return InferResult(_results(lines), (laps[1] - laps[0]) & 0xFFFFFFFF, iterations)

    def results(self) -> list[float]:
        return _results(self.command("results"))


def _field(lines: list[str], pattern: str) -> str:
    for line in lines:
        if m := re.fullmatch(pattern, line):
            return m.group(1)
    raise BoardError(f"DUT reply lacks {pattern!r}: {lines}")


def _results(lines: list[str]) -> list[float]:
    return [float(v) for v in _field(lines, r"m-results-\[(.*)\]").split(",") if v]
