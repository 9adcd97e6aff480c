"""Joulescope JS110 / JS220 through the ``joulescope`` package (optional extra:
``pip install edgert[joulescope]``), imported only when this meter is opened.

Streams current, voltage and the current LSB, which carries GPI0 when
``current_lsb=gpi0`` (the board's timestamp pin, as MLPerf Tiny wires it).
"""

from __future__ import annotations

import time

import numpy as np

from edgert.errors import MeterError

from .base import Meter
from .trace import Trace


class Joulescope(Meter):
    kind = "joulescope"

    def __init__(self, serial_number: str | None = None, timestamp_pin: bool = True):
        try:
            import joulescope
        except ImportError as e:
            raise MeterError("the Joulescope driver needs the joulescope package: "
                             "pip install 'edgert[joulescope]'") from e
        super().__init__(f"joulescope {serial_number or '(first found)'}")
        devices = joulescope.scan(config="auto")
        if serial_number is not None:
            devices = [d for d in devices if serial_number in str(d)]
        if len(devices) != 1:
            raise MeterError(f"found {len(devices)} Joulescopes matching "
                             f"{serial_number or 'any'}; connect one or give its serial")
        self.js = devices[0]
        self.js.open()
        self.timestamp_bit = 0 if timestamp_pin else None
        if timestamp_pin:
            self.js.parameter_set("current_lsb", "gpi0")

    def _configure(self, sample_rate, current_range, supply_voltage):
        rate = int(sample_rate or 1_000_000)
        self.js.parameter_set("sampling_frequency", rate)
        self.js.parameter_set("i_range", "auto" if current_range is None else current_range)
        return rate

    def _begin(self):
        self.js.start()
        self._next = None

    def _poll(self) -> Trace | None:
        first, end = self.js.stream_buffer.sample_id_range
        start = first if self._next is None else max(self._next, first)
        if self._next is not None and start > self._next:
            raise MeterError(f"Joulescope stream buffer overran: {start - self._next} samples "
                             "lost; poll faster or raise buffer_duration")
        if end <= start:
            time.sleep(0.02)
            return None
        fields = ["current", "voltage", "current_lsb"]
        data = self.js.stream_buffer.samples_get(start, end, fields=fields)["signals"]
        self._next = end
        ids = np.arange(start, end)
        return Trace(ids / self.sample_rate, data["voltage"]["value"],
                     data["current"]["value"], data["current_lsb"]["value"].astype(np.uint8))

    def _end(self) -> Trace | None:
        last = self._poll()
        self.js.stop()
        return last

    def _close(self):
        self.js.close()
