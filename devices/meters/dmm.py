"""A Truevolt DMM (Keysight 34465A / 34470A) as a timed-sampling ammeter.

It measures current only: the trace voltage is the supply voltage given to configure().
Readings are pulled with ``R?`` (read and erase), a definite-length block whose payload is
ASCII, so long runs never fill the reading memory.
"""

from __future__ import annotations

import re

import numpy as np

from edgert.errors import MeterError

from .scpi import ScpiMeter
from .trace import Trace


def parse_definite_block(raw: bytes) -> bytes:
    """Payload of an IEEE 488.2 ``#<n><length><payload>`` block."""
    raw = raw.rstrip(b"\r\n")
    if raw[:1] != b"#" or not raw[1:2].isdigit() or raw[1:2] == b"0":
        raise MeterError(f"expected a definite-length block, got {raw[:20]!r}")
    n = int(raw[1:2])
    length = int(raw[2:2 + n])
    payload = raw[2 + n:2 + n + length]
    if len(payload) != length:
        raise MeterError(f"block announced {length} bytes but carried {len(payload)}")
    return payload


class TruevoltDMM(ScpiMeter):
    kind = "dmm"
    idn_pattern = re.compile(r"^344(65|70)A$")
    MAX_COUNT = 1_000_000

    def __init__(self, instrument, idn, nplc: float = 0.02):
        super().__init__(instrument, idn)
        self.nplc = nplc

    def _configure(self, sample_rate, current_range, supply_voltage):
        if supply_voltage is None:
            raise MeterError("a DMM measures current only: give the board's supply_voltage")
        if current_range is None:
            raise MeterError("give the DMM a fixed current_range (A): autoranging makes "
                             "timed sampling irregular")
        self.interval = 1.0 / (sample_rate or 1000.0)
        self.configure_commands([
            "*RST", f"CONF:CURR:DC {current_range:g}", f"CURR:DC:NPLC {self.nplc:g}",
            "CURR:DC:ZERO:AUTO OFF", "TRIG:SOUR IMM", "SAMP:SOUR TIM",
            f"SAMP:TIM {self.interval:.7g}", f"SAMP:COUN {self.MAX_COUNT}"], "configuration")
        return 1.0 / self.interval

    def _begin(self):
        self._fetched = 0
        self.write("INIT")

    def _poll(self):
        self.write("R?")
        payload = parse_definite_block(self._visa(self.inst.read_raw))
        if not payload:
            self.wait()
            return None
        current = np.array(payload.split(b","), dtype=np.float64)
        k = self._fetched + np.arange(current.size)
        self._fetched += current.size
        return Trace(k * self.interval, self.supply_voltage, current)

    def _end(self):
        self.write("ABOR")
        return self._poll()
