"""Measured energy per inference: a board runs the model while a power meter records.

As in MLPerf Tiny's energy mode, each run of back-to-back inferences is bracketed by timestamp
edges (the simulated PPK2 draws its active current inside the bracket and marks it on its logic
input; a real setup wires the board's timestamp GPIO there). Energy per inference is the
integral of V*I over the run divided by the inference count (devices/meters/measure.py), and
the median over repeated runs is reported. The emulator's estimate for the chosen device profile is shown beside it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgert.devices.meters import measure_energy, open_meter
from edgert.devices.meters.measure import MeasureResult
from edgert.devices.meters.simulated import SimulatedPPK2

# The device profile whose estimate is shown beside a board's measurement, by firmware port.
ESTIMATE_FOR_PORT = {"qemu-riscv32-virt": "gap8", "gapuino": "gap8",
                     "qemu-mps2-an386": "stm32l4r5", "nucleo-l4r5zi": "stm32l4r5"}


@dataclass
class Measurement:
    result: MeasureResult
    estimate: object | None  # emulators Report for the estimate device, or None
    board_port: str


def estimate(model, device: str, x):
    """The emulator's report for `device` on input x (outputs equal the host's)."""
    from edgert.emulators import emulate
    _, report = emulate(model, device, x)
    return report


def open_meter_for(spec: str, report):
    """Open the meter; a bare `sim:` draws the estimate's average power while busy."""
    if spec.split("?")[0] == "sim:" and report is not None and report.energy_j and "active_w" not in spec:
        return open_meter(spec, active_w=report.energy_j / report.latency_s)
    return open_meter(spec)


def run_measurement(board, meter, x, n: int, repeats: int = 3) -> MeasureResult:
    """Input once, then `repeats` runs of `n` bracketed invokes on the deployed model."""
    board.set_input(0, np.ascontiguousarray(x))
    simulated = isinstance(meter, SimulatedPPK2)
    if simulated:
        meter.configure(supply_voltage=meter.default_voltage)

    def run_inferences(count):
        # As MLPerf Tiny's energy mode: one timestamp edge pair around the whole run of
        # back-to-back inferences; energy per inference = run energy / count.
        if simulated:
            meter.activity.begin()
        for _ in range(count):
            board.invoke()
        if simulated:
            meter.activity.end()

    return measure_energy(meter, run_inferences, n, repeats=repeats)
