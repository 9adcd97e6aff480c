"""Validation of the part-2 emulators (Jetson, DPU, SpiNNaker) against published figures.

    .venv/bin/python bench/validation_part2.py

Published Jetson and DPU figures are for ImageNet networks (ResNet-50/18, MobileNet v2) that
edgert does not ship, so their layer shapes are built here as graphs without weights and costed
through the same device models (a CNN layer's cost depends on its shapes only; running the
numbers through the host would not change them). SpiNNaker cases run real spiking graphs
through the emulator, with the activity the runtime counts. Every figure is cited; misses are
printed as they are.
"""
from __future__ import annotations

import math

import numpy as np

from edgert import table
from edgert.devices.profiles import load_profile
from edgert.emulators import Emulator, Report
from edgert.emulators.core import cost_model
from edgert.emulators.workload import node_work
from edgert.runtime.compiler import Model
from edgert.runtime.ir import CONST, Graph, Tensor

MLPERF = "mlcommons/inference_results_v3.0 closed/NVIDIA/results"
ZOO = "Xilinx/Vitis-AI models/AI-Model-Zoo/README.md (Vitis AI 1.3, E2E incl. Arm pre/post-processing)"
T2T = "NVIDIA-AI-IOT/torch2trt docs/benchmarks/jetson_nano.md (TensorRT fp16, batch 1)"


# -- ImageNet networks as shapes ---------------------------------------------------------------
class Net:
    """Layer shapes in NHWC with TFLite op names; weights are constants without data."""

    def __init__(self, dtype: str, h: int, w: int, c: int):
        self.g, self.dtype = Graph(), dtype
        self.suffix = "" if dtype == "int8" else "_F32"
        self.x = self._t("input", (1, h, w, c))
        self.g.inputs = [self.x]

    def _t(self, name, shape, const=False) -> int:
        return self.g.add_tensor(Tensor(name, self.dtype, shape, storage=CONST if const else "arena"))

    def _node(self, op, inputs, shape, attrs=None) -> int:
        y = self._t(f"t{len(self.g.tensors)}", shape)
        self.g.add_node(op + self.suffix if op != "RESHAPE" else op, inputs, [y], attrs or {})
        return y

    def shape(self, t):
        return self.g.tensors[t].shape

    def conv(self, x, cout, k, s=1):
        _, h, w, cin = self.shape(x)
        ho, wo = math.ceil(h / s), math.ceil(w / s)
        wt = self._t(f"w{len(self.g.tensors)}", (cout, k, k, cin), const=True)
        b = self._t(f"b{len(self.g.tensors)}", (cout,), const=True)
        pad = max((ho - 1) * s + k - h, 0) // 2
        return self._node("CONV_2D", [x, wt, b], (1, ho, wo, cout), {"stride": [s, s], "pad": [pad, pad]})

    def dw(self, x, k=3, s=1):
        _, h, w, c = self.shape(x)
        ho, wo = math.ceil(h / s), math.ceil(w / s)
        wt = self._t(f"w{len(self.g.tensors)}", (1, k, k, c), const=True)
        pad = max((ho - 1) * s + k - h, 0) // 2
        return self._node("DEPTHWISE_CONV_2D", [x, wt], (1, ho, wo, c), {"stride": [s, s], "pad": [pad, pad]})

    def maxpool(self, x, k=3, s=2):
        _, h, w, c = self.shape(x)
        return self._node("MAX_POOL_2D", [x], (1, math.ceil(h / s), math.ceil(w / s), c),
                          {"filter": [k, k], "stride": [s, s], "pad": [0, 0]})

    def add(self, a, b):
        return self._node("ADD", [a, b], self.shape(a))

    def head(self, x, classes=1000):
        _, h, w, c = self.shape(x)
        x = self._node("AVERAGE_POOL_2D", [x], (1, 1, 1, c), {"filter": [h, w], "stride": [1, 1], "pad": [0, 0]})
        x = self._node("RESHAPE", [x], (1, c))
        wt = self._t("fc_w", (classes, c), const=True)
        x = self._node("FULLY_CONNECTED", [x, wt], (1, classes))
        self.g.outputs = [self._node("SOFTMAX", [x], (1, classes))]
        return self.g


