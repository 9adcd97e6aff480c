"""Power meters: one interface, drivers speaking each instrument's real protocol.

``open_meter(spec)`` accepts:

=========================================  ==============================================
``ppk2:/dev/ttyACM0[?mode=ampere]``        Nordic PPK2 (source mode by default)
``visa:TCPIP::192.168.0.5::INSTR``         SCPI instrument, driver chosen by ``*IDN?``
``visa:USB0::...::INSTR@sim``              the same against edgert's simulated instruments
``visa:RESOURCE@file.yaml@sim``            the same against a pyvisa-sim YAML definition
``jetson:[/sysfs/root]``                   Jetson INA3221 rails through sysfs/hwmon
``ina:/dev/ttyUSB0``                       INA219/INA226 serial bridge (edgert firmware)
``joulescope:[serial]``                    Joulescope JS110/JS220 (optional extra)
``sim:[?active_w=0.05&idle_w=0.005]``      simulated PPK2 following reported activity
=========================================  ==============================================
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from edgert.errors import MeterError

from .base import Meter
from .measure import MeasureResult, Windows, measure_energy
from .simulated import SimulatedPPK2
from .sync import ClockMap
from .trace import Trace

__all__ = ["Meter", "Trace", "MeterError", "MeasureResult", "Windows", "ClockMap",
           "SimulatedPPK2", "measure_energy", "open_meter"]


def _ppk2(where, **options):
    from .ppk2 import PPK2
    return PPK2(where, **options)


def _visa(where, **options):
    from .scpi import open_visa
    resource, _, backend = where.partition("@")  # "sim", "py", "defs.yaml@sim", ...
    if backend and "@" not in backend:
        backend = "@" + backend
    return open_visa(resource, backend=backend or None, **options)


def _jetson(where, **options):
    from .jetson import JetsonMeter
    return JetsonMeter(where or "/", **options)


def _ina(where, **options):
    from .ina import INABridge
    return INABridge(where, **options)


def _joulescope(where, **options):
    from .joulescope import Joulescope
    return Joulescope(where or None, **options)


def _sim(where, **options):
    if where not in ("", "ppk2"):
        raise MeterError(f"unknown simulated meter {where!r}: use sim: or sim:ppk2")
    names = {"active_w": "active_power_w", "idle_w": "idle_power_w", "v": "voltage"}
    return SimulatedPPK2(**{names.get(k, k): v for k, v in options.items()})


_SCHEMES = {"ppk2": _ppk2, "visa": _visa, "jetson": _jetson, "ina": _ina,
            "joulescope": _joulescope, "sim": _sim}


def open_meter(spec: str, **options) -> Meter:
    """Open a meter from a spec such as ``ppk2:/dev/ttyACM0``; ``?key=value`` pairs after
    the address and keyword arguments become driver options."""
    scheme, sep, rest = spec.partition(":")
    if not sep or scheme not in _SCHEMES:
        raise MeterError(f"unknown meter spec {spec!r}: expected one of "
                         + ", ".join(f"{s}:..." for s in _SCHEMES))
    where, _, query = rest.partition("?")
    for key, value in parse_qsl(query, strict_parsing=bool(query)):
        options.setdefault(key, _number(value))
    return _SCHEMES[scheme](where, **options)


def _number(text: str):
    try:
        return float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        return text
