"""Byte transports for boards: pyserial URLs (/dev/tty*, socket://host:port, loop://) and a
fault-injecting proxy for testing the protocol's recovery."""
from __future__ import annotations

import random
import time
from dataclasses import dataclass

import serial

from edgert.errors import BoardError


def open_transport(url: str, baudrate: int = 115200, timeout: float = 0.05):
    """Open a pyserial URL; errors become BoardError naming the URL."""
    try:
        return serial.serial_for_url(url, baudrate=baudrate, timeout=timeout, write_timeout=10)
    except (serial.SerialException, ValueError, OSError) as e:
        raise BoardError(f"cannot open serial port {url!r}: {e}") from e


@dataclass
class Faults:
    """Per-byte fault rates, applied independently in each direction."""
    drop: float = 0.0        # byte silently lost
    corrupt: float = 0.0     # byte replaced by a random different value
    duplicate: float = 0.0   # byte delivered twice
    delay: float = 0.0       # probability that a write/read pauses ...
    delay_s: float = 0.002   # ... for this long
    seed: int = 0


class FaultyTransport:
    """Wraps a transport and damages the bytes passing through it, reproducibly by seed.
    Counts what it did in `.injected`."""

    def __init__(self, inner, faults: Faults):
        self.inner = inner
        self.faults = faults
        self.rng = random.Random(faults.seed)
        self.injected = {"drop": 0, "corrupt": 0, "duplicate": 0, "delay": 0}

    def _damage(self, data: bytes) -> bytes:
        f, rng, out = self.faults, self.rng, bytearray()
        for b in data:
            r = rng.random()
            if r < f.drop:
                self.injected["drop"] += 1
                continue
            r -= f.drop
            if r < f.corrupt:
                self.injected["corrupt"] += 1
                out.append(b ^ rng.randrange(1, 256))
                continue
            r -= f.corrupt
            if r < f.duplicate:
                self.injected["duplicate"] += 1
                out += bytes([b, b])
                continue
            out.append(b)
        if f.delay and rng.random() < f.delay * max(1, len(data)):
            self.injected["delay"] += 1
            time.sleep(f.delay_s)
        return bytes(out)

    def write(self, data: bytes) -> int:
        self.inner.write(self._damage(data))
        return len(data)

    def read(self, n: int = 1) -> bytes:
        return self._damage(self.inner.read(n))

    @property
    def in_waiting(self) -> int:
        return self.inner.in_waiting

    @property
    def timeout(self):
        return self.inner.timeout

    @timeout.setter
    def timeout(self, value):
        self.inner.timeout = value

    def reset_input_buffer(self):
        self.inner.reset_input_buffer()

    def close(self):
        self.inner.close()
