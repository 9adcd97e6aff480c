"""The one interface every power meter driver implements.

Life cycle: ``configure`` -> ``start`` -> (inferences run; ``mark`` windows) -> ``stop``
returns a :class:`Trace` -> ``close``. Used as a context manager, the meter always stops
acquiring and powers down what it powered up, even when the body raised.

Drivers fill in a few hooks; the base class runs acquisition on a background thread (a
PPK2 streams 400 kB/s, which a foreground poll would not keep up with), keeps every chunk
it received, and when the instrument fails mid-run raises :class:`MeterError` carrying the
partial trace, which is also written to disk so nothing measured is lost.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import threading
import time
from pathlib import Path

from edgert.errors import MeterError

from .sync import logic_edges
from .trace import Trace

_partial_counter = itertools.count()


class Meter:
    kind = "meter"
    #: True where the meter can supply the board (source mode); configure(supply_voltage=...)
    #: then switches the output on, and close() switches it off again.
    can_supply = False

    def __init__(self, where: str):
        self.where = where  # port / resource / path, for messages
        self.sample_rate: float | None = None
        self.supply_voltage: float | None = None
        self.powered = False
        self.host_t0: float | None = None  # host monotonic time of meter time 0
        #: logic input wired to the board's timestamp pin (MLPerf Tiny style); its falling
        #: edges become trace edges. Only meters that record logic inputs use it.
        self.timestamp_bit: int | None = None
        self.partial_dir = Path(tempfile.gettempdir())
        self._chunks: list[Trace] = []
        self._windows: list[tuple[float, float]] = []
        self._edges: list[float] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._running = threading.Event()
        self._failure: BaseException | None = None

    # ---- driver hooks -------------------------------------------------------------

    def _configure(self, sample_rate, current_range, supply_voltage):
        """Send configuration; return the sample rate actually used (S/s) or None."""
        raise NotImplementedError

    def _power(self, on: bool):
        raise MeterError(f"{self.kind} on {self.where} cannot supply the board; "
                         "power it separately and give only the expected supply voltage")

    def _begin(self):
        """Start acquisition on the instrument."""
        raise NotImplementedError

    def _poll(self) -> Trace | None:
        """Fetch what the instrument has (times in meter seconds); may block briefly."""
        raise NotImplementedError

    def _end(self) -> Trace | None:
        """Stop acquisition; return any last samples."""
        raise NotImplementedError

    def _close(self):
        """Release the transport."""

    # ---- public interface -----------------------------------------------------------

    def configure(self, sample_rate: float | None = None, current_range: float | None = None,
                  supply_voltage: float | None = None) -> Meter:
        """Set the sample rate (S/s), current range (A, None = auto) and, where the meter
        supplies the board, its voltage (V), switching the supply on."""
        self.sample_rate = self._configure(sample_rate, current_range, supply_voltage)
        if supply_voltage is not None:
            self.supply_voltage = supply_voltage
            if self.can_supply:
                self._power(True)
                self.powered = True
        return self

    def start(self):
        if self._running.is_set():
            raise MeterError(f"{self.kind} on {self.where} is already acquiring")
        self._chunks, self._windows, self._edges, self._failure = [], [], [], None
        self._begin()
        self.host_t0 = time.monotonic()
        self._running.set()
        self._thread = threading.Thread(target=self._acquire, name=f"{self.kind}-acquire",
                                        daemon=True)
        self._thread.start()

    def _acquire(self):
        try:
            while self._running.is_set():
                chunk = self._poll()
                if chunk is not None and len(chunk):
                    with self._lock:
                        self._chunks.append(chunk)
        except BaseException as e:  # noqa: BLE001 - reported to the caller by stop()/read()
            self._failure = e
            self._running.clear()

    def meter_time(self, host_time: float) -> float:
        """Map a host ``time.monotonic()`` value onto the meter time base (host-clock
        alignment: uncertain by the USB/VISA latency of the start command, ~1 ms)."""
        if self.host_t0 is None:
            raise MeterError(f"{self.kind} on {self.where}: start() the meter before marking")
        return host_time - self.host_t0

    def _on_meter_clock(self, t: float, clock: str) -> float:
        if clock == "host":
            return self.meter_time(t)
        if clock != "meter":
            raise ValueError(f"clock must be 'meter' or 'host', not {clock!r}")
        return float(t)

    def mark(self, t_start: float, t_end: float, clock: str = "meter"):
        """Record an inference window, in meter seconds or (``clock="host"``) host
        monotonic seconds."""
        window = (self._on_meter_clock(t_start, clock), self._on_meter_clock(t_end, clock))
        with self._lock:
            self._windows.append(window)

    def mark_edge(self, t: float, clock: str = "meter"):
        t = self._on_meter_clock(t, clock)
        with self._lock:
            self._edges.append(t)

    def read(self) -> Trace:
        """Everything acquired so far (acquisition continues)."""
        if self._failure is not None:
            raise self._fail(self._failure)
        return self._snapshot()

    def stop(self) -> Trace:
        """Stop acquiring and return the whole trace."""
        if self._thread is None:
            raise MeterError(f"{self.kind} on {self.where}: stop() called before start()")
        self._running.clear()
        self._thread.join()
        self._thread = None
        if self._failure is not None:
            raise self._fail(self._failure)
        try:
            last = self._end()
        except Exception as e:
            raise self._fail(e) from e
        if last is not None and len(last):
            self._chunks.append(last)
        return self._snapshot()

    @property
    def acquiring(self) -> bool:
        return self._thread is not None

    def power_off(self):
        if self.powered:
            self.powered = False
            self._power(False)

    def close(self):
        """Stop acquiring, power down what configure() powered up, release the port. Every
        step runs even if an earlier one fails; a failure is raised only if the meter had
        not already failed (an unplugged meter cannot be switched off)."""
        first = None
        for step in (self._halt, self.power_off, self._close):
            try:
                step()
            except Exception as e:  # noqa: BLE001 - keep going, report the first below
                first = first or e
        if first is not None and self._failure is None:
            raise first

    def _halt(self):
        if self._thread is not None:
            self._running.clear()
            self._thread.join()
            self._thread = None
            if self._failure is None:
                self._end()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # ---- helpers --------------------------------------------------------------------

    def _snapshot(self) -> Trace:
        with self._lock:
            chunks, windows, edges = list(self._chunks), list(self._windows), list(self._edges)
        trace = Trace.concat(chunks, meter=self.kind, where=self.where,
                             sample_rate=self.sample_rate, supply_voltage=self.supply_voltage)
        trace.windows = sorted(trace.windows + windows)
        if self.timestamp_bit is not None and trace.logic is not None and len(trace):
            edges += list(logic_edges(trace.t, trace.logic, self.timestamp_bit, falling=True))
        trace.edges = sorted(trace.edges + edges)
        return trace

    def save_partial(self, trace: Trace) -> Path:
        """Write what was measured before a failure to ``partial_dir``."""
        path = self.partial_dir / (f"edgert-partial-{self.kind}-{os.getpid()}-"
                                   f"{next(_partial_counter)}.npz")
        return trace.save(path)

    def _fail(self, cause: BaseException) -> MeterError:
        """Turn an instrument failure into a MeterError that keeps what was measured."""
        partial = self._snapshot()
        try:
            kept = f"kept in {self.save_partial(partial)} and in the error's .partial"
        except OSError as e:
            kept = f"kept in the error's .partial (could not write it: {e})"
        if isinstance(cause, MeterError):
            cause = cause.args[0]
        after = f"{partial.t[-1]:.3f} s" if len(partial) else "0 s"
        return MeterError(
            f"{self.kind} on {self.where} failed after {after} of acquisition ({cause}). "
            f"{len(partial)} samples, {len(partial.windows)} windows and "
            f"{len(partial.edges)} edges {kept}; check the cable/connection and rerun.",
            partial=partial)
