"""Nordic PPK2 driver over its USB CDC serial port (pyserial)."""

from __future__ import annotations

import time

import serial

from edgert.errors import MeterError

from . import ppk2_protocol as p
from .base import Meter
from .serial_port import open_port, read_available
from .trace import Trace


class PPK2(Meter):
    """Source-meter mode supplies the board (800-5000 mV); ampere mode measures a board
    powered elsewhere at ``supply_voltage``. Samples are fixed at 100 kS/s."""

    kind = "ppk2"

    def __init__(self, port: str, mode: str = "source", timestamp_bit: int | None = None,
                 metadata_timeout: float = 2.0):
        """``port``: a path or pyserial URL; empty = the one PPK2 plugged in.
        ``timestamp_bit``: the logic input (0-7) wired to the board's timestamp pin; its
        falling edges become the trace's edges (MLPerf Tiny convention)."""
        port = port or _the_only_ppk2()
        super().__init__(port)
        self.timestamp_bit = timestamp_bit
        if mode not in ("source", "ampere"):
            raise ValueError(f"PPK2 mode must be 'source' or 'ampere', not {mode!r}")
        self.mode = mode
        # DEVICE_RUNNING_SET switches the DUT output: the source in source mode, the VIN->VOUT
        # path through the shunt in ampere mode. Either way close() switches it off again.
        self.can_supply = True
        self.ser = open_port(port, 115200, "PPK2")  # CDC ACM: the baud rate is ignored
        self._silence()
        self.calibration = self._read_metadata(metadata_timeout)
        self._decoder: p.SampleDecoder | None = None

    def _send(self, data: bytes):
        try:
            self.ser.write(data)
            self.ser.flush()
        except (serial.SerialException, OSError) as e:
            raise MeterError(f"PPK2 on {self.where}: write failed ({e})") from e

    def _silence(self) -> bytes:
        """Stop a stream a previous session may have left running (a kit keeps streaming
        after its program died), then collect what was still in flight until the port has
        been quiet for 0.1 s."""
        self._send(bytes([p.AVERAGE_STOP]))
        tail, quiet_since = b"", time.monotonic()
        while time.monotonic() - quiet_since < 0.1:
            chunk = read_available(self.ser)
            if chunk:
                tail, quiet_since = tail + chunk, time.monotonic()
        return tail

    def _read_metadata(self, timeout: float) -> p.Calibration:
        self._send(bytes([p.GET_META_DATA]))
        text, deadline = b"", time.monotonic() + timeout
        while b"END" not in text and time.monotonic() < deadline:
            text += self.ser.read(max(1, self.ser.in_waiting))
        if b"END" not in text:
            self.ser.close()
            raise MeterError(f"PPK2 on {self.where} sent no calibration metadata within "
                             f"{timeout} s (got {len(text)} bytes); is this a PPK2 port? "
                             "Unplug and replug the kit, then retry.")
        return p.Calibration.parse(text.decode("ascii", errors="replace"))

    def _configure(self, sample_rate, current_range, supply_voltage):
        if sample_rate not in (None, p.SAMPLE_RATE):
            raise MeterError(f"PPK2 samples at a fixed {p.SAMPLE_RATE} S/s, not {sample_rate}; "
                             "average the trace afterwards for a lower rate")
        if current_range is not None:
            raise MeterError("PPK2 ranges automatically; pass current_range=None")
        if supply_voltage is None:
            raise MeterError("PPK2 needs supply_voltage: the output voltage in source mode, "
                             "the board's supply in ampere mode (it enters the calibration)")
        mode = p.POWER_MODE_SOURCE if self.mode == "source" else p.POWER_MODE_AMPERE
        self._send(bytes([p.SET_POWER_MODE, mode]) + p.regulator_command(supply_voltage * 1000))
        return p.SAMPLE_RATE

    def _power(self, on: bool):
        self._send(bytes([p.DEVICE_RUNNING_SET, 1 if on else 0]))

    def _begin(self):
        if self.supply_voltage is None:
            raise MeterError("configure(supply_voltage=...) the PPK2 before start()")
        self._decoder = p.SampleDecoder(self.calibration, self.supply_voltage * 1000)
        self.ser.reset_input_buffer()
        self._send(bytes([p.AVERAGE_START]))

    def _poll(self) -> Trace | None:
        data = read_available(self.ser)
        return self._decode(data) if data else None

    def _decode(self, data: bytes) -> Trace | None:
        index, current, logic = self._decoder.feed(data)
        if not index.size:
            return None
        return Trace(index / p.SAMPLE_RATE, self.supply_voltage, current, logic)

    def _end(self) -> Trace | None:
        tail = self._silence()
        return self._decode(tail) if tail else None

    def _snapshot(self) -> Trace:
        trace = super()._snapshot()
        if self._decoder is not None:
            trace.meta["lost_samples"] = self._decoder.lost
        trace.meta["mode"] = self.mode
        return trace

    def _close(self):
        self.ser.close()



def is_ppk2_port(port) -> bool:
    """The discovery rule of IRNAS ppk2-api ``list_devices()``: product "PPK2" (Windows:
    description "nRF Connect USB CDC ACM..."), and of the kit's CDC interfaces the one whose
    USB location ends in "1" (when the OS reports a location)."""
    named = port.product == "PPK2" or (port.description or "").startswith(
        "nRF Connect USB CDC ACM")
    return named and (port.location is None or port.location.endswith("1"))


def find_ppk2_ports() -> list[str]:
    from serial.tools import list_ports
    return [p.device for p in list_ports.comports() if is_ppk2_port(p)]


def _the_only_ppk2() -> str:
    ports = find_ppk2_ports()
    if len(ports) != 1:
        raise MeterError(f"found {len(ports)} PPK2 kits {ports}; plug one in or name its port "
                         "(ppk2:/dev/ttyACM0)")
    return ports[0]
