"""The INA bridge firmware, emulated on a pseudo-terminal at the line level: answers the
commands of ina_protocol and streams data lines for a current waveform, quantised as the
chip's registers would be."""

from __future__ import annotations

import time

import numpy as np

from ..ina_protocol import CLOCK_MOD, MIN_PERIOD_US, SEQ_MOD
from .pty_device import PtyDevice

#: bus-voltage LSB and a current LSB for a 0.8 A full scale (TI datasheets; docs/meters.md)
BUS_LSB_MV = {"INA219": 4.0, "INA226": 1.25}
CURRENT_LSB_UA = 25.0


class INABridgeEmulator(PtyDevice):
    def __init__(self, current_fn, voltage: float = 3.3, pin_fn=None, chip: str = "INA226",
                 shunt_mohm: float = 100.0, clock_start_us: int = 0, drop_every: int = 0):
        self.current_fn, self.voltage, self.pin_fn = current_fn, voltage, pin_fn
        self.chip, self.shunt_mohm = chip, shunt_mohm
        self.clock_start_us = clock_start_us  # bridge clock at START (tests use a near-wrap value)
        self.drop_every = drop_every  # lose every n-th line, as a congested link would
        self.commands: list[str] = []
        self.period_us = 1000
        self._started: float | None = None
        self._sent = 0
        super().__init__("ina-emulator")
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            if not self._receive(0.002):
                return
            while b"\n" in self._inbox:
                line, self._inbox = self._inbox.split(b"\n", 1)
                self._execute(line.decode(errors="replace").strip())
            if self._started is not None:
                self._stream()

    def _reply(self, text: str):
        self._send(text.encode() + b"\n")

    def _execute(self, line: str):
        self.commands.append(line)
        words = line.split()
        if line == "ID?":
            self._reply(f"EDGERT-INA,{self.chip},1.0,{self.shunt_mohm:g}")
        elif words[:1] == ["CFG"] and len(words) == 3:
            period = int(words[1])
            if period < MIN_PERIOD_US[self.chip]:
                self._reply(f"ERR period below {MIN_PERIOD_US[self.chip]} us")
            else:
                self.period_us = period
                self._reply("OK")
        elif line == "START":
            self._reply("OK")
            self._started, self._sent = time.monotonic(), 0
        elif line == "STOP":
            self._stream()
            self._started = None
            self._reply("OK")
        else:
            self._reply(f"ERR unknown command {line!r}")

    def _stream(self):
        due = int((time.monotonic() - self._started) * 1e6 / self.period_us)
        if due <= self._sent:
            return
        k = np.arange(self._sent, due)
        t = k * self.period_us / 1e6
        ua = np.rint(self.current_fn(t) * 1e6 / CURRENT_LSB_UA) * CURRENT_LSB_UA
        mv = np.rint(self.voltage * 1e3 / BUS_LSB_MV[self.chip]) * BUS_LSB_MV[self.chip]
        pin = np.ones(k.size, int) if self.pin_fn is None else self.pin_fn(t)
        clock = (self.clock_start_us + k * self.period_us) % CLOCK_MOD
        lines = [f"D,{s % SEQ_MOD},{c},{mv:.0f},{u:.0f},{p}\n"
                 for s, c, u, p in zip(k, clock, ua, pin)
                 if not (self.drop_every and s % self.drop_every == self.drop_every - 1)]
        self._sent = due
        self._send("".join(lines).encode())
