"""AMD/Xilinx DPUCZDX8G (Zynq UltraScale+ FPGA DPU), one or several cores on a board.

Per layer (devices.md §7.4): compute cycles from the pixel (PP), input-channel (ICP) and
output-channel (OCP) parallelism, each dimension rounded up to whole passes, so channel counts
that do not fill the array waste its lanes; depthwise conv, pooling and element-wise ops run
on the ALU at PP/2 pixels x ICP channels. On-chip buffers hold a tile of the input and output
feature maps and of the weights; the DDR traffic is that of the cheaper tiling (re-read the
weights for every feature tile, or the input for every weight tile). Latency = max(compute,
DDR) + a fixed per-layer overhead. Int8 graphs only; ops the DPU lacks (softmax, float ops)
fall back to an Arm core, paying a DPU<->CPU switch. Single-stream latency uses one core;
throughput uses all cores, capped by the shared DDR bandwidth.

Runtime reconfiguration: `disabled` names nodes (a trailing `*` makes a prefix) that are
switched off, e.g. an unused sensor's encoder; they cost nothing and the summary shows the
latency and energy saved. The host still runs the full model, so outputs stay the host's.
"""
from __future__ import annotations

import math

from edgert.errors import InputError, ModelError, UnsupportedOpError

from .core import DeviceModel, options, register
from .report import NodeCost
from .workload import base_op

ARRAY_KINDS = {"conv", "fc"}
ALU_KINDS = {"dwconv", "maxpool", "avgpool", "eltwise"}
FREE_KINDS = {"copy"}  # reshapes are address arithmetic in the compiled instruction stream
CPU_OPS = {"SOFTMAX", "QUANTIZE", "DEQUANTIZE"}  # (by base_op) run by VART / the Arm cores around the DPU subgraph


