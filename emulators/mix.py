"""Instruction mixes: how many instructions of each class a kernel executes, and their cycles.

A kernel model (kernels_*.py) says what the code does; the device profile's [timing] table says
what each class costs. Floating-point classes map to the FPU's timing when the unit has one and
to the soft-float routine's timing when it does not.
"""
from __future__ import annotations

from collections import Counter

CLASSES = ("alu", "mul", "mulh", "div", "load", "load_use_stall", "store", "branch", "branch_taken",
           "jump", "simd_mac", "flop", "fma", "fdiv", "fcmp", "fcvt", "fexp")
FLOAT_CLASSES = {"flop": "addmul", "fdiv": "div", "fcmp": "cmp", "fcvt": "cvt", "fexp": "exp"}


class Mix(Counter):
    """Instruction counts by class (floats allowed: averages over data-dependent paths)."""

    def scaled(self, factor: float) -> "Mix":
        return Mix({k: v * factor for k, v in self.items()})

    def plus(self, *others: "Mix") -> "Mix":
        out = Mix(self)
        for other in others:
            for k, v in other.items():
                out[k] += v
        return out

    @property
    def instructions(self) -> float:
        """Instructions executed (stalls are cycles, not instructions)."""
        return sum(v for k, v in self.items() if k != "load_use_stall")


def mix(**counts: float) -> Mix:
    unknown = set(counts) - set(CLASSES)
    if unknown:
        raise ValueError(f"unknown instruction classes {sorted(unknown)}")
    return Mix(counts)


def cycle_table(profile, has_fpu: bool, double: bool = False) -> dict[str, float]:
    """Cycles per class for a unit, from the profile's [timing] table. `has_fpu` says whether
    the unit's FPU handles the precision (`double`) at hand; without, floating point costs the
    soft-float (soft_float_*) or soft-double (soft_double_*) routine."""
    table = {}
    soft = "soft_double_" if double else "soft_float_"
    for cls in CLASSES:
        if cls == "fma":  # one fused instruction on an FPU, a multiply call and an add call in soft float
            continue
        if cls in FLOAT_CLASSES:
            prefix = "fp_" if has_fpu else soft
            table[cls] = float(profile.value(f"timing.{prefix}{FLOAT_CLASSES[cls]}"))
        else:
            table[cls] = float(profile.value(f"timing.{cls}"))
    table["fma"] = table["flop"] if has_fpu else 2 * table["flop"]
    return table


def cycles(m: Mix, table: dict[str, float]) -> float:
    return sum(v * table[k] for k, v in m.items())


class CycleTables:
    """Cycles per class of one compute unit, for single- and double-precision nodes (built on
    first use, so a profile needs soft-double timing only when a model computes in float64)."""

    def __init__(self, profile, features: dict):
        self.profile, self.features, self._tables = profile, features, {}

    def __call__(self, double: bool) -> dict[str, float]:
        if double not in self._tables:
            fpu = self.features.get("fpu_double" if double else "fpu", False)
            self._tables[double] = cycle_table(self.profile, bool(fpu), double)
        return self._tables[double]
