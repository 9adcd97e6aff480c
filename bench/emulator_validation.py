"""Silicon plausibility: the emulators against published figures, with the error per case.

    .venv/bin/python bench/emulator_validation.py

Each published figure is cited in the table; the emulator runs the same model (or the closest
one we have, said in the case name). Misses are printed as they are.
"""
from __future__ import annotations

from pathlib import Path

import math

import numpy as np

import edgert
from edgert import table
from edgert.runtime.ir import Graph, Tensor
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


def mobilenet_v1_128() -> edgert.Model:
    """1.0-MobileNet-128 (Howard et al. 2017: 13 depthwise-separable blocks) as an int8 graph
    with random weights: the network DORY ran end to end on GAP8. Costs depend on shapes only."""
    rng = np.random.default_rng(0)
    g = Graph()
    x = cur = g.add_tensor(Tensor("input", "int8", (1, 128, 128, 3)))

    def requant(n):
        return {"multiplier": [1518500250] * n, "shift": [-8] * n, "zp_in": 0, "zp_out": 0, "act_min": -128, "act_max": 127}

    def conv(cur, cout, k, s, depthwise=False):
        _, h, _, cin = g.tensors[cur].shape
        ho = math.ceil(h / s)
        pad = max((ho - 1) * s + k - h, 0) // 2
        shape = (1, k, k, cout) if depthwise else (k, k, cin, cout)  # edgert layouts: 1HWC, HWIO
        w = g.add_tensor(Tensor(f"w{len(g.nodes)}", "int8", shape, data=rng.integers(-128, 128, shape, dtype=np.int8)))
        b = g.add_tensor(Tensor(f"b{len(g.nodes)}", "int32", (cout,), data=np.zeros(cout, np.int32)))
        y = g.add_tensor(Tensor(f"y{len(g.nodes)}", "int8", (1, ho, ho, cout)))
        attrs = {"stride": [s, s], "dilation": [1, 1], "pad": [pad, pad], **requant(cout)}
        if depthwise:
            attrs["depth_multiplier"] = 1
        direct = depthwise or (k == 1 and pad == 0)
        g.add_node("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", [cur, w, b, b], [y], attrs,
                   scratch=0 if direct else 4 * k * k * cin)
        return y

    cur = conv(cur, 32, 3, 2)
    for cout, s in [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]:
        cur = conv(conv(cur, g.tensors[cur].shape[3], 3, s, depthwise=True), cout, 1, 1)
    pooled = g.add_tensor(Tensor("pooled", "int8", (1, 1, 1, 1024)))
    g.add_node("AVERAGE_POOL_2D", [cur], [pooled], {"filter": [4, 4], "stride": [4, 4], "pad": [0, 0],
                                                     "act_min": -128, "act_max": 127})
    flat = g.add_tensor(Tensor("flat", "int8", (1, 1024)))
    g.add_node("RESHAPE", [pooled], [flat])
    w = g.add_tensor(Tensor("fc_w", "int8", (1000, 1024), data=rng.integers(-128, 128, (1000, 1024), dtype=np.int8)))
    b = g.add_tensor(Tensor("fc_b", "int32", (1000,), data=np.zeros(1000, np.int32)))
    logits = g.add_tensor(Tensor("logits", "int8", (1, 1000)))
    g.add_node("FULLY_CONNECTED", [flat, w, b, b], [logits], requant(1000))
    g.inputs, g.outputs = [x], [logits]
    return edgert.compile(g)


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
    mobilenet = mobilenet_v1_128()
    x = np.zeros((1, 128, 128, 3), np.int8)
    # DORY's GAP8 description runs FC and cluster at 100 MHz (HW_description.json "core frequency")
    dory = Emulator(mobilenet, "gap8", backend="numpy", freq_hz=100e6).run(x)[1]
    dory_src = "Burrello et al. 2021, DORY, arXiv 2008.07127 (abstract); clock from pulp-platform/dory GAP8 HW_description.json"
    case("1.0-MobileNet-128 end to end on GAP8, 8 cores at 100 MHz (weights stream from L3)", dory_src,
         4.3, 1 / dory.latency_s, "fps")
    case("1.0-MobileNet-128 energy per MAC on GAP8 (same run)", dory_src, 63, dory.energy_j / dory.macs * 1e12, "pJ/MAC")
    g = report("kws_ref_model", "gap8")
    case("GAP8 energy per op, KWS, 8 cores 175 MHz 1.2 V (vendor figure includes the HWCE)",
         "greenwaves-technologies.com/gap8_gap9 (4.24 mW/GOP)", 4.24, g.energy_j / (2 * g.macs) * 1e12, "pJ/op")
    print(table.render(["case", "published source", "published", "emulated", "unit", "error"], rows,
                       title="emulator vs published silicon figures"))


if __name__ == "__main__":
    main()
