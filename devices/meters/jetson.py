"""NVIDIA Jetson on-module INA3221 rails read through sysfs.

Two driver generations (see docs/meters.md for sources):
* JetPack 5/6, mainline ``ina3221`` hwmon:
  ``/sys/bus/i2c/drivers/ina3221/<bus>-<addr>/hwmon/hwmon<N>/in<k>_label``, ``in<k>_input``
  (mV), ``curr<k>_input`` (mA), k = 1..3. The hwmon index N changes between boots: globbed.
* JetPack 4, NVIDIA ``ina3221x`` IIO: ``/sys/bus/i2c/drivers/ina3221x/<bus>-<addr>/
  iio:device<N>/rail_name_<k>``, ``in_voltage<k>_input`` (mV), ``in_power<k>_input`` (mW),
  k = 0..2 (only the power file is relied on: tools disagree on the other two).

The trace holds the module power: a total rail where the module has one (``VDD_IN``,
``POM_5V_IN``), else the documented sum (AGX Orin), else the sum of all connected rails.
The trace voltage is the first summed rail's voltage and current = power / voltage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from edgert.errors import MeterError

from .base import Meter
from .trace import Trace

TOTAL_RAILS = ("VDD_IN", "POM_5V_IN")
#: AGX Orin has no input rail; VDDQ_VDD2_1V8AO is already inside VIN_SYS_5V0 (energymon)
SUMMED_TOTALS = (("VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0"),)


@dataclass(frozen=True)
class Rail:
    name: str
    voltage_file: Path  # mV
    current_file: Path | None  # mA (hwmon)
    power_file: Path | None  # mW (iio)

    def read(self) -> tuple[float, float]:
        """(volts, watts)."""
        mv = float(self.voltage_file.read_text())
        if self.power_file is not None:
            return mv / 1e3, float(self.power_file.read_text()) / 1e3
        return mv / 1e3, mv * float(self.current_file.read_text()) / 1e6


def discover_rails(root: Path) -> list[Rail]:
    rails = []
    i2c = root / "sys/bus/i2c/drivers"
    for hw in sorted(i2c.glob("ina3221/*/hwmon/hwmon*")):
        for k in (1, 2, 3):
            label = hw / f"in{k}_label"
            if label.exists() and label.read_text().strip() != "NC":
                rails.append(Rail(label.read_text().strip(), hw / f"in{k}_input",
                                  hw / f"curr{k}_input", None))
    for dev in sorted(i2c.glob("ina3221x/*/iio:device*")):
        for k in (0, 1, 2):
            name = dev / f"rail_name_{k}"
            if name.exists() and name.read_text().strip() != "NC":
                rails.append(Rail(name.read_text().strip(), dev / f"in_voltage{k}_input",
                                  None, dev / f"in_power{k}_input"))
    return rails


def module_total(rails: list[Rail]) -> list[Rail]:
    by_name = {r.name: r for r in rails}
    for name in TOTAL_RAILS:
        if name in by_name:
            return [by_name[name]]
    for names in SUMMED_TOTALS:
        if all(n in by_name for n in names):
            return [by_name[n] for n in names]
    return rails


class JetsonMeter(Meter):
    kind = "jetson"

    def __init__(self, root: str = "/", rails: list[str] | None = None):
        super().__init__(f"sysfs {root}")
        found = discover_rails(Path(root))
        if not found:
            raise MeterError(f"no INA3221 rails under {root}sys/bus/i2c/drivers/ina3221*; "
                             "is this a Jetson (the Nano 2GB has no INA3221)?")
        self.available = [r.name for r in found]
        if rails is None:
            self.rails = module_total(found)
        else:
            missing = set(rails) - set(self.available)
            if missing:
                raise MeterError(f"rails {sorted(missing)} not found; this module has "
                                 f"{self.available}")
            self.rails = [r for r in found if r.name in rails]
        self.interval = 0.01

    def _configure(self, sample_rate, current_range, supply_voltage):
        if current_range is not None:
            raise MeterError("INA3221 rails have fixed shunts: pass current_range=None")
        self.interval = 1.0 / (sample_rate or 100.0)
        return 1.0 / self.interval

    def _begin(self):
        self._next = time.monotonic()

    def _poll(self) -> Trace:
        time.sleep(max(0.0, self._next - time.monotonic()))
        self._next += self.interval
        try:
            readings = [r.read() for r in self.rails]
        except (OSError, ValueError) as e:
            raise MeterError(f"INA3221 sysfs read failed: {e}") from e
        volts = readings[0][0]
        watts = sum(w for _, w in readings)
        t = time.monotonic() - self.host_t0
        return Trace([t], volts, [watts / volts if volts else 0.0])

    def _end(self):
        return None

    def _snapshot(self) -> Trace:
        trace = super()._snapshot()
        trace.meta["rails"] = [r.name for r in self.rails]
        return trace