def resnet50(dtype="int8", caffe=True):
    """ResNet-50 v1; `caffe` puts the stride on the first 1x1 conv (7.7 GOPs, the zoo's cf_resnet50)."""
    n = Net(dtype, 224, 224, 3)
    x = n.maxpool(n.conv(n.x, 64, 7, 2))
    for stage, (width, blocks) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)]):
        for b in range(blocks):
            s = 2 if b == 0 and stage > 0 else 1
            y = n.conv(x, width, 1, s if caffe else 1)
            y = n.conv(y, width, 3, 1 if caffe else s)
            y = n.conv(y, width * 4, 1)
            short = n.conv(x, width * 4, 1, s) if b == 0 else x
            x = n.add(y, short)
    return n.head(x)


def resnet18(dtype="int8"):
    n = Net(dtype, 224, 224, 3)
    x = n.maxpool(n.conv(n.x, 64, 7, 2))
    for stage, width in enumerate([64, 128, 256, 512]):
        for b in range(2):
            s = 2 if b == 0 and stage > 0 else 1
            y = n.conv(n.conv(x, width, 3, s), width, 3)
            x = n.add(y, n.conv(x, width, 1, s) if s == 2 else x)
    return n.head(x)


def mobilenet_v2(dtype="int8"):
    n = Net(dtype, 224, 224, 3)
    x = n.conv(n.x, 32, 3, 2)
    cin = 32
    for t, c, reps, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        for r in range(reps):
            y = n.conv(x, cin * t, 1) if t != 1 else x
            y = n.conv(n.dw(y, 3, s if r == 0 else 1), c, 1)
            x = n.add(y, x) if r > 0 else y
            cin = c
    return n.head(n.conv(x, 1280, 1))


def estimate(graph: Graph, device: str, **config) -> Report:
    """Cost a weight-less graph without running it (shape-only costs, no activity)."""
    profile = load_profile(device)
    arena = max(sum(graph.tensors[i].nbytes for i in n.inputs + n.outputs
                    if i >= 0 and graph.tensors[i].storage != CONST) for n in graph.nodes)
    model = Model(b"", graph, arena, {})
    works = [node_work(n, graph, _macs(n, graph)) for n in graph.nodes]
    dm = cost_model(profile.kind)(profile, model, works, **config)
    costs = [dm.node_cost(k, {}) for k in range(len(graph.nodes))]
    return Report(device, dm.config, costs, dm.peak_bytes, dm.capacity_bytes, dm.notes, dm.summarize(costs, {}))


def _macs(node, graph) -> int:
    t = graph.tensors
    out = t[node.outputs[0]].shape
    if node.op.startswith(("CONV_2D", "DEPTHWISE")):
        w = t[node.inputs[1]].shape
        per_out = w[1] * w[2] * (w[3] if node.op.startswith("CONV") else 1)
        return int(np.prod(out)) * per_out
    if node.op.startswith("FULLY"):
        return int(np.prod(t[node.inputs[1]].shape))
    return 0


# -- SpiNNaker: real spiking graphs --------------------------------------------------------------
def dense_snn(n_in, n_out, seed=0):
    import nir

    import edgert
    rng = np.random.default_rng(seed)
    nodes = {"input": nir.Input(input_type={"input": np.array([n_in])}),
             "fc": nir.Linear(weight=rng.normal(0, 1 / np.sqrt(n_in), (n_out, n_in)).astype(np.float32)),
             "lif": nir.LIF(tau=np.full(n_out, 0.02, np.float32), r=np.ones(n_out, np.float32),
                            v_leak=np.zeros(n_out, np.float32), v_threshold=np.ones(n_out, np.float32),
                            v_reset=np.zeros(n_out, np.float32)),
             "output": nir.Output(output_type={"output": np.array([n_out])})}
    return edgert.compile(nir.NIRGraph(nodes=nodes, edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")],
                                       type_check=False))


