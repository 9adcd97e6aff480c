"""pyserial helpers shared by the serial-port meters (PPK2, INA bridge)."""

from __future__ import annotations

import serial

from edgert.errors import MeterError


def open_port(url: str, baudrate: int, what: str) -> serial.Serial:
    """Open a port by path or pyserial URL; a failure says which meter and what to check."""
    try:
        return serial.serial_for_url(url, baudrate=baudrate, timeout=0.05)
    except (serial.SerialException, OSError) as e:
        raise MeterError(f"cannot open {what} port {url!r} ({e}); check the USB cable and that "
                         "no other program holds the port") from e


def read_available(ser: serial.Serial) -> bytes:
    """Everything waiting (blocking up to the port timeout for the first byte), in as few
    large reads as possible: decoding cost is per call. A vanished port is a MeterError."""
    try:
        data = ser.read(max(1, ser.in_waiting))
        while ser.in_waiting:
            data += ser.read(ser.in_waiting)
    except (serial.SerialException, OSError, TypeError) as e:
        raise MeterError(f"serial port closed: {e}") from e
    return data
