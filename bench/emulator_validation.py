"""Silicon plausibility: the emulators against published figures, with the error per case.

    .venv/bin/python bench/emulator_validation.py

Each published figure is cited in the table; the emulator runs the same model (or the closest
one we have, said in the case name). Misses are printed as they are.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import edgert
from edgert import table
from edgert.devices.profiles import load_profile
from edgert.emulators import Emulator
from edgert.emulators.kernels_c import native_mix
from edgert.emulators.kernels_pulpnn import kernel_split
from edgert.emulators.mix import cycle_table, cycles
from edgert.emulators.workload import conv2d_work

MODELS = Path(__file__).resolve().parents[1] / "models" / "mlperf_tiny"
TINY = "mlcommons/tiny_results_v0.5 closed/reference/results/Nucleo-L4R5ZI"


def report(name: str, device: str, **config):
    model = edgert.compile(MODELS / f"{name}.tflite")
    spec = model.graph.tensors[model.graph.inputs[0]]
    x = np.zeros(spec.shape, spec.dtype)
    return Emulator(model, device, backend="numpy", **config).run(x)[1]


def main() -> None:
    rows = []

    def case(what, source, published, emulated, unit):
        rows.append([what, source, published, emulated, unit, f"{100 * (emulated - published) / published:+.0f}%"])

    for name, label, ms in [("kws_ref_model", "KWS", 1000 / 5.497), ("vww_96_int8", "VWW", 1000 / 1.665),
                            ("pretrainedResnet_quant", "IC", 1000 / 1.420), ("ad01_int8", "AD", 1000 / 99.487)]:
        r = report(name, "stm32l4r5", kernels="reference")
        task = {"KWS": "kws", "VWW": "vww", "IC": "ic", "AD": "ad"}[label]
        case(f"{label} latency, STM32L4R5 120 MHz, TFLM reference kernels", f"{TINY}/{task}/performance/results.txt",
             ms, r.latency_s * 1e3, "ms")
    r = report("kws_ref_model", "stm32l4r5", kernels="reference")
    case("KWS energy per inference, STM32L4R5 (1.8 V DUT supply)", f"{TINY}/kws/energy/results.txt",
         7373.7, r.energy_j * 1e6, "uJ")

    gap8 = load_profile("gap8")
    work = conv2d_work(16, 16, 64, 64, 3)  # large enough for PULP-NN's peak
    split = kernel_split(work)
    per_core = cycles(split.per_unit, cycle_table(gap8, False)) * (work.rows // 8)
    case("peak int8 conv MAC/cycle, 8 cores (3x3, 64->64 on 16x16, compute only)",
         "Garofalo et al. 2020, PULP-NN, arXiv 1908.11263 (abstract: up to 15.5 MACs/cycle)", 15.5, work.macs / per_core, "MAC/cycle")
    rv = load_profile("rv32imc")
    seq = cycles(native_mix(work, "rv32imc"), cycle_table(rv, False))
    case("speed-up of 8-core PULP-NN over one plain RV32IMC core (same conv; our C kernel, QEMU-grounded instructions as cycles)",
         "Garofalo et al. 2020 (abstract: up to 63x)", 63, seq / per_core, "x")
    ref, cm = report("kws_ref_model", "stm32l4r5", kernels="reference"), report("kws_ref_model", "stm32l4r5", kernels="cmsis-nn")
    case("CMSIS-NN speed-up over baseline kernels (KWS on M4; paper: CIFAR-10 on M7)",
         "Lai et al. 2018, CMSIS-NN, arXiv 1801.06601 (abstract: 4.6x)", 4.6, ref.latency_s / cm.latency_s, "x")
    ic_m4 = report("pretrainedResnet_quant", "stm32l4r5", kernels="cmsis-nn")
    ic_gap8 = report("pretrainedResnet_quant", "gap8")
    case("CIFAR-10 net: cycles CMSIS-NN on STM32L4 / PULP-NN on 8 cores (our IC ResNet, not the paper's net)",
         "Garofalo et al. 2020 (abstract: 30x)", 30, ic_m4.cycles / ic_gap8.cycles, "x")
    g = report("kws_ref_model", "gap8")
    case("GAP8 energy per op, KWS, 8 cores 175 MHz 1.2 V (vendor figure includes the HWCE)",
         "greenwaves-technologies.com/gap8_gap9 (4.24 mW/GOP)", 4.24, g.energy_j / (2 * g.macs) * 1e12, "pJ/op")
    print(table.render(["case", "published source", "published", "emulated", "unit", "error"], rows,
                       title="emulator vs published silicon figures"))


if __name__ == "__main__":
    main()
