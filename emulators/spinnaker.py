"""SpiNNaker-style event cores (SpiNNaker 1 and 2), driven by the runtime's activity counters.

Mapping (spiking.md §4): every neuron population (SNN_NEURON / SNN_THRESHOLD, or the target of
a projection that feeds no neuron) is split over cores of at most `neurons_per_core` neurons;
the synaptic rows of every projection into it live with its cores, in core SRAM when they fit
next to the neuron state and ring buffers, else in shared DRAM, fetched by DMA per received
spike. One multicast packet per spike; the router needs one key/mask entry per source core.

Per time step and core (spiking.md §4.2): fixed overhead + neuron updates x cycles per update
+ received packets x (receive + table lookup + row fetch) + synaptic events x cycles per event
+ spikes sent x cycles per send; a core whose rows sit in DRAM cannot run faster than its DMA
traffic. The step keeps real time when the busiest core fits the timestep; the summary gives
the slack of every population. Energy = active core cycles + packet hops + DRAM bytes + the
idle power of the chips in use over the step. Counters come from the kernels (input_events,
synaptic_events, neuron_updates, spikes), so twice the activity costs about twice as much.

SpiNNaker 2 also runs non-spiking int8 layers on its per-PE 16x4 MAC arrays (and float ones on
the M4F FPU); SpiNNaker 1 runs spiking graphs only.
"""
from __future__ import annotations

import math

from edgert.errors import InputError, ModelError, UnsupportedOpError

from .core import DeviceModel, options, register
from .report import NodeCost

# Spiking ops by role; the fixed-mode ops (SNN_*_FX, docs/spiking.md) play the same roles and
# report the same activity counters, so they cost the same per event (sPyNNaker runs in fixed point).
POPULATION_OPS = {"SNN_NEURON", "SNN_THRESHOLD"}
PROJECTION_OPS = {"SNN_LINEAR", "SNN_LINEAR_EVENT", "SNN_CONV2D", "SNN_CONV2D_EVENT"}
CONV_PROJECTIONS = {"SNN_CONV2D", "SNN_CONV2D_EVENT"}
# folded into ring-buffer accumulation, or (sum pooling) into the next projection's connectivity
GLUE_OPS = {"SNN_ADD", "SNN_SCALE", "SNN_COPY", "SNN_DELAY", "SNN_SUMPOOL2D"}
MAC_KINDS = {"conv", "fc"}
CORE_KINDS = {"dwconv", "maxpool", "avgpool", "eltwise", "softmax", "convert", "copy"}


def role(op: str) -> str | None:
    """'population', 'projection', 'glue', or None for a non-spiking op."""
    base = op.removesuffix("_FX")
    return ("population" if base in POPULATION_OPS else "projection" if base in PROJECTION_OPS
            else "glue" if base in GLUE_OPS else None)


