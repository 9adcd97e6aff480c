"""The edgert INA2xx serial-bridge line protocol (firmware: firmware/bridge-ina/).

ASCII lines ending in ``\\n``. Host -> bridge: ``ID?``, ``CFG <period_us> <averages>``,
``START``, ``STOP``. Bridge -> host: one reply line per command (``ID`` answers
``EDGERT-INA,<chip>,<firmware>,<shunt_mohm>``; the others ``OK`` or ``ERR <reason>``), and
while started one data line per sample::

    D,<seq>,<t_us>,<bus_mV>,<current_uA>,<pin>

``seq`` counts samples modulo 65536 (gaps = lost lines), ``t_us`` is the bridge's
microsecond clock (uint32, wraps), ``pin`` the level (0/1) of the input wired to the
board's timestamp pin. Full description: docs/meters.md.
"""

from __future__ import annotations

import numpy as np

SEQ_MOD = 1 << 16
CLOCK_MOD = 1 << 32
#: shortest sample period the bridge accepts, per chip (one bus + one shunt conversion at
#: the fastest setting: INA219 2 x 84 us (9 bit), INA226 2 x 140 us; TI datasheets)
MIN_PERIOD_US = {"INA219": 200, "INA226": 300}


class LineDecoder:
    """Splits the byte stream into lines (keeping a partial line between reads) and turns
    data lines into arrays; time is unwrapped from the 32-bit microsecond clock."""

    def __init__(self):
        self._rest = b""
        self._t0_us: int | None = None
        self._last_us = 0
        self._wraps = 0
        self._last_seq: int | None = None
        self.lost = 0
        self.other: list[str] = []  # non-data lines (replies, errors), in order

    def feed(self, data: bytes) -> np.ndarray:
        """Rows of (t_s, volts, amperes, pin) for the complete data lines received."""
        lines = (self._rest + data).split(b"\n")
        self._rest = lines.pop()
        rows = []
        for raw in lines:
            line = raw.strip().decode("ascii", errors="replace")
            fields = line.split(",")
            if len(fields) != 6 or fields[0] != "D":
                if line:
                    self.other.append(line)
                continue
            try:
                seq, t_us, mv, ua, pin = (int(f) for f in fields[1:])
            except ValueError:
                self.other.append(line)
                continue
            rows.append(self._row(seq, t_us, mv, ua, pin))
        return np.array(rows, dtype=np.float64).reshape(-1, 4)

    def _row(self, seq, t_us, mv, ua, pin):
        if self._last_seq is not None:
            self.lost += (seq - self._last_seq - 1) % SEQ_MOD
        self._last_seq = seq
        if self._t0_us is None:
            self._t0_us = self._last_us = t_us
        if t_us < self._last_us:
            self._wraps += 1
        self._last_us = t_us
        t = (self._wraps * CLOCK_MOD + t_us - self._t0_us) / 1e6
        return t, mv / 1e3, ua / 1e6, pin
