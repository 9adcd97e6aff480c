"""NVIDIA Jetson GPUs (TensorRT-style execution), one nvpmodel power mode per operating point.

Per node, a roofline: compute time = ops / (SMs x clock x ops per SM per clock at the layer's
precision x an achieved efficiency x occupancy) on tensor cores or CUDA cores, whichever is
faster (TensorRT picks the fastest tactic; tensor cores lose to CUDA cores when the channel
counts fill the MMA tiles badly, e.g. a 3-channel first layer); memory time = DRAM bytes /
(achieved bandwidth at the mode's EMC clock); latency = the larger of the two plus one kernel
launch. Element-wise and (de)quantize ops that directly follow their producer are fused into
it (no launch, the intermediate never goes to DRAM); reshapes are free. Batch B multiplies the
activation work, weights are read once per batch. Power = the mode's idle power + the GPU's
full-load power x the fraction of SMs kept busy; DRAM traffic adds energy per byte.
"""
from __future__ import annotations

from edgert.errors import InputError, ModelError

from .core import DeviceModel, options, register
from .report import NodeCost

GPU_KINDS = {"conv", "dwconv", "fc", "maxpool", "avgpool", "eltwise", "softmax", "convert"}
MMA_KINDS = {"conv", "fc"}  # kinds that map to tensor-core GEMMs
FUSABLE = {"eltwise", "convert"}
FREE = {"copy"}  # reshapes and friends: TensorRT elides them
PRECISIONS = ("auto", "fp16", "fp32")


