"""INA219 / INA226 current monitors streamed by the edgert serial bridge (pyserial)."""

from __future__ import annotations

import time

import numpy as np
import serial

from edgert.errors import MeterError

from .base import Meter
from .serial_port import open_port, read_available
from .ina_protocol import MIN_PERIOD_US, LineDecoder
from .trace import Trace


class INABridge(Meter):
    """The bridge measures a board powered elsewhere (it cannot supply it). Its pin input
    records the board's timestamp line; falling edges become trace edges."""

    kind = "ina"

    def __init__(self, port: str, baudrate: int = 921600, reply_timeout: float = 1.0,
                 timestamp_pin: bool = True):
        super().__init__(port)
        self.reply_timeout = reply_timeout
        self.timestamp_bit = 0 if timestamp_pin else None
        self.ser = open_port(port, baudrate, "INA bridge")
        self._decoder = LineDecoder()
        self._pending: list[np.ndarray] = []  # data rows read while waiting for a reply
        ident = self._command("ID?").split(",")
        if len(ident) != 4 or ident[0] != "EDGERT-INA" or ident[1] not in MIN_PERIOD_US:
            self.ser.close()
            raise MeterError(f"{port} answered ID? with {','.join(ident)!r}, not an edgert "
                             "INA bridge; flash firmware/bridge-ina or check the port")
        self.chip, self.firmware, self.shunt_mohm = ident[1], ident[2], float(ident[3])

    def _command(self, text: str) -> str:
        """Send one command; return its reply line (data lines still arriving are kept)."""
        try:
            self.ser.write(text.encode() + b"\n")
        except (serial.SerialException, OSError) as e:
            raise MeterError(f"INA bridge on {self.where}: write failed ({e})") from e
        deadline = time.monotonic() + self.reply_timeout
        while time.monotonic() < deadline:
            rows = self._decoder.feed(read_available(self.ser))
            if len(rows):
                self._pending.append(rows)
            if self._decoder.other:
                reply = self._decoder.other.pop(0)
                if reply.startswith("ERR"):
                    raise MeterError(f"INA bridge refused {text!r}: {reply}")
                return reply
        raise MeterError(f"INA bridge on {self.where} did not answer {text!r} within "
                         f"{self.reply_timeout} s")

    def _configure(self, sample_rate, current_range, supply_voltage):
        if current_range is not None:
            raise MeterError("the INA bridge range is set by its shunt resistor: "
                             "pass current_range=None")
        period_us = round(1e6 / (sample_rate or 1000.0))
        if period_us < MIN_PERIOD_US[self.chip]:
            raise MeterError(f"an {self.chip} bridge samples at most "
                             f"{1e6 / MIN_PERIOD_US[self.chip]:.0f} S/s, not {sample_rate:g}")
        self._command(f"CFG {period_us} 1")
        return 1e6 / period_us

    def _begin(self):
        self._pending = []
        self._command("START")

    def _take_pending(self) -> Trace | None:
        rows, self._pending = np.concatenate(self._pending or [np.empty((0, 4))]), []
        if not len(rows):
            return None
        return Trace(rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3].astype(np.uint8))

    def _poll(self) -> Trace | None:
        self._pending.append(self._decoder.feed(read_available(self.ser)))
        return self._take_pending()

    def _end(self) -> Trace | None:
        self._command("STOP")
        return self._take_pending()

    def _snapshot(self) -> Trace:
        trace = super()._snapshot()
        trace.meta.update(chip=self.chip, lost_samples=self._decoder.lost)
        return trace

    def _close(self):
        self.ser.close()
