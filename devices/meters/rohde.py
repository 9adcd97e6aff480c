"""Rohde & Schwarz NGM20x supply (FastLog streaming) and HMC8015 power analyser."""

from __future__ import annotations

import re
import time

import numpy as np

from edgert.errors import MeterError

from .scpi import ScpiMeter
from .trace import Trace

FASTLOG_RATES = {500e3: "S500K", 250e3: "S250K", 50e3: "S050K", 10e3: "S010K", 1e3: "S001K",
                 100.0: "S100"}
FASTLOG_READY = 1 << 12  # STAT:OPER:INST:ISUM1 bit 12: FastLog data available


class NGM200(ScpiMeter):
    """FastLog to SCPI: blocks of little-endian float32 (V, I) pairs, fetched when the
    channel's ISUM1 event register says data is ready."""

    kind = "ngm200"
    idn_pattern = re.compile(r"^NGM20[12]$")
    can_supply = True

    def __init__(self, instrument, idn, current_limit: float = 0.5):
        super().__init__(instrument, idn)
        self.current_limit = current_limit

    def _configure(self, sample_rate, current_range, supply_voltage):
        if current_range is not None:
            raise MeterError("the NGM20x ranges current automatically; pass current_range=None")
        wanted = sample_rate or 10e3
        rate = min((r for r in FASTLOG_RATES if r >= wanted), default=max(FASTLOG_RATES))
        cmds = ["INST OUT1"]
        if supply_voltage is not None:
            cmds += [f"VOLT {supply_voltage:g}", f"CURR {self.current_limit:g}"]
        cmds += ["FLOG:TARG SCPI", f"FLOG:SRAT {FASTLOG_RATES[rate]}",
                 f"STAT:OPER:INST:ISUM1:ENAB {FASTLOG_READY}"]
        self.configure_commands(cmds, "configuration")
        return rate

    def _power(self, on: bool):
        self.write("OUTP 1" if on else "OUTP 0")

    def _begin(self):
        self._fetched = 0
        self.write("FLOG:STAT 1")

    def _poll(self):
        if not int(self.query("STAT:OPER:INST:ISUM1:EVEN?")) & FASTLOG_READY:
            self.wait()
            return None
        data = self.query_block("FLOG:DATA?", big_endian=False)
        if data.size % 2:
            raise MeterError(f"NGM FastLog block of {data.size} floats; expected (V, I) pairs")
        k = self._fetched + np.arange(data.size // 2)
        self._fetched += data.size // 2
        return Trace(k / self.sample_rate, data[0::2], data[1::2])

    def _end(self):
        last = self._poll()
        self.write("FLOG:STAT 0")
        return last


class HMC8015(ScpiMeter):
    """Mains-side power analyser: URMS, IRMS and P every update interval (~10 Hz), read as
    ASCII CSV. Whole-board wall-plug energy only; the trace stores I = P / U so that V * I
    is the active power. Times are host times of each reading (no instrument timestamps)."""

    kind = "hmc8015"
    idn_pattern = re.compile(r"^HMC8015$")
    open_commands = ("SYST:REM", "*CLS")
    UPDATE_S = 0.1

    def _configure(self, sample_rate, current_range, supply_voltage):
        rng = ("CHAN1:ACQ:CURR:RANG:AUTO ON" if current_range is None
               else f"CHAN1:ACQ:CURR:RANG {current_range:g}")
        self.configure_commands(["*RST", "CHAN1:MEAS:FUNC URMS,IRMS,P", "CHAN1:ACQ:MODE AUTO",
                                 "CHAN1:ACQ:VOLT:RANG:AUTO ON", rng], "configuration")
        return 1.0 / self.UPDATE_S

    def _begin(self):
        self._next = time.monotonic() + self.UPDATE_S

    def _poll(self):
        time.sleep(max(0.0, self._next - time.monotonic()))
        self._next += self.UPDATE_S
        u, _irms, p = self.query_floats("CHAN1:MEAS:DATA?")
        t = time.monotonic() - self.host_t0
        return Trace([t], u, [p / u if u else 0.0])

    def _end(self):
        return None

    def _close(self):
        try:
            self.write("SYST:LOC")
        finally:
            super()._close()