@register("spinnaker")
class SpinnakerModel(DeviceModel):
    OPTIONS = {"operating_point": None, "freq_hz": None, "timestep_s": None, "neurons_per_core": None}

    def __init__(self, profile, model, works, **config):
        super().__init__(profile, model, works)
        v = profile.value
        cfg = options(profile.name, config, self.OPTIONS)
        self.unit = next(name for name in v("units") if name != "router")
        clock = v(f"units.{self.unit}.clock")
        self.op = profile.operating_point(clock, cfg["freq_hz"], cfg["operating_point"])
        self.freq = float(cfg["freq_hz"] or self.op.clocks_hz[clock])
        self.timestep = v("params.timestep_s") if cfg["timestep_s"] is None else cfg["timestep_s"]
        self.per_core = v("params.neurons_per_core") if cfg["neurons_per_core"] is None else cfg["neurons_per_core"]
        if not isinstance(self.per_core, int) or self.per_core < 1 \
                or not isinstance(self.timestep, (int, float)) or not self.timestep > 0:
            raise InputError(f"neurons_per_core must be an integer >= 1 and timestep_s a number > 0, "
                             f"got {self.per_core!r} and {self.timestep!r}")
        self.t = v("timing")
        self.app_cores = v(f"units.{self.unit}.application_cores")
        self.mac_per_clk = v(f"units.{self.unit}.mac_array_macs_per_clk")
        sram = next(m for m in profile.memory if m.kind == "sram")
        dram = next(m for m in profile.memory if m.kind == "dram")
        self.sram, self.dram = sram.name, dram.name
        self.budget = sram.fields.get("data_budget_bytes", sram.size_bytes)
        self.dram_bw = dram.fields["bandwidth_bytes_per_s"]
        self.core_w = self.op.power_w["core_active"] * self.freq / self.op.clocks_hz[clock]  # below the point's clock
        self.chip_idle_w = self.op.power_w["chip_idle"]
        self.mac_pj = self.op.fields.get("mac_pj", 0.0)
        self.e = v("energy_pj")
        self._check_supported()
        self._map()
        self.config = {"operating_point": self.op.name, "freq_hz": self.freq, "timestep_s": self.timestep,
                       "neurons_per_core": self.per_core}

    # -- what runs where ---------------------------------------------------------------------------
    def _check_supported(self):
        for node, work in zip(self.model.graph.nodes, self.works):
            if role(node.op) and work.float_math and not self.profile.value(f"units.{self.unit}.fpu"):
                self.note("float-mode spiking layers costed as sPyNNaker runs them, in fixed point "
                          "(no FPU); outputs are the host's float ones")
            if role(node.op) or (work.kind in CORE_KINDS and not work.float_math):
                continue
            if work.kind in MAC_KINDS and self.mac_per_clk and not work.float_math:
                continue
            if work.float_math and self.profile.value(f"units.{self.unit}.fpu") and work.kind in MAC_KINDS | CORE_KINDS:
                continue
            raise UnsupportedOpError(f"unsupported op: {self.profile.name} has no path for node {node.name!r} "
                                     f"({node.op}{', float32' if work.float_math else ''}): "
                                     + ("it runs spiking layers only (no MAC array, no FPU)" if not self.mac_per_clk
                                        else "int8 conv / fc / element-wise layers and spiking layers only"))

    def _map(self):
        """Populations, the projections into each, cores, SRAM/DRAM placement, router entries."""
        graph = self.model.graph
        producer = {i: k for k, n in enumerate(graph.nodes) for i in n.outputs}
        consumers: dict[int, list[int]] = {}
        for k, n in enumerate(graph.nodes):
            for i in n.inputs:
                consumers.setdefault(i, []).append(k)
        self.population: dict[int, dict] = {}  # node index -> population record
        self.target: dict[int, int] = {}  # projection node -> population node
        for k, n in enumerate(graph.nodes):
            if role(n.op) == "population":
                self.population[k] = self._population(graph.tensors[n.outputs[0]].shape)
        for k, n in enumerate(graph.nodes):
            if role(n.op) != "projection":
                continue
            target = self._follow(n.outputs[0], graph, consumers)
            if target is None:  # a readout projection: its accumulators form their own population
                target = k
                self.population[k] = self._population(graph.tensors[n.outputs[0]].shape)
            self.target[k] = target
            self.population[target]["incoming"].append(k)
            src = self._source(n.inputs[0], graph, producer)
            if src is not None and src in self.population:
                self.population[src]["fan_out"] = True
        v = self.profile.value
        state_bytes = v("params.neuron_state_bytes") + v("params.ring_buffer_bytes_per_neuron")
        header, syn = v("params.row_header_bytes"), v("params.synapse_bytes")
        peak = 0
        for k, pop in self.population.items():
            per_core = math.ceil(pop["neurons"] / pop["cores"])
            rows = sum(self._row_bytes(j, pop, header, syn) for j in pop["incoming"])
            state = per_core * state_bytes
            if state > self.budget:
                raise ModelError(f"does not fit {self.profile.name}: {per_core} neurons x {state_bytes} B state "
                                 f"> {self.budget} B {self.sram} per core; lower neurons_per_core")
            pop["rows_in_dram"] = state + rows > self.budget
            pop["row_bytes"] = rows
            peak = max(peak, state + (0 if pop["rows_in_dram"] else rows))
        self.cores_used = sum(p["cores"] for p in self.population.values()) + self._dnn_cores()
        self.chips = max(1, math.ceil(self.cores_used / self.app_cores))
        entries = sum(p["cores"] for p in self.population.values() if p.get("fan_out"))
        table = v("units.router.table_entries")
        if entries > table:
            raise ModelError(f"does not fit {self.profile.name}: the router needs {entries} key/mask entries "
                             f"(one per source core) > {table}; raise neurons_per_core to merge keys")
        in_dram = sum(p["row_bytes"] for p in self.population.values() if p["rows_in_dram"])
        self.peak_bytes = {self.sram: peak, self.dram: in_dram}
        self.capacity_bytes = {self.sram: self.budget, self.dram: self.profile.value(f"memory.{self.dram}.size_bytes")}
        self.hops = 1 + (math.ceil(math.sqrt(self.chips)) if self.chips > 1 else 0)
        # per-run costing touches these for every node: work them out once
        self.spiking = [role(n.op) is not None for n in graph.nodes]
        self.owner = [self.target.get(k) if role(n.op) == "projection" else k if k in self.population else None
                      for k, n in enumerate(graph.nodes)]
        self.lookup = self.t["table_lookup_per_level"] * max(1, math.ceil(math.log2(max(len(self.population), 2))))
        self.placement = [self._placement(k) for k in range(len(graph.nodes))]
        self.notes.append(f"{len(self.population)} populations on {self.cores_used} cores of {self.chips} chip(s); "
                          f"router entries {entries}/{table}; synaptic rows in {self.dram} for "
                          f"{sum(1 for p in self.population.values() if p['rows_in_dram'])} populations")

    def _population(self, shape) -> dict:
        neurons = int(math.prod(shape)) if shape else 1
        return {"neurons": neurons, "cores": math.ceil(neurons / self.per_core), "incoming": []}

    def _row_bytes(self, proj: int, pop: dict, header: int, syn: int) -> int:
        """Synaptic-row bytes one target core holds for a projection (rows split by target core)."""
        graph = self.model.graph
        n_src = max(1, math.prod(graph.tensors[graph.nodes[proj].inputs[0]].shape))
        synapses = max(self.works[proj].macs, n_src)
        return math.ceil((n_src * header + synapses * syn) / pop["cores"])

    @staticmethod
    def _follow(tensor, graph, consumers):
        """The population a projection's output reaches through glue ops (sums, scales, delays)."""
        seen = set()
        frontier = [tensor]
        while frontier:
            t = frontier.pop()
            for k in consumers.get(t, []):
                if k in seen:
                    continue
                seen.add(k)
                kind = role(graph.nodes[k].op)
                if kind == "population":
                    return k
                if kind == "glue":
                    frontier.extend(graph.nodes[k].outputs[:1])
        return None

    @staticmethod
    def _source(tensor, graph, producer):
        while tensor in producer:
            k = producer[tensor]
            kind = role(graph.nodes[k].op)
            if kind == "population":
                return k
            if kind != "glue":
                return None
            tensor = graph.nodes[k].inputs[0]
        return None

    # -- per node ------------------------------------------------------------------------------------
    def node_cost(self, index, activity, events=None):
        node, work = self.model.graph.nodes[index], self.works[index]
        tensors = self.model.graph.tensors
        kind = role(node.op)
        if kind == "glue":
            return NodeCost(node.name, node.op, self.unit, 0.0, 0.0, 0.0, work.macs, 0,
                            {tensors[i].name: self.sram for i in node.outputs}, {"folded": "ring buffer"})
        if kind == "projection":
            return self._projection(index, node, work, activity)
        if kind == "population":
            return self._neurons(index, node, work, activity)
        return self._dnn(index, node, work)

    def _neurons(self, index, node, work, activity) -> NodeCost:
        pop = self.population[index]
        updates = activity.get("neuron_updates", pop["neurons"] if node.op.removesuffix("_FX") == "SNN_NEURON" else 0)
        spikes = activity.get("spikes", 0)
        t = self.t
        cycles = pop["cores"] * t["core_per_step"] + updates * t["neuron_update"] + spikes * t["spike_send"]
        packet_j = spikes * self.hops * self.e["packet_hop"] * 1e-12
        detail = {"cores": pop["cores"], "neuron_updates": updates, "spikes": spikes, "packets_sent": spikes,
                  "packet_hops": spikes * self.hops}
        return self._core_cost(index, node, work, pop, cycles, packet_j, 0, detail)

    def _projection(self, index, node, work, activity) -> NodeCost:
        pop = self.population[self.target[index]]
        t = self.t
        events_in = activity.get("input_events", 0)
        synaptic = activity.get("synaptic_events", 0)
        packets = round(events_in * self._cores_reached(index, pop, synaptic / events_in)) if events_in else 0
        row = t["dma_setup"] if pop["rows_in_dram"] else t["local_row_access"]
        cycles = packets * (t["packet_receive"] + self.lookup + row) + synaptic * t["synaptic_event"]
        dram_bytes = 0
        if pop["rows_in_dram"]:
            syn = self.profile.value("params.synapse_bytes")
            dram_bytes = packets * self.profile.value("params.row_header_bytes") + synaptic * syn
        detail = {"input_events": events_in, "synaptic_events": synaptic, "packets_received": packets,
                  "rows": self.dram if pop["rows_in_dram"] else self.sram, "dram_bytes": dram_bytes,
                  "target": self.model.graph.nodes[self.target[index]].name}
        return self._core_cost(index, node, work, pop, cycles, dram_bytes * self.e["sdram_byte"] * 1e-12, dram_bytes, detail)

    def _cores_reached(self, index, pop, fan: float) -> float:
        """Target cores one input event is multicast to (one packet each). A population is cut
        into cores in flat (channel, row, column) order: a dense layer's `fan` targets fill
        consecutive cores; a convolution's lie in a band of about kh / stride output rows in
        every output channel, and a band of `span` indices overlaps 1 + (span - 1) / core size
        cores on average."""
        per_core = math.ceil(pop["neurons"] / pop["cores"])
        node, tensors = self.model.graph.nodes[index], self.model.graph.tensors
        out = tensors[node.outputs[0]].shape
        if node.op.removesuffix("_FX") in CONV_PROJECTIONS and len(out) == 4:
            _, channels, h, w = out
            kh, stride = tensors[node.inputs[1]].shape[2], int(node.attrs["stride"][0])
            plane, span = h * w, min(h, math.ceil(kh / stride)) * w
            if plane >= per_core:  # every channel's band sits on its own cores
                reached = channels * (1 + (span - 1) / per_core)
            else:  # several channels share a core: the bands form one stretch
                reached = 1 + ((channels - 1) * plane + span - 1) / per_core
        else:
            reached = math.ceil(fan / per_core)
        return min(pop["cores"], max(1.0, reached))

    def _placement(self, k) -> dict:
        node, tensors = self.model.graph.nodes[k], self.model.graph.tensors
        owner = self.owner[k]
        spill = owner is not None and role(node.op) == "projection" and self.population[owner]["rows_in_dram"]
        return {tensors[i].name: self.dram if spill else self.sram for i in node.inputs if i >= 0}

    def _core_cost(self, index, node, work, pop, cycles, extra_j, dram_bytes, detail) -> NodeCost:
        per_core_s = cycles / pop["cores"] / self.freq
        energy = cycles / self.freq * self.core_w + extra_j
        return NodeCost(node.name, node.op, self.unit, cycles, per_core_s, energy, work.macs,
                        int(dram_bytes), self.placement[index], detail)

    # -- non-spiking layers (SpiNNaker 2) --------------------------------------------------------------
    def _dnn_cores(self) -> int:
        return max((self._dnn_split(w)[0] for n, w in zip(self.model.graph.nodes, self.works)
                    if not role(n.op)), default=0)

    def _dnn_split(self, work) -> tuple[int, float]:
        """(PEs used, cycles on the busiest PE) for one non-spiking layer."""
        t = self.t
        if work.kind in MAC_KINDS and not work.float_math:
            rows, cols = (self.profile.value(f"units.{self.unit}.mac_array_{d}") for d in ("rows", "cols"))
            pixels = max(work.outputs // max(work.channels, 1), 1)
            tiles = math.ceil(work.channels / rows) * math.ceil(pixels / cols)
            pes = min(self.app_cores, tiles)
            per_tile = work.reduction + t["mac_array_setup"]
            return pes, math.ceil(tiles / pes) * per_tile
        if work.kind == "dwconv" and not work.float_math:  # no cross-channel reduction: one array row in use
            pixels = max(work.outputs // max(work.channels, 1), 1)
            tiles = work.channels * math.ceil(pixels / self.profile.value(f"units.{self.unit}.mac_array_cols"))
            pes = min(self.app_cores, tiles)
            return pes, math.ceil(tiles / pes) * (work.reduction + t["mac_array_setup"])
        per_elem = t["float_mac"] if work.float_math else t["eltwise_per_element"]
        elems = max(work.valid_terms, work.outputs) if work.kind != "copy" else 0
        pes = max(1, min(self.app_cores, math.ceil(elems / 256)))
        return pes, math.ceil(elems / pes) * per_elem

    def _dnn(self, index, node, work) -> NodeCost:
        if work.kind == "copy":  # a reshape: the next layer reads the same bytes
            return NodeCost(node.name, node.op, self.unit, 0.0, 0.0, 0.0, work.macs, 0,
                            {self.model.graph.tensors[i].name: self.sram for i in node.inputs if i >= 0},
                            {"elided": "reshape"})
        pes, busiest = self._dnn_split(work)
        # activations are spread to the PEs and gathered back over the NoC, then all PEs sync
        noc_s = (work.in_bytes + work.out_bytes) / self.profile.value("params.noc_bytes_per_s") \
            + self.t["layer_sync"] / self.freq
        compute_s = busiest / self.freq + noc_s
        weights_per_pe = work.weight_bytes / pes
        dram_bytes = work.weight_bytes if weights_per_pe > self.budget else 0
        t = max(compute_s, dram_bytes / self.dram_bw)
        on_mac = work.kind in MAC_KINDS | {"dwconv"} and not work.float_math
        energy = pes * self.core_w * t + (work.macs * self.mac_pj * 1e-12 if on_mac else 0.0) \
            + dram_bytes * self.e["sdram_byte"] * 1e-12
        placement = {self.model.graph.tensors[i].name: self.dram if dram_bytes and self.model.graph.tensors[i].storage == "const"
                     else self.sram for i in node.inputs + node.outputs if i >= 0}
        return NodeCost(node.name, node.op, "mac-array" if on_mac else self.unit, t * self.freq, t, energy,
                        work.macs, work.in_bytes + work.weight_bytes + work.out_bytes, placement,
                        {"pes": pes, "busiest_pe_cycles": busiest, "noc_s": noc_s, "dram_bytes": dram_bytes})

    # -- run level: the time step ------------------------------------------------------------------------
    def summarize(self, costs, activity) -> dict:
        dynamic = sum(c.energy_j for c in costs)
        if not self.population:  # layers one after another on the MAC arrays; the chip idles meanwhile
            latency = sum(c.latency_s for c in costs)
            return {"latency_s": latency, "energy_j": dynamic + self.chips * self.chip_idle_w * latency,
                    "cores": self.cores_used, "chips": self.chips}
        busy: dict[int, float] = {k: 0.0 for k in self.population}
        dram_s: dict[int, float] = {k: 0.0 for k in self.population}
        cores_per_chip = min(self.app_cores, self.cores_used)
        for c, owner in zip(costs, self.owner):
            if owner is None:
                continue
            pop = self.population[owner]
            busy[owner] += c.cycles / pop["cores"] / self.freq
            dram_s[owner] += c.detail.get("dram_bytes", 0) / pop["cores"] / (self.dram_bw / cores_per_chip)
        core_s = {k: max(busy[k], dram_s[k]) for k in busy}
        busiest = max(core_s.values())
        names = self.model.graph.nodes
        slack = {names[k].name: 1 - s / self.timestep for k, s in core_s.items()}
        real_time = busiest <= self.timestep
        step = self.timestep if real_time else busiest
        dnn_s = sum(c.latency_s for c, spiking in zip(costs, self.spiking) if not spiking)
        latency = step + dnn_s
        hop_s = self.hops * (self.profile.value("units.router.hop_latency_s", 0.0)
                             or self.profile.value("units.router.hop_cycles", 0) / self.op.clocks_hz["router"])
        out = {"latency_s": latency, "energy_j": dynamic + self.chips * self.chip_idle_w * latency,
               "real_time": real_time, "busiest_core_s": busiest, "min_slack": min(slack.values()),
               "slack_per_population": {n: round(s, 4) for n, s in slack.items()},
               "cores": self.cores_used, "chips": self.chips, "packet_latency_s": hop_s}
        if not real_time:
            worst = max(core_s, key=core_s.get)
            out["status"] = (f"misses real time: population {names[worst].name!r} needs "
                             f"{busiest * 1e3:.3g} ms per {self.timestep * 1e3:.3g} ms step")
        return out
