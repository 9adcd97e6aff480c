"""Single-core microcontrollers (Cortex-M, and the ISA-only RV32IMC / Cortex-M4 QEMU profiles).

Cycles = the kernel's instruction mix (portable C or CMSIS-NN) x the profile's cycles per class,
plus flash wait states on weights streamed from flash. ISA-only profiles cost every class 1, so
their cycles are predicted instruction counts (compared with QEMU by emulators/grounding.py).
"""
from __future__ import annotations

from dataclasses import replace

from edgert.errors import InputError, ModelError
from edgert.runtime.ir import CONST

from .core import DeviceModel, options, register
from .kernels_c import activity_mix, native_mix, reference_mix
from .kernels_cmsis import kernel_mix_cmsis
from .mix import CycleTables, cycles
from .report import NodeCost

# native: our C kernels (native/src, what the edgert firmware runs), grounded on QEMU;
# reference: TFLite Micro's reference kernel loops; cmsis-nn: Arm's SIMD kernels.
KERNELS = {"native": native_mix, "reference": reference_mix, "cmsis-nn": kernel_mix_cmsis}


@register("mcu")
class McuModel(DeviceModel):
    OPTIONS = {"kernels": "native", "freq_hz": None, "operating_point": None, "weights": None}
    USES_EVENTS = True

    def __init__(self, profile, model, works, **config):
        super().__init__(profile, model, works)
        cfg = options(profile.name, config, self.OPTIONS)
        units = profile.value("units")
        if len(units) != 1:
            raise ModelError(f"{profile.name}: the mcu cost model needs exactly one compute unit, found {list(units)}")
        (self.unit, unit), = units.items()
        self.isa = unit["isa"]
        features = unit.get("features", {})
        if cfg["kernels"] not in KERNELS:
            raise InputError(f"kernels must be one of {tuple(KERNELS)}, got {cfg['kernels']!r}")
        if cfg["kernels"] == "cmsis-nn" and not (features.get("dsp_simd") and self.isa == "armv7e-m"):
            raise InputError(f"{profile.name}: cmsis-nn kernels need an Armv7E-M core with the DSP extension")
        self.op = profile.operating_point(unit["clock"], cfg["freq_hz"], cfg["operating_point"])
        self.freq = cfg["freq_hz"] or self.op.clocks_hz[unit["clock"]]
        self.tables = CycleTables(profile, features)
        self.features = features
        self.kernels = cfg["kernels"]
        self.wait_states = self.op.fields.get("flash_wait_states", 0)
        self._place(cfg["weights"])
        self.config = {"kernels": self.kernels, "freq_hz": self.freq, "operating_point": self.op.name,
                       "weights": self.weight_level}

    def _place(self, weights):
        levels = {m.kind: m for m in reversed(self.profile.memory)}  # nearest level of each kind
        ram, flash = levels.get("sram"), levels.get("flash")
        if weights not in (None, "flash", "sram"):
            raise InputError(f"weights must be 'flash' or 'sram', got {weights!r}")
        weights = weights or ("flash" if flash else "sram")
        if weights == "flash" and flash is None:
            raise InputError(f"{self.profile.name} has no flash level; use weights='sram'")
        self.ram, self.flash = ram, flash
        self.weight_level = (flash if weights == "flash" else ram).name
        weight_bytes, arena = self.model.weight_bytes, self.model.arena_size
        in_ram = arena + (weight_bytes if weights == "sram" else 0)
        if in_ram > ram.size_bytes:
            raise ModelError(f"does not fit {self.profile.name}: {in_ram} B of activations"
                             f"{' and weights' if weights == 'sram' else ''} > {ram.size_bytes} B {ram.name}")
        if weights == "flash" and weight_bytes > flash.size_bytes:
            raise ModelError(f"does not fit {self.profile.name}: {weight_bytes} B weights > {flash.size_bytes} B {flash.name}")
        self.peak_bytes = {ram.name: in_ram}
        if flash is not None:
            self.peak_bytes[flash.name] = weight_bytes if weights == "flash" else 0
        if flash is not None and self.wait_states:
            self.flash_line_bytes = self.profile.value(("memory", flash.name, "line_bytes"))
            self.note("instruction fetch assumed hidden by the flash accelerator (small kernel loops)")
        else:
            self.note("no memory wait states modelled")

    def node_cost(self, index, activity, events=None):
        work = self.works[index] if events is None else replace(self.works[index], events=events)
        node = self.model.graph.nodes[index]
        m = KERNELS[self.kernels](work, self.isa, bool(self.features.get("fpu_double" if work.double else "fpu")))
        counted, unknown = activity_mix(activity, work.float_math)
        m = m.plus(counted)  # data-dependent work on top of the shape-based part
        for name in unknown:
            self.note(f"activity counter {name!r} of {node.op} has no cost entry; not costed")
        compute = cycles(m, self.tables(work.double))
        flash_stall = 0.0
        if self.wait_states and self.flash is not None and self.weight_level == self.flash.name and work.weight_bytes:
            # every weight byte streamed from flash shares a line refill of `wait_states` cycles
            streamed = max(work.valid_terms * (4 if work.float_math else 1), work.weight_bytes)
            flash_stall = streamed * self.wait_states / self.flash_line_bytes
        total = compute + flash_stall
        latency = total / self.freq
        return NodeCost(node.name, node.op, self.unit, total, latency, self._energy(latency), work.macs,
                        work.in_bytes + work.weight_bytes + work.out_bytes, self._placement(node),
                        {"instructions": m.instructions, "compute_cycles": compute, "flash_stall_cycles": flash_stall})

    def _energy(self, latency):
        power = self.op.power_w
        if not power:
            return None
        scale = self.freq / self.op.clocks_hz[self.profile.value(f"units.{self.unit}.clock")]
        return (power["active_per_core"][self.unit] * scale + power.get("soc_idle", 0.0)) * latency

    def _placement(self, node):
        tensors = self.model.graph.tensors
        return {tensors[i].name: (self.weight_level if tensors[i].storage == CONST else self.ram.name)
                for i in node.inputs + node.outputs if i >= 0}