def spikes(n, count, seed=1):
    x = np.zeros((1, n), np.float32)
    x[0, np.random.default_rng(seed).choice(n, count, replace=False)] = 1.0
    return x


def step(em, x):
    em.session.reset()
    return em.run(x)[1]


def max_real_time_events(device, n_in, n_out, **config) -> float:
    """Largest synaptic events per step that keep real time (bisection over input spikes)."""
    em = Emulator(dense_snn(n_in, n_out), device, backend="numpy", **config)
    lo, hi = 0, n_in
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if step(em, spikes(n_in, mid)).summary["real_time"] else (lo, mid)
    r = step(em, spikes(n_in, lo))
    return sum(n.detail.get("synaptic_events", 0) for n in r.nodes), r.summary["chips"], r.summary["cores"]


def main() -> None:
    rows = []

    def case(family, what, source, published, emulated, unit):
        err = f"{100 * (emulated - published) / published:+.0f}%"
        rows.append([family, what, source, f"{published:.4g}", f"{emulated:.4g}", unit, err])

    r50, r50v15, r18, mv2 = resnet50(), resnet50(caffe=False), resnet18(), mobilenet_v2()
    # Jetson: MLPerf single stream (TensorRT int8) and torch2trt fp16
    case("jetson", "AGX Orin MAXN, ResNet-50 v1.5 int8, single stream (calibration point)",
         f"{MLPERF}/Orin_TRT/resnet50/SingleStream (90th pct)", 0.633, estimate(r50v15, "jetson-agx-orin").latency_s * 1e3, "ms")
    maxq = estimate(r50v15, "jetson-agx-orin", operating_point="30W")
    case("jetson", "AGX Orin MaxQ (mode unpublished; 30W assumed), ResNet-50 int8, latency",
         f"{MLPERF}/Orin_TRT_MaxQ/resnet50/SingleStream (90th pct)", 1.638, maxq.latency_s * 1e3, "ms")
    case("jetson", "AGX Orin MaxQ, ResNet-50 int8, energy per inference (wall ~14.8 W x 1.48 ms mean)",
         f"{MLPERF}/Orin_TRT_MaxQ/resnet50/SingleStream spl.txt", 21.9, maxq.energy_j * 1e3, "mJ")
    case("jetson", "Xavier NX, ResNet-50 v1.5 int8, single stream",
         "mlcommons/inference_results_v1.1 closed/NVIDIA/results/Xavier_NX_TRT/resnet50/SingleStream", 2.437,
         estimate(r50v15, "jetson-xavier-nx").latency_s * 1e3, "ms")
    case("jetson", "Nano MAXN, ResNet-50 fp16 (TensorRT)", T2T, 29.8,
         estimate(resnet50("float32", caffe=False), "jetson-nano", precision="fp16").latency_s * 1e3, "ms")
    case("jetson", "Nano MAXN, ResNet-18 fp16 (TensorRT)", T2T, 11.4,
         estimate(resnet18("float32"), "jetson-nano", precision="fp16").latency_s * 1e3, "ms")
    # DPU: Vitis AI model zoo (ZCU102 rev -05 3 x B4096 @ 281 MHz; ZCU104 2 x B4096 @ 300 MHz)
    for board, nets in [("zcu102", [("ResNet-50 (cf, 7.7 GOPs)", r50, 14.1, 164.7), ("ResNet-18", r18, 5.55, 469.1),
                                    ("MobileNet v2", mv2, 4.08, 712.0)]),
                        ("zcu104", [("ResNet-50 (cf, 7.7 GOPs)", r50, 13.29, 144.7), ("ResNet-18", r18, 5.27, 409.7),
                                    ("MobileNet v2", mv2, 3.92, 589.3)])]:
        for label, graph, ms, fps in nets:
            r = estimate(graph, board)
            case("dpu", f"{board} {label}, single-thread latency", ZOO, ms, r.latency_s * 1e3, "ms")
            case("dpu", f"{board} {label}, multi-thread throughput", ZOO, fps, r.summary["throughput_per_s"], "fps")
    # SpiNNaker 1
    events, _, cores = max_real_time_events("spinnaker1", 1000, 4096)
    per_core_ms = events / cores
    case("spinnaker", "SpiNNaker 1: synaptic events per core per 1 ms step, real time (demonstrated, not a ceiling)",
         "Stromatias et al. 2013 IJCNN abstract: 1.8 G events/s on a 48-chip board = 2344 per core per ms",
         1.8e9 / (48 * 16) / 1000, per_core_ms, "events")
    em = Emulator(dense_snn(400, 10000), "spinnaker1", backend="numpy", neurons_per_core=160)
    quiet, busy = step(em, spikes(400, 0)), step(em, spikes(400, 10))
    d_events = sum(n.detail.get("synaptic_events", 0) for n in busy.nodes)
    case("spinnaker", "SpiNNaker 1: energy per synaptic event (10k neurons, 4M synapses, 4 chips)",
         "Sharp et al. 2012, J. Neurosci. Methods 210:110, abstract: 43 nJ per PSP", 43.0,
         (busy.energy_j - quiet.energy_j) / d_events * 1e9, "nJ")
    case("spinnaker", "SpiNNaker 1: energy per neuron per ms (same network, no input)",
         "Sharp et al. 2012 abstract: 100 nJ per neuron per ms", 100.0, quiet.energy_j / 10000 * 1e9, "nJ")
    events2, _, cores2 = max_real_time_events("spinnaker2", 1000, 4096)
    case("spinnaker", "SpiNNaker 2: synaptic events per second per chip, real time at 1 ms",
         "devices.md §5 [3P, verify]: > 1.8 G events/s per chip", 1.8e9,
         events2 / cores2 * load_profile("spinnaker2").value("units.pe.application_cores") / 1e-3, "events/s")
    print(table.render(["family", "case", "source", "published", "emulated", "unit", "error"], rows,
                       title="part-2 emulators vs published figures"))
    print()
    sensitivity(r50v15)