@register("dpu")
class DpuModel(DeviceModel):
    OPTIONS = {"operating_point": None, "freq_hz": None, "cores": None, "disabled": ()}

    def __init__(self, profile, model, works, **config):
        super().__init__(profile, model, works)
        v = profile.value
        cfg = options(profile.name, config, self.OPTIONS)
        self.op = profile.operating_point("dpu", cfg["freq_hz"], cfg["operating_point"])
        self.freq = float(cfg["freq_hz"] or self.op.clocks_hz["dpu"])
        max_cores = v("units.dpu.cores")
        self.cores = max_cores if cfg["cores"] is None else cfg["cores"]
        if not isinstance(self.cores, int) or not 1 <= self.cores <= max_cores:
            raise InputError(f"{profile.name}: cores must be 1..{max_cores}, got {cfg['cores']}")
        self.pp, self.icp, self.ocp = (v(f"units.dpu.{k}") for k in
                                       ("pixel_parallelism", "input_channel_parallelism", "output_channel_parallelism"))
        self.alu_pp = v("units.dpu.depthwise_pixel_parallelism")
        onchip = v("memory.on-chip.size_bytes")
        self.weight_buffer = onchip * v("memory.on-chip.weight_share")
        self.feature_buffer = onchip - self.weight_buffer
        self.bandwidth = v("memory.DDR.bandwidth_bytes_per_s") * v("params.ddr_efficiency")
        self.overhead = v("params.layer_overhead_cycles")
        self.switch_s = v("params.subgraph_switch_s")
        self.efficiency = v("params.compute_efficiency")
        self.cpu_rate = v("units.cpu.flops_per_core_clk") * self.op.clocks_hz["cpu"]
        power = self.op.power_w
        self.idle_w, self.cpu_w = power["idle"], power["cpu_core_active"]
        self.core_w = power["dpu_core_full"] * self.freq / self.op.clocks_hz["dpu"]  # dynamic power follows the clock
        self.ddr_pj = v("energy_pj.ddr_byte")
        self._check_supported()
        self.disabled = self._match(cfg["disabled"])
        self._memory()
        self.config = {"operating_point": self.op.name, "dpu_hz": self.freq, "cores": self.cores,
                       "disabled": sorted(self.model.graph.nodes[k].name for k in self.disabled)}
        self.notes.append("energy: board idle power over the latency + DPU core power x array utilisation + DDR bytes")

    def _check_supported(self):
        for node, work in zip(self.model.graph.nodes, self.works):
            if work.kind in ("snn", "nonneural", "generic"):
                raise UnsupportedOpError(f"unsupported op: the DPU runs int8 CNN layers; node {node.name!r} "
                                         f"({node.op}) has no DPU instruction or CPU fallback in this model")
            if work.float_math and base_op(node.op) not in CPU_OPS and work.kind not in FREE_KINDS:
                raise UnsupportedOpError(f"unsupported op: the DPU computes in int8 only; node {node.name!r} "
                                         f"({node.op}) is float32: quantize the model first (vai_q / int8 TFLite)")

    def _match(self, patterns) -> set[int]:
        if isinstance(patterns, str):
            patterns = [p for p in patterns.split(",") if p]
        nodes = self.model.graph.nodes
        hit: set[int] = set()
        for pattern in patterns:
            found = {k for k, n in enumerate(nodes)
                     if (n.name.startswith(pattern[:-1]) if pattern.endswith("*") else n.name == pattern)}
            if not found:
                raise InputError(f"disabled: no node matches {pattern!r}; node names are listed by `edgert info`")
            hit |= found
        return hit

    def _memory(self):
        m = self.model
        ddr = self.profile.value("memory.DDR.size_bytes")
        need = m.weight_bytes + m.arena_size
        if need > ddr:
            raise ModelError(f"does not fit {self.profile.name}: {need} B of weights and activations > {ddr} B DDR")
        biggest = max((w.weight_bytes for w in self.works), default=0)
        self.peak_bytes = {"on-chip": int(min(self.weight_buffer, biggest) + self.feature_buffer), "DDR": need}

    # -- per node --------------------------------------------------------------------------------
    def node_cost(self, index, activity, events=None):
        node = self.model.graph.nodes[index]
        cost = self._enabled_cost(index)
        if index not in self.disabled:
            return cost
        return NodeCost(node.name, node.op, cost.unit, 0.0, 0.0, 0.0, 0, 0, cost.placement,
                        {"disabled": True, "saved_latency_s": cost.latency_s, "saved_energy_j": cost.energy_j})

    def _enabled_cost(self, index) -> NodeCost:
        node, work = self.model.graph.nodes[index], self.works[index]
        tensors = self.model.graph.tensors
        placement = {tensors[i].name: "DDR" for i in node.inputs + node.outputs if i >= 0}
        if work.kind in FREE_KINDS:
            return NodeCost(node.name, node.op, "dpu", 0.0, 0.0, 0.0, work.macs, 0, placement, {"elided": True})
        if self._on_cpu(index):
            return self._cpu_cost(index, node, work, placement)
        cycles, lanes_used = layer_cycles(work, self.pp, self.icp, self.ocp, self.alu_pp)
        traffic, tiles = self._traffic(work)
        compute_s = cycles / (self.freq * self.efficiency)
        ddr_s = traffic / self.bandwidth
        t = max(compute_s, ddr_s) + self.overhead / self.freq
        utilisation = compute_s / t if t else 0.0
        energy = (self.idle_w + self.core_w * utilisation) * t + traffic * self.ddr_pj * 1e-12
        detail = {"compute_cycles": cycles, "fill": lanes_used, "ddr_bytes": traffic, "tiles": tiles,
                  "compute_s": compute_s, "ddr_s": ddr_s, "bound": "compute" if compute_s >= ddr_s else "ddr"}
        return NodeCost(node.name, node.op, "dpu", t * self.freq, t, energy, work.macs, int(traffic), placement, detail)

    def _traffic(self, work) -> tuple[float, int]:
        """DDR bytes of the cheaper tiling and its tile count."""
        features = work.in_bytes + work.out_bytes
        f_tiles = max(1, math.ceil(features / self.feature_buffer))
        w_tiles = max(1, math.ceil(work.weight_bytes / self.weight_buffer))
        if f_tiles == 1 or w_tiles == 1:
            return float(features + work.weight_bytes), f_tiles * w_tiles
        reread_weights = features + work.weight_bytes * f_tiles
        reread_input = work.in_bytes * w_tiles + work.out_bytes + work.weight_bytes
        return float(min(reread_weights, reread_input)), f_tiles * w_tiles

    def _cpu_cost(self, index, node, work, placement) -> NodeCost:
        ops = max(work.valid_terms, work.outputs) * (8 if work.kind == "softmax" else 1)
        t = ops / self.cpu_rate + (self.switch_s if self._switches(index) else 0.0)
        energy = (self.idle_w + self.cpu_w) * t
        return NodeCost(node.name, node.op, "cpu", t * self.op.clocks_hz["cpu"], t, energy, work.macs,
                        work.in_bytes + work.out_bytes, placement, {"fallback": "cpu", "switch": self._switches(index)})

    def _switches(self, index) -> bool:
        """A CPU node pays a subgraph switch when the last node before it that does any work
        (reshapes do none) ran on the DPU."""
        for k in range(index - 1, -1, -1):
            if self.works[k].kind in FREE_KINDS:
                continue
            return not self._on_cpu(k)
        return False

    def _on_cpu(self, k) -> bool:
        return base_op(self.model.graph.nodes[k].op) in CPU_OPS or self.works[k].kind == "softmax"

    # -- run level --------------------------------------------------------------------------------
    def summarize(self, costs, activity) -> dict:
        latency = sum(c.latency_s for c in costs)
        dpu_s = sum(c.latency_s for c in costs if c.unit == "dpu")
        ddr = sum(c.detail.get("ddr_bytes", 0) for c in costs)
        per_core = 1 / latency if latency else 0.0
        ddr_cap = self.bandwidth / ddr if ddr else math.inf
        throughput = min(self.cores * per_core, ddr_cap) if latency else 0.0
        dyn = sum(c.energy_j - self.idle_w * c.latency_s for c in costs)  # energy above idle
        out = {"single_stream_latency_s": latency, "throughput_per_s": throughput,
               "throughput_limit": "ddr" if ddr_cap < self.cores * per_core else "cores",
               "dpu_share": dpu_s / latency if latency else 0.0,
               "energy_per_inference_at_throughput_j": self.idle_w / throughput + dyn if throughput else 0.0}
        if self.disabled:
            out["disabled_nodes"] = len(self.disabled)
            out["saved_latency_s"] = sum(c.detail.get("saved_latency_s", 0.0) for c in costs)
            out["saved_energy_j"] = sum(c.detail.get("saved_energy_j", 0.0) for c in costs)
        return out


