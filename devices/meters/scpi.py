"""SCPI instruments over VISA: opening, identification by ``*IDN?``, and the shared
plumbing (errors checked with ``SYST:ERR?``, VISA failures turned into MeterError)."""

from __future__ import annotations

import re
import time

import numpy as np

from edgert.errors import MeterError

from .base import Meter


class ScpiMeter(Meter):
    """Base of the SCPI drivers. ``idn_pattern`` matches the model field of ``*IDN?``."""

    idn_pattern: re.Pattern = re.compile(r"(?!)")
    #: commands sent once the session opens (remote mode, clear status)
    open_commands: tuple[str, ...] = ("*CLS",)
    #: seconds between polls of a buffer that had nothing new
    poll_interval = 0.02

    def __init__(self, instrument, idn: str):
        super().__init__(instrument.resource_name)
        self.inst = instrument
        self.idn = idn
        for cmd in self.open_commands:
            self.write(cmd)

    # ---- transport --------------------------------------------------------------------

    def _visa(self, action, *args, **kwargs):
        import pyvisa

        try:
            return action(*args, **kwargs)
        except pyvisa.errors.VisaIOError as e:
            raise MeterError(f"VISA error talking to {self.idn.split(',')[1].strip()} at "
                             f"{self.where}: {e.abbreviation} ({e.description})") from e

    def write(self, command: str):
        self._visa(self.inst.write, command)

    def query(self, command: str) -> str:
        return self._visa(self.inst.query, command).strip()

    def query_floats(self, command: str) -> np.ndarray:
        return self._visa(self.inst.query_ascii_values, command, container=np.array)

    def query_block(self, command: str, big_endian: bool) -> np.ndarray:
        """float32 IEEE 488.2 definite-length block."""
        return self._visa(self.inst.query_binary_values, command, datatype="f",
                          is_big_endian=big_endian, container=np.array)

    def check_errors(self, after: str):
        """Drain ``SYST:ERR?``; any entry means a command was refused."""
        errors = []
        for _ in range(32):
            reply = self.query("SYST:ERR?")
            if re.match(r"[+]?0\b", reply):
                break
            errors.append(reply)
        if errors:
            raise MeterError(f"{self.idn.split(',')[1].strip()} at {self.where} refused commands "
                             f"during {after}: {'; '.join(errors)}")

    def wait(self):
        time.sleep(self.poll_interval)

    def configure_commands(self, commands, what: str):
        for cmd in commands:
            self.write(cmd)
        self.check_errors(what)

    def _close(self):
        self._visa(self.inst.close)


def _drivers():
    from .dmm import TruevoltDMM
    from .keithley import Keithley2280S, Keithley2450
    from .keysight import N6705
    from .rohde import HMC8015, NGM200
    return (N6705, Keithley2280S, Keithley2450, NGM200, HMC8015, TruevoltDMM)


def driver_for(idn: str):
    fields = [f.strip() for f in idn.split(",")]
    if len(fields) < 2:
        raise MeterError(f"*IDN? reply {idn!r} is not 'maker,model,serial,firmware'")
    for cls in _drivers():
        if cls.idn_pattern.search(fields[1]):
            return cls
    raise MeterError(f"no edgert driver for the instrument {fields[0]} {fields[1]}; supported: "
                     "Keysight N6705B/C, Keithley 2280S/2450/2460/2461, R&S NGM20x/HMC8015, "
                     "Keysight/Agilent 3446xA/34410A DMMs")


def make_resource_manager(backend: str | None):
    """pyvisa ResourceManager; ``@sim`` gives edgert's simulated instruments (pyvisa-sim
    definitions plus byte-level models for the stateful exchanges)."""
    import pyvisa

    if backend is not None and backend.endswith("@sim"):
        try:
            import pyvisa_sim  # noqa: F401 - only the simulated backend needs it
        except ImportError as e:
            raise MeterError("simulated instruments need pyvisa-sim: "
                             "pip install 'edgert[test]' (or pyvisa-sim)") from e
    if backend == "@sim":
        from .sim.visa import simulated_visa
        return pyvisa.ResourceManager(simulated_visa())
    return pyvisa.ResourceManager(backend or "")


def open_visa(resource: str, backend: str | None = None, resource_manager=None,
              timeout_ms: int = 5000, **options) -> ScpiMeter:
    import pyvisa

    rm = resource_manager or make_resource_manager(backend)
    try:
        inst = rm.open_resource(resource, read_termination="\n", write_termination="\n",
                                timeout=timeout_ms)
        idn = inst.query("*IDN?").strip()
    except (pyvisa.errors.VisaIOError, ValueError) as e:
        raise MeterError(f"cannot reach a VISA instrument at {resource!r} ({e}); check the "
                         "address, cable/network and that the instrument is in SCPI mode") from e
    return driver_for(idn)(inst, idn, **options)
