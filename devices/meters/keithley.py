"""Keithley source-measure supplies: 2450/2460/2461 SourceMeter and 2280S.

Both source the board's voltage and log current into an instrument buffer that the
host reads as ASCII while the run continues; sample times come from the instrument's own
relative timestamps (REL), not from the host.
"""

from __future__ import annotations

import re

import numpy as np

from edgert.errors import MeterError

from .scpi import ScpiMeter
from .trace import Trace

LINE_HZ = 50.0  # NPLC -> seconds; set line_hz=60 for 60 Hz mains


def _nplc_for(sample_rate, line_hz, lo, hi):
    nplc = min(hi, max(lo, line_hz / (sample_rate or 50.0)))
    return nplc, line_hz / nplc


class _BufferedSMU(ScpiMeter):
    can_supply = True

    def __init__(self, instrument, idn, current_limit: float = 0.5, line_hz: float = LINE_HZ):
        super().__init__(instrument, idn)
        self.current_limit, self.line_hz = current_limit, line_hz

    def _need_voltage(self, supply_voltage):
        if supply_voltage is None:
            raise MeterError(f"{self.kind} sources the board: configure(supply_voltage=...)")

    def _poll(self) -> Trace | None:
        available = int(self.query(self.count_query))
        if available <= self._fetched:
            self.wait()
            return None
        return self._fetch_until(available)

    def _triples(self, first, last) -> np.ndarray:
        values = self.query_floats(self.data_query(first, last))
        if values.size != 3 * (last - first + 1):
            raise MeterError(f"{self.kind} returned {values.size} values for readings "
                             f"{first}..{last}; expected 3 per reading")
        return values.reshape(-1, 3)


class Keithley2450(_BufferedSMU):
    """SimpleLoop trigger template into defbuffer1; readings READ (A), REL (s), SOUR (V)."""

    kind = "keithley2450"
    idn_pattern = re.compile(r"^MODEL 24(50|60|61)$")
    count_query = ':TRAC:ACT? "defbuffer1"'
    CAPACITY = 100_000

    @staticmethod
    def data_query(first, last):
        return f':TRAC:DATA? {first},{last},"defbuffer1",READ,REL,SOUR'

    def _configure(self, sample_rate, current_range, supply_voltage):
        self._need_voltage(supply_voltage)
        nplc, rate = _nplc_for(sample_rate, self.line_hz, 0.01, 10)
        rng = (":SENS:CURR:RANG:AUTO ON" if current_range is None
               else f":SENS:CURR:RANG {current_range:g}")
        self.configure_commands([
            "*RST", ":SOUR:FUNC VOLT", f":SOUR:VOLT {supply_voltage:g}",
            f":SOUR:VOLT:ILIM {self.current_limit:g}", ':SENS:FUNC "CURR"', rng,
            f":SENS:CURR:NPLC {nplc:g}", f':TRAC:POIN {self.CAPACITY},"defbuffer1"',
            f':TRIG:LOAD "SimpleLoop",{self.CAPACITY},0,"defbuffer1"'], "configuration")
        return rate

    def _power(self, on: bool):
        self.write(":OUTP ON" if on else ":OUTP OFF")

    def _begin(self):
        self._fetched = 0
        self.write(":INIT")

    def _fetch_until(self, available):
        rows = self._triples(self._fetched + 1, available)  # buffer indices start at 1
        self._fetched = available
        return Trace(rows[:, 1], rows[:, 2], rows[:, 0])

    def _end(self):
        self.write(":ABOR")
        return self._poll()


class Keithley2280S(_BufferedSMU):
    """Concurrent V+I readings into the 2500-point buffer; READ (A), SOUR (V), REL (s),
    read back in slices of at most 100 readings. The buffer fills and then stops, so a run
    is limited to 2500 readings: a longer one fails with the readings so far kept."""

    kind = "keithley2280s"
    idn_pattern = re.compile(r"^MODEL 2280S")
    count_query = ":TRAC:POIN:ACT?"
    CAPACITY = 2500
    SLICE = 100

    @staticmethod
    def data_query(first, last):
        return f':TRAC:DATA:SEL? {first},{last},"READ,SOUR,REL"'

    def _configure(self, sample_rate, current_range, supply_voltage):
        self._need_voltage(supply_voltage)
        if current_range is not None:
            raise MeterError("the 2280S ranges current automatically; pass current_range=None")
        nplc, rate = _nplc_for(sample_rate, self.line_hz, 0.002, 12)
        self.configure_commands([
            "*RST", ':SENS:FUNC "CONC"', f":SENS:CONC:NPLC {nplc:g}", ":TRAC:CLE",
            f":TRAC:POIN {self.CAPACITY}", f":VOLT {supply_voltage:g}",
            f":CURR {self.current_limit:g}"], "configuration")
        return rate

    def _power(self, on: bool):
        self.write(":OUTP:STAT ON" if on else ":OUTP:STAT OFF")

    def _begin(self):
        self._fetched = 0
        self.write(":INIT:CONT ON")

    def _fetch_until(self, available):
        parts = []
        for first in range(self._fetched, available, self.SLICE):  # 0-based indices
            parts.append(self._triples(first, min(first + self.SLICE, available) - 1))
        self._fetched = available
        rows = np.concatenate(parts)
        return Trace(rows[:, 2], rows[:, 1], rows[:, 0])

    def _poll(self):
        if self._fetched >= self.CAPACITY:
            raise MeterError(f"2280S buffer full after {self.CAPACITY} readings; lower the "
                             "sample rate (higher NPLC) or shorten the run")
        return super()._poll()

    def _end(self):
        self.write(":INIT:CONT OFF")
        return super()._poll()
