"""Byte-level models of SCPI power instruments, for the parts of their dialogue that
pyvisa-sim's YAML cannot express: acquisitions that progress with time, growing
buffers, IEEE 488.2 binary blocks. Each model sits in front of the YAML device of the same
name, which still answers everything else (``*IDN?``, configuration, ``SYST:ERR?``);
a command neither knows is an error, queued for ``SYST:ERR?`` as on a real instrument.

A model's load is ``current_fn(t) -> amperes`` at ``voltage`` volts, ``t`` in seconds since
the acquisition started. ``unplug()`` makes it fall silent (VISA timeouts follow).
"""

from __future__ import annotations

import re
import struct
import time
from collections import deque

import numpy as np
from pyvisa_sim.component import NoResponse


def ieee_block(payload: bytes) -> bytes:
    size = str(len(payload)).encode()
    return b"#" + str(len(size)).encode() + size + payload


def ascii_csv(values) -> bytes:
    return ",".join(f"{v:+.9E}" for v in values).encode()


def period_means(fn, starts: np.ndarray, period: float, sub: int = 64) -> np.ndarray:
    """Mean of ``fn`` over each [start, start + period): what an averaging ADC reports."""
    offsets = (np.arange(sub) + 0.5) / sub * period
    return fn(starts[:, None] + offsets[None, :]).mean(axis=1)


class SimInstrument:
    handlers: list[tuple[str, str]] = []  # (SCPI regex, method name)

    def __init__(self, device):
        self.device = device
        self.current_fn = lambda t: np.full(np.shape(t), 0.010)
        self.voltage = 3.3
        self.unplugged = False
        self._compiled = [(re.compile(rx), name) for rx, name in self.handlers]
        self._input = bytearray()
        self._output: deque[bytearray] = deque()
        self._deferred: list[tuple[float, callable]] = []

    # pyvisa-sim's Devices container and sessions use these three
    @property
    def resource_name(self):
        return self.device.resource_name

    @resource_name.setter
    def resource_name(self, value):
        self.device.resource_name = value

    def unplug(self):
        self.unplugged = True

    def write(self, data: bytes):
        if self.unplugged:
            return
        self._input.extend(data)
        eom = self.device._query_eom
        if not self._input.endswith(eom):
            return
        message, self._input = bytes(self._input[:-len(eom)]), bytearray()
        for query in message.split(b";"):
            self._respond(query.strip())

    def _respond(self, query: bytes):
        text = query.decode("latin-1")
        for rx, name in self._compiled:
            m = rx.fullmatch(text)
            if m:
                reply = getattr(self, name)(*m.groups())
                break
        else:
            reply = self.device._match(query)
            if reply is None:
                reply = self.device.error_response("command_error")
        if reply is not None and reply is not NoResponse:
            self._queue(reply)

    def _queue(self, reply: bytes):
        self._output.append(bytearray(reply) + self.device._response_eom)

    def defer(self, due: float, make_reply):
        """Answer only once ``due`` (monotonic) has passed, like a FETCh waiting for data."""
        self._deferred.append((due, make_reply))

    def read(self) -> tuple[bytes, bool]:
        if self.unplugged:
            return b"", False
        now = time.monotonic()
        while self._deferred and self._deferred[0][0] <= now:
            self._queue(self._deferred.pop(0)[1]())
        if not self._output:
            return b"", False
        head = self._output[0]
        if len(head) > 65537:  # hand over large blocks in pieces; the last piece has END
            chunk = bytes(head[:65536])
            del head[:65536]
            return chunk, False
        self._output.popleft()
        return bytes(head), True

    def elapsed(self, since: float | None) -> float:
        return 0.0 if since is None else time.monotonic() - since


class TimedReadings(SimInstrument):
    """Readings taken every ``interval`` seconds between a start and a stop command."""

    interval = 1e-3

    def __init__(self, device):
        super().__init__(device)
        self.started: float | None = None
        self.stopped_at: float | None = None

    def begin(self):
        self.started, self.stopped_at = time.monotonic(), None

    def end(self):
        self.stopped_at = time.monotonic()

    def taken(self, capacity: int) -> int:
        if self.started is None:
            return 0
        end = self.stopped_at or time.monotonic()
        return min(capacity, int((end - self.started) / self.interval) + 1)