def sensitivity(r50) -> None:
    """The directions a user expects, in numbers (docs/emulators-part2.md)."""
    em = Emulator(dense_snn(1000, 512), "spinnaker1", backend="numpy")
    rows = []
    for n in (0, 10, 20, 30, 40, 80):
        r = step(em, spikes(1000, n))
        rows.append([n, sum(x.detail.get("synaptic_events", 0) for x in r.nodes), r.summary["busiest_core_s"] * 1e3,
                     r.summary["real_time"], r.energy_j * 1e6])
    print(table.render(["input spikes", "synaptic events", "busiest core ms", "real time", "uJ per step"], rows,
                       title="spinnaker1: 1000 -> 512 dense LIF layer, one 1 ms step"))
    rows = []
    for device, modes in [("jetson-agx-orin", ["MAXN", "50W", "30W", "15W"]),
                          ("jetson-orin-nano", ["MAXN_SUPER", "25W", "15W", "7W"])]:
        for mode in modes:
            r = estimate(r50, device, operating_point=mode)
            rows.append([device, mode, r.latency_s * 1e3, r.summary["average_power_w"], r.energy_j * 1e3])
    print(table.render(["device", "mode", "ms", "W", "mJ"], rows, title="ResNet-50 int8, batch 1, per nvpmodel mode"))
    from edgert.emulators.dpu import layer_cycles
    from edgert.emulators.workload import conv2d_work
    rows = [[c, *layer_cycles(conv2d_work(28, 28, c, c, 3), 8, 16, 16, 4)] for c in (8, 16, 17, 32, 33, 64)]
    print(table.render(["channels in = out", "cycles", "lane fill"], rows, title="B4096: 3x3 conv on 28x28"))


if __name__ == "__main__":
    main()