def layer_cycles(work, pp: int, icp: int, ocp: int, alu_pp: int) -> tuple[float, float]:
    """DPU cycles of one layer and the share of the engine's lanes that carry real work."""
    if work.kind in ARRAY_KINDS:
        if work.kind == "conv":
            kh, kw = work.window[:2]
            cin, wo, ho = work.reduction // (kh * kw), work.row_outputs // work.channels, work.rows
        else:  # fully connected: one "pixel" per sample, the pixel lanes idle
            kh = kw = 1
            cin, wo, ho = work.reduction, 1, max(work.outputs // work.channels, 1)
        cycles = math.ceil(cin / icp) * math.ceil(work.channels / ocp) * math.ceil(wo / pp) * ho * kh * kw
        lanes = pp * icp * ocp
    else:  # ALU: channels x PP/2 pixels, one window tap per cycle
        if work.window:  # pixels along a row share the PP/2 lanes
            taps, wo, ho = work.window[0] * work.window[1], work.row_outputs // work.channels, work.rows
        else:  # element-wise: all pixels stream through the lanes
            taps, wo, ho = 1, max(work.outputs // max(work.channels, 1), 1), 1
        cycles = math.ceil(work.channels / icp) * math.ceil(wo / alu_pp) * ho * taps
        lanes = icp * alu_pp
    useful = max(work.valid_terms, work.macs, work.outputs)
    return float(cycles), (useful / (cycles * lanes) if cycles else 1.0)