class N6705(SimInstrument):
    """Keysight N6705B/C with an N678xA SMU in slot 1: digitiser and Elog."""

    handlers = [
        (r"FORM(?::DATA)? (REAL|ASC|ASCII)", "set_format"),
        (r"FORM:BORD (NORM|SWAP)", "set_border"),
        (r"SENS:SWE:TINT ([0-9.eE+-]+),\(@1\)", "set_tint"),
        (r"SENS:SWE:POIN (\d+),\(@1\)", "set_points"),
        (r"INIT:ACQ \(@1\)", "init_acq"),
        (r"TRIG:ACQ \(@1\)", "trigger_acq"),
        (r"FETC:ARR:(CURR|VOLT)\? \(@1\)", "fetch_array"),
        (r"SENS:ELOG:PER ([0-9.eE+-]+),\(@1\)", "set_elog_period"),
        (r"SENS:ELOG:FUNC:(CURR|VOLT)(:MINM)? (ON|OFF),\(@1\)", "set_elog_function"),
        (r"INIT:ELOG \(@1\)", "init_elog"),
        (r"TRIG:ELOG \(@1\)", "trigger_elog"),
        (r"FETC:ELOG\? (\d+),\(@1\)", "fetch_elog"),
        (r"ABOR:ELOG \(@1\)", "abort_elog"),
    ]
    FIFO_RECORDS = 100_000  # ~20 s at the minimum period with two parameters

    def __init__(self, device):
        super().__init__(device)
        self.real, self.big_endian = False, True
        self.tint, self.points = 20.48e-6, 4096
        self.acq_trigger: float | None = None
        self.elog_period = 0.1
        self.elog_functions = {"CURR": False, "VOLT": False, "CURR:MINM": False,
                               "VOLT:MINM": False}
        self.elog_trigger: float | None = None
        self.elog_sent = 0
        self.elog_records: list[np.ndarray] = []  # everything sent, for tests to compare

    def set_format(self, fmt):
        self.real = fmt == "REAL"

    def set_border(self, order):
        self.big_endian = order == "NORM"

    def set_tint(self, value):
        self.tint = max(10.24e-6, round(float(value) / 10.24e-6) * 10.24e-6)

    def set_points(self, n):
        self.points = int(n)

    def init_acq(self):
        self.acq_trigger = None

    def trigger_acq(self):
        self.acq_trigger = time.monotonic()

    def fetch_array(self, what):
        if self.acq_trigger is None:
            return b"-230,\"Data corrupt or stale\""
        t = np.arange(self.points) * self.tint
        values = self.current_fn(t) if what == "CURR" else np.full(t.shape, self.voltage)
        due = self.acq_trigger + self.points * self.tint
        self.defer(due, lambda: self._encode(values))

    def _encode(self, values) -> bytes:
        if not self.real:
            return ascii_csv(values)
        fmt = (">" if self.big_endian else "<") + f"{len(values)}f"
        return ieee_block(struct.pack(fmt, *np.asarray(values, np.float32)))

    def set_elog_period(self, value):
        self.elog_period = float(value)

    def set_elog_function(self, quantity, minmax, state):
        self.elog_functions[quantity + (minmax or "")] = state == "ON"

    def init_elog(self):
        self.elog_trigger, self.elog_sent, self.elog_records = None, 0, []

    def trigger_elog(self):
        self.elog_trigger = time.monotonic()

    def abort_elog(self):
        self.elog_trigger = None

    def fetch_elog(self, max_records):
        due = int(self.elapsed(self.elog_trigger) / self.elog_period)
        if due - self.elog_sent > self.FIFO_RECORDS:  # the host did not drain it in time:
            self.elog_sent = due - self.FIFO_RECORDS  # the oldest records are gone
            self.device.error_response("query_error")
        n = min(due - self.elog_sent, int(max_records))
        starts = (self.elog_sent + np.arange(n)) * self.elog_period
        columns = []
        if self.elog_functions["CURR"]:
            avg = period_means(self.current_fn, starts, self.elog_period)
            columns.append(avg)
            if self.elog_functions["CURR:MINM"]:
                columns += [avg, avg]  # a flat load within each period
        if self.elog_functions["VOLT"]:
            columns.append(np.full(n, self.voltage))
            if self.elog_functions["VOLT:MINM"]:
                columns += [np.full(n, self.voltage)] * 2
        records = np.column_stack(columns) if n else np.empty((0, len(columns)))
        self.elog_sent += n
        self.elog_records.append(records.astype(np.float32))
        return self._encode(records.ravel())


class Keithley2450(TimedReadings):
    """2450/2460 SourceMeter running the SimpleLoop trigger template into defbuffer1."""

    handlers = [
        (r':TRIG:LOAD "SimpleLoop",(\d+),([0-9.eE+-]+),"defbuffer1"', "load_loop"),
        (r":SENS:CURR:NPLC ([0-9.eE+-]+)", "set_nplc"),
        (r":INIT", "begin"),
        (r':TRAC:ACT\? "defbuffer1"', "actual"),
        (r':TRAC:DATA\? (\d+),(\d+),"defbuffer1",READ,REL,SOUR', "data"),
        (r":ABOR", "end"),
    ]
    LINE_HZ = 50.0

    def __init__(self, device):
        super().__init__(device)
        self.count, self.delay, self.nplc = 0, 0.0, 1.0

    @property
    def interval(self):
        return self.delay + self.nplc / self.LINE_HZ

    def load_loop(self, count, delay):
        self.count, self.delay = int(count), float(delay)

    def set_nplc(self, nplc):
        self.nplc = float(nplc)

    def actual(self):
        return str(self.taken(self.count)).encode()

    def data(self, first, last):
        first, last = int(first), int(last)
        if not 1 <= first <= last <= self.taken(self.count):
            return b'-222,"Data out of range"'
        rel = (np.arange(first, last + 1) - 1) * self.interval
        triples = np.column_stack([self.current_fn(rel), rel, np.full(rel.size, self.voltage)])
        return ascii_csv(triples.ravel())


