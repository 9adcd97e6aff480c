"""Keysight N6705B/C DC Power Analyzer with an N678xA SMU module.

Two acquisition modes: ``elog`` (continuous external data logging, streamed from a ~20 s
FIFO the host must drain; for long energy runs) and ``digitizer`` (the array digitiser:
one triggered sweep of ``duration_s``; for short, finely sampled runs). Binary transfers
use ``FORM REAL`` + ``FORM:BORD NORM``: big-endian float32 blocks.
"""

from __future__ import annotations

import math
import re
import time

import numpy as np

from edgert.errors import MeterError

from .scpi import ScpiMeter
from .trace import Trace

ELOG_MIN_PERIOD = 204.8e-6  # 102.4 us per logged parameter, two parameters (I and V)
TINT_STEP = 10.24e-6  # digitiser interval resolution and minimum with two parameters


class N6705(ScpiMeter):
    kind = "n6705"
    idn_pattern = re.compile(r"^N6705[BC]$")
    can_supply = True
    FETCH_RECORDS = 4096

    def __init__(self, instrument, idn, channel: int = 1, mode: str = "elog",
                 duration_s: float = 1.0, current_limit: float | None = None):
        if mode not in ("elog", "digitizer"):
            raise ValueError(f"N6705 mode must be 'elog' or 'digitizer', not {mode!r}")
        super().__init__(instrument, idn)
        self.ch = f"(@{channel})"
        self.mode, self.duration_s, self.current_limit = mode, duration_s, current_limit
        self._done = False

    def _configure(self, sample_rate, current_range, supply_voltage):
        ch = self.ch
        cmds = ["FORM REAL", "FORM:BORD NORM"]
        if supply_voltage is not None:
            cmds.append(f"VOLT {supply_voltage:g},{ch}")
        if self.current_limit is not None:
            cmds.append(f"CURR {self.current_limit:g},{ch}")
        if self.mode == "elog":
            self.period = max(ELOG_MIN_PERIOD, 1.0 / (sample_rate or 1000.0))
            rng = (f"SENS:ELOG:CURR:DC:RANG:AUTO ON,{ch}" if current_range is None
                   else f"SENS:ELOG:CURR:DC:RANG {current_range:g},{ch}")
            cmds += [f"SENS:ELOG:FUNC:CURR ON,{ch}", f"SENS:ELOG:FUNC:VOLT ON,{ch}",
                     f"SENS:ELOG:FUNC:CURR:MINM OFF,{ch}", f"SENS:ELOG:FUNC:VOLT:MINM OFF,{ch}",
                     rng, f"SENS:ELOG:PER {self.period:.7g},{ch}", f"TRIG:ELOG:SOUR BUS,{ch}"]
        else:
            steps = round(1.0 / (sample_rate or 50_000.0) / TINT_STEP)
            self.period = max(1, steps) * TINT_STEP
            self.points = math.ceil(self.duration_s / self.period)
            rng = (f"SENS:CURR:RANG:AUTO ON,{ch}" if current_range is None
                   else f"SENS:CURR:RANG {current_range:g},{ch}")
            cmds += [f"SENS:FUNC:CURR ON,{ch}", f"SENS:FUNC:VOLT ON,{ch}", rng,
                     f"SENS:SWE:TINT {self.period:.7g},{ch}", f"SENS:SWE:POIN {self.points},{ch}",
                     f"TRIG:ACQ:SOUR BUS,{ch}"]
        self.configure_commands(cmds, "configuration")
        return 1.0 / self.period

    def _power(self, on: bool):
        self.write(f"OUTP {'ON' if on else 'OFF'},{self.ch}")
        self.check_errors("output switching")

    def _begin(self):
        self._done, self._fetched, self._checked = False, 0, time.monotonic()
        if self.mode == "elog":
            self.write(f"INIT:ELOG {self.ch}")
            self.write(f"TRIG:ELOG {self.ch}")
        else:
            # FETCh answers only when the sweep is complete: allow for it
            self.inst.timeout = max(self.inst.timeout, (self.duration_s + 5) * 1000)
            self.write(f"INIT:ACQ {self.ch}")
            self.write(f"TRIG:ACQ {self.ch}")

    def _poll(self) -> Trace | None:
        if self.mode == "elog":
            return self._fetch_elog()
        if self._done:
            self.wait()
            return None
        current = self.query_block(f"FETC:ARR:CURR? {self.ch}", big_endian=True)
        voltage = self.query_block(f"FETC:ARR:VOLT? {self.ch}", big_endian=True)
        if current.size != self.points or voltage.size != self.points:
            raise MeterError(f"N6705 digitiser returned {current.size} current and "
                             f"{voltage.size} voltage points, expected {self.points}")
        self._done = True
        return Trace(np.arange(self.points) * self.period, voltage, current)

    def _fetch_elog(self) -> Trace | None:
        data = self.query_block(f"FETC:ELOG? {self.FETCH_RECORDS},{self.ch}", big_endian=True)
        if data.size % 2:
            raise MeterError(f"N6705 Elog returned {data.size} values; records are (I, V) pairs")
        records = data.reshape(-1, 2)
        if time.monotonic() - self._checked > 1.0:  # an overflowed FIFO shows up here
            self._checked = time.monotonic()
            self.check_errors("Elog acquisition (the ~20 s FIFO overflows if the host "
                              "falls behind)")
        if not len(records):
            self.wait()
            return None
        # each record averages one period: stamp it at the period's middle
        k = self._fetched + np.arange(len(records))
        self._fetched += len(records)
        return Trace((k + 0.5) * self.period, records[:, 1], records[:, 0])

    def _end(self) -> Trace | None:
        if self.mode != "elog":
            return None
        last = self._fetch_elog()  # what was logged up to stop(); later records do not matter
        self.write(f"ABOR:ELOG {self.ch}")
        return last
