"""Fake Jetson sysfs trees (INA3221 rails) for tests and demos, in either driver
generation, with the rail names of each module (docs/meters.md lists the sources).
Values are written atomically so a concurrent reader never sees a half-written file."""

from __future__ import annotations

import os
from pathlib import Path

#: module -> {i2c device: (rail names for channels 1..3)}; "NC" = not connected
MODULE_RAILS = {
    "nano": {"6-0040": ("POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU")},
    "xavier-nx": {"7-0040": ("VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC")},
    "agx-xavier": {"1-0040": ("GPU", "CPU", "SOC"), "1-0041": ("CV", "VDDRQ", "SYS5V")},
    "tx2": {"0-0040": ("VDD_SYS_GPU", "VDD_SYS_SOC", "VDD_4V0_WIFI"),
            "0-0041": ("VDD_IN", "VDD_SYS_CPU", "VDD_SYS_DDR")},
    "tx2-nx": {"0-0040": ("VDD_IN", "VDD_CPU_GPU", "VDD_SOC")},
    "orin-nano": {"1-0040": ("VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC")},
    "orin-nx": {"1-0040": ("VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC")},
    "agx-orin": {"1-0040": ("VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0"),
                 "1-0041": ("NC", "VDDQ_VDD2_1V8AO", "NC")},
}


def _write(path: Path, text: str):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text + "\n")
    os.replace(tmp, path)


class FakeJetsonSysfs:
    """``generation``: "hwmon" (JetPack 5/6) or "iio" (JetPack 4)."""

    def __init__(self, root, module: str = "orin-nano", generation: str = "hwmon",
                 hwmon_index: int = 3):
        if module not in MODULE_RAILS or generation not in ("hwmon", "iio"):
            raise ValueError(f"unknown module {module!r} or generation {generation!r}")
        self.root = Path(root)
        self.generation = generation
        self._files: dict[str, tuple[Path, int]] = {}  # rail -> (directory, channel)
        driver = "ina3221" if generation == "hwmon" else "ina3221x"
        for n, (device, names) in enumerate(MODULE_RAILS[module].items()):
            base = self.root / "sys/bus/i2c/drivers" / driver / device
            d = (base / "hwmon" / f"hwmon{hwmon_index + n}" if generation == "hwmon"
                 else base / f"iio:device{n}")
            d.mkdir(parents=True, exist_ok=True)
            for k, name in enumerate(names):
                ch = k + 1 if generation == "hwmon" else k
                _write(d / (f"in{ch}_label" if generation == "hwmon" else f"rail_name_{ch}"),
                       name)
                self._files[name] = (d, ch)
                self.set(name, 5000.0, 0.0)

    def set(self, rail: str, millivolts: float, milliamps: float):
        d, ch = self._files[rail]
        if self.generation == "hwmon":
            _write(d / f"in{ch}_input", str(int(round(millivolts))))
            _write(d / f"curr{ch}_input", str(int(round(milliamps))))
        else:
            _write(d / f"in_voltage{ch}_input", str(int(round(millivolts))))
            _write(d / f"in_current{ch}_input", str(int(round(milliamps))))
            _write(d / f"in_power{ch}_input", str(int(round(millivolts * milliamps / 1e3))))