class Keithley2280S(TimedReadings):
    """2280S concurrent V+I measurement into a 2500-reading buffer (fills, then stops)."""

    handlers = [
        (r":SENS:CONC:NPLC ([0-9.eE+-]+)", "set_nplc"),
        (r":INIT:CONT (ON|OFF)", "run"),
        (r":TRAC:POIN:ACT\?", "actual"),
        (r':TRAC:DATA:SEL\? (\d+),(\d+),"READ,SOUR,REL"', "data"),
    ]
    CAPACITY = 2500
    LINE_HZ = 50.0

    def __init__(self, device):
        super().__init__(device)
        self.nplc = 1.0

    @property
    def interval(self):
        return self.nplc / self.LINE_HZ

    def set_nplc(self, nplc):
        self.nplc = float(nplc)

    def run(self, state):
        self.begin() if state == "ON" else self.end()

    def actual(self):
        return str(self.taken(self.CAPACITY)).encode()

    def data(self, first, last):
        first, last = int(first), int(last)
        if not 0 <= first <= last < self.taken(self.CAPACITY) or last - first >= 100:
            return b'-222,"Data out of range"'
        rel = np.arange(first, last + 1) * self.interval
        triples = np.column_stack([self.current_fn(rel), np.full(rel.size, self.voltage), rel])
        return ascii_csv(triples.ravel())


class NGM200(SimInstrument):
    """R&S NGM20x FastLog to SCPI: little-endian float32 (V, I) pairs in binary blocks,
    data-ready flagged in STAT:OPER:INST:ISUM1 bit 12."""

    handlers = [
        (r"FLOG:SRAT (S500K|S250K|S050K|S010K|S001K|S100)", "set_rate"),
        (r"FLOG:STAT (0|1)", "run"),
        (r"STAT:OPER:INST:ISUM1:EVEN\?", "event"),
        (r"FLOG:DATA\?", "data"),
    ]
    RATES = {"S500K": 500e3, "S250K": 250e3, "S050K": 50e3, "S010K": 10e3, "S001K": 1e3,
             "S100": 100.0}
    BLOCK = 20_000  # pairs per FLOG:DATA? answer, at most

    def __init__(self, device):
        super().__init__(device)
        self.rate = 500e3
        self.started: float | None = None
        self.sent = 0

    def set_rate(self, name):
        self.rate = self.RATES[name]

    def run(self, state):
        self.started, self.sent = (time.monotonic(), 0) if state == "1" else (None, self.sent)

    def _available(self) -> int:
        return int(self.elapsed(self.started) * self.rate) - self.sent

    def event(self):
        return b"4096" if self.started is not None and self._available() > 0 else b"0"

    def data(self):
        n = max(0, min(self._available(), self.BLOCK))
        t = (self.sent + np.arange(n)) / self.rate
        pairs = np.column_stack([np.full(n, self.voltage), self.current_fn(t)]).astype("<f4")
        self.sent += n
        return ieee_block(pairs.tobytes())


class HMC8015(SimInstrument):
    """R&S HMC8015 power analyser: ASCII CSV of the function list URMS, IRMS, P, each an
    average over the last update interval."""

    handlers = [(r"CHAN1:MEAS:DATA\?", "data")]
    UPDATE_S = 0.1

    def __init__(self, device):
        super().__init__(device)
        self.origin = time.monotonic()

    def data(self):
        end = np.floor(self.elapsed(self.origin) / self.UPDATE_S) * self.UPDATE_S
        irms = period_means(self.current_fn, np.array([end - self.UPDATE_S]), self.UPDATE_S)[0]
        return ascii_csv([self.voltage, irms, self.voltage * irms])


class TruevoltDMM(TimedReadings):
    """Keysight 34465A timed sampling; ``R?`` reads and erases memory as a definite-length
    block of ASCII readings."""

    handlers = [
        (r"SAMP:TIM ([0-9.eE+-]+)", "set_interval"),
        (r"SAMP:COUN (\d+)", "set_count"),
        (r"INIT", "init"),
        (r"R\?", "read_erase"),
        (r"ABOR", "end"),
    ]

    def __init__(self, device):
        super().__init__(device)
        self.count, self.taken_out = 1, 0

    def set_interval(self, value):
        self.interval = float(value)

    def set_count(self, n):
        self.count = int(n)

    def init(self):
        self.begin()
        self.taken_out = 0

    def read_erase(self):
        taken = self.taken(self.count)
        t = np.arange(self.taken_out, taken) * self.interval
        self.taken_out = taken
        return ieee_block(ascii_csv(self.current_fn(t)))


MODELS = {"N6705": N6705, "K2450": Keithley2450, "K2280S": Keithley2280S, "NGM202": NGM200,
          "HMC8015": HMC8015, "DMM34465A": TruevoltDMM}