@register("jetson")
class JetsonModel(DeviceModel):
    OPTIONS = {"operating_point": None, "freq_hz": None, "batch": 1, "precision": "auto"}

    def __init__(self, profile, model, works, **config):
        super().__init__(profile, model, works)
        v = profile.value
        cfg = options(profile.name, config, self.OPTIONS)
        self.op = profile.operating_point("gpu", cfg["freq_hz"], cfg["operating_point"])
        self.freq = float(cfg["freq_hz"] or self.op.clocks_hz["gpu"])
        self.batch = cfg["batch"]
        if not isinstance(self.batch, int) or isinstance(self.batch, bool) or self.batch < 1:
            raise InputError(f"batch must be an integer >= 1, got {cfg['batch']!r}")
        if cfg["precision"] not in PRECISIONS:
            raise InputError(f"precision must be one of {PRECISIONS}, got {cfg['precision']!r}")
        self.float_precision = "fp32" if cfg["precision"] == "auto" else cfg["precision"]
        self.sms = int(self.op.fields.get("active_sms", v("units.gpu.sms")))
        self.gpu = v("units.gpu")
        self.cpu_rate = v("units.cpu.flops_per_core_clk") * self.op.clocks_hz["cpu"]
        emc = self.op.fields.get("emc_hz", v("memory.DRAM.max_emc_hz"))
        self.bandwidth = v("memory.DRAM.bandwidth_bytes_per_s") * emc / v("memory.DRAM.max_emc_hz") * v("params.dram_efficiency")
        # launches are issued by the CPU: a mode with slower CPU clocks launches more slowly
        cpu_max = max(p.clocks_hz["cpu"] for p in profile.operating_points)
        self.launch = v("params.launch_overhead_s") * cpu_max / self.op.clocks_hz["cpu"]
        self.efficiency = v("params.compute_efficiency")
        self.fill = v("params.threads_per_sm") * self.sms
        self.dram_pj = v("energy_pj.dram_byte")
        # a clock below the mode's cap (freq_hz) scales the GPU's dynamic power with it
        self.idle_w = self.op.power_w["idle"]
        self.gpu_w = self.op.power_w["gpu_full"] * self.freq / self.op.clocks_hz["gpu"]
        self.fused_into, self.traffic = self._fuse()
        dram = v("memory.DRAM.size_bytes")
        need = model.weight_bytes + model.arena_size * self.batch
        self.peak_bytes = {"DRAM": need}  # the L2 is a cache, not a placement
        if need > dram:
            raise ModelError(f"does not fit {profile.name}: {need} B of weights and activations > {dram} B DRAM")
        self.config = {"operating_point": self.op.name, "gpu_hz": self.freq, "active_sms": self.sms,
                       "batch": self.batch, "precision": cfg["precision"]}
        fused = sum(1 for k in self.fused_into if k is not None)
        if fused:
            self.notes.append(f"{fused} element-wise / (de)quantize nodes fused into their producers")
        self.notes.append("energy: mode idle power + GPU full-load power x busy SM fraction + DRAM bytes; "
                          "totals are for one batch of " + str(self.batch))

    # -- graph-level: fusion ------------------------------------------------------------------
    def _fuse(self):
        """fused_into[k] = j when node k runs inside node j's kernel; traffic[k] = DRAM bytes of
        node k after fusion, split into (activation bytes per sample, weight bytes)."""
        graph = self.model.graph
        consumers: dict[int, int] = {}
        for node in graph.nodes:
            for i in node.inputs:
                consumers[i] = consumers.get(i, 0) + 1
        producer = {i: k for k, node in enumerate(graph.nodes) for i in node.outputs}
        fused_into: list[int | None] = [None] * len(graph.nodes)
        act = [w.in_bytes + w.out_bytes for w in self.works]
        for k, (node, work) in enumerate(zip(graph.nodes, self.works)):
            if work.kind not in FUSABLE:
                continue
            # fuse into the latest producer whose output only this node reads (a residual add
            # goes into the conv that computes one operand; the other operand is read from DRAM)
            own = [i for i in node.inputs if i >= 0 and consumers.get(i, 0) == 1 and i in producer
                   and self.works[producer[i]].kind in GPU_KINDS]
            if not own:
                continue
            src = max(own, key=producer.get)
            j = producer[src]
            host = fused_into[j] if fused_into[j] is not None else j
            fused_into[k] = host
            between = graph.tensors[src].nbytes
            act[k] -= between  # read from registers, not DRAM
            act[j] -= between  # never written
        return fused_into, [(a, w.weight_bytes) for a, w in zip(act, self.works)]

    # -- per node ------------------------------------------------------------------------------
    def node_cost(self, index, activity, events=None):
        work = self.works[index]
        node = self.model.graph.nodes[index]
        act_bytes, weight_bytes = self.traffic[index]
        dram = act_bytes * self.batch + weight_bytes
        placement = {self.model.graph.tensors[i].name: "DRAM" for i in node.inputs + node.outputs if i >= 0}
        kind = _gpu_kind(node.op, work)
        if kind in FREE:
            return self._cost(node, work, "gpu", 0.0, 0.0, 0, placement, {"fused": "elided"})
        if kind is None:  # trees and other non-neural ops: one CPU core, costed by the work counted
            events = sum(activity.values()) * self.profile.value("params.cpu_cycles_per_event")
            compute = (max(work.macs, work.outputs) / self.cpu_rate + events / self.op.clocks_hz["cpu"]) * self.batch
            t = compute + dram / self.bandwidth
            return self._cost(node, work, "cpu", t, t * self.idle_w + dram * self.dram_pj * 1e-12, dram, placement,
                              {"compute_s": compute})
        precision = self._precision(work)
        ops = 2 * max(work.macs, work.valid_terms) * self.batch if kind in MMA_KINDS | {"dwconv"} \
            else max(work.valid_terms, work.outputs) * self.batch
        occupancy = min(1.0, work.outputs * self.batch / self.fill)
        rate, engine = self._rate(work, precision, kind)
        compute = ops / (rate * occupancy) if ops else 0.0
        memory = dram / self.bandwidth
        busy = max(compute, memory)
        host = self.fused_into[index]
        launch = 0.0 if host is not None else self.launch
        t = busy + launch
        energy = self.idle_w * t + self.gpu_w * occupancy * busy + dram * self.dram_pj * 1e-12
        detail = {"precision": precision, "engine": engine, "compute_s": compute, "memory_s": memory,
                  "launch_s": launch, "occupancy": occupancy, "dram_bytes": dram,
                  "bound": "compute" if compute >= memory else "memory"}
        if host is not None:
            detail["fused"] = self.model.graph.nodes[host].name
        return self._cost(node, work, "gpu", t, energy, dram, placement, detail)

    def _cost(self, node, work, unit, t, energy, dram, placement, detail) -> NodeCost:
        clock = self.freq if unit == "gpu" else self.op.clocks_hz["cpu"]
        return NodeCost(node.name, node.op, unit, t * clock, t, energy, work.macs * self.batch,
                        int(dram), placement, detail)

    def _precision(self, work) -> str:
        if work.float_math:
            return self.float_precision
        # fixed-mode spiking layers (int16 weights, int32 state, 64-bit sums): no dp4a / MMA path
        return "int32" if work.kind == "snn" else "int8"

    def _rate(self, work, precision, kind) -> tuple[float, str]:
        """Achieved ops/s and the engine that gives it (the faster of tensor and CUDA cores)."""
        g = self.gpu
        scale = self.sms * self.freq * self.efficiency
        cuda = {"fp32": g["fp32_flops_per_sm_clk"], "fp16": g["fp16_cuda_flops_per_sm_clk"],
                "int8": g["int8_cuda_ops_per_sm_clk"], "int32": g["int32_cuda_ops_per_sm_clk"]}[precision] * scale
        tensor_peak = {"fp16": g["fp16_tensor_flops_per_sm_clk"], "int8": g["int8_tensor_ops_per_sm_clk"]}.get(precision, 0)
        if kind not in MMA_KINDS or work.kind not in MMA_KINDS or not tensor_peak:
            return cuda, "cuda"
        cin = work.reduction // (work.window[0] * work.window[1]) if work.kind == "conv" else work.reduction
        k_align = self.profile.value(f"params.tc_k_align_{precision}")
        n_align = self.profile.value("params.tc_n_align")
        fill = _fill(cin, k_align) * _fill(work.channels, n_align)
        tensor = tensor_peak * scale * fill
        return (tensor, "tensor") if tensor >= cuda else (cuda, "cuda")

    def summarize(self, costs, activity) -> dict:
        t = sum(c.latency_s for c in costs)
        energy = sum(c.energy_j for c in costs)
        return {"throughput_per_s": self.batch / t if t else 0.0,
                "energy_per_inference_j": energy / self.batch,
                "average_power_w": energy / t if t else 0.0}


def _gpu_kind(op: str, work) -> str | None:
    """How the GPU runs a node: its workload kind; spiking layers run densely per time step, as
    snnTorch / Norse do on a GPU (synapses as GEMMs, neurons element-wise); None: not on the GPU."""
    if work.kind in GPU_KINDS | FREE:
        return work.kind
    if op.startswith("SNN_"):
        return "fc" if work.macs else "eltwise"
    return None


def _fill(n: int, align: int) -> float:
    """Share of an MMA tile dimension that carries real data when `n` is padded to `align`."""
    if n <= 0:
        return 1.0
    padded = -(-n // align) * align
    return n / padded
