"""PULP clusters (GAP8, PULP-OPEN): 1-8 RI5CY cores on a banked L1, fed by DMA from L2 and L3.

Per node: the PULP-NN-style kernel's instruction mix (kernels_pulpnn.py) is dealt out to the
cores in whole rows / channels / neurons, so the busiest core sets the pace (load imbalance);
TCDM bank conflicts stall a share of the loads; a fork and a barrier close each parallel region.
Data moves L2 -> L1 in tiles that fit the L1 budget with double buffering (DMA overlaps
compute), and from L3 when the weights or activations do not fit L2. With `fc_only` the node
runs on the fabric controller directly out of L2. Energy comes from the operating point's power.
"""
from __future__ import annotations

import math

from edgert.errors import InputError, ModelError
from edgert.runtime.ir import CONST

from .core import DeviceModel, options, register
from .kernels_c import activity_mix
from .kernels_pulpnn import Split, kernel_split
from .mix import CycleTables, cycles
from .report import NodeCost


@register("pulp")
class PulpModel(DeviceModel):
    OPTIONS = {"cores": None, "freq_hz": None, "operating_point": None, "weights": "auto", "fc_only": False}

    def __init__(self, profile, model, works, **config):
        super().__init__(profile, model, works)
        v = profile.value
        max_cores = v("units.cluster.cores")
        cfg = options(profile.name, config, {**self.OPTIONS, "cores": max_cores})
        self.fc_only = bool(cfg["fc_only"])
        self.unit = "fc" if self.fc_only else "cluster"
        self.cores = 1 if self.fc_only else int(cfg["cores"])
        if not 1 <= self.cores <= max_cores:
            raise InputError(f"{profile.name}: cores must be 1..{max_cores}, got {cfg['cores']}")
        clock = v(f"units.{self.unit}.clock")
        self.op = profile.operating_point(clock, cfg["freq_hz"], cfg["operating_point"])
        self.freq = cfg["freq_hz"] or self.op.clocks_hz[clock]
        features = v(f"units.{self.unit}.features")
        self.tables = CycleTables(profile, features)
        self.features = features
        self.shared_fpus = features.get("shared_fpus")
        self.l1_budget = v("memory.L1.budget_bytes", v("memory.L1.size_bytes"))
        self.banks = v("memory.L1.banks")
        self.conflict_scale = v("params.tcdm_conflict_scale")
        self.fc_l2_stall = v("params.fc_l2_load_stall")
        self.dma_bw = v("dma.cluster.bandwidth_bytes_per_cycle")
        self.dma_setup = v("dma.cluster.setup_cycles")
        self.l3_bw = v("dma.udma_l3.bandwidth_bytes_per_s")
        self.l3_setup_s = v("dma.udma_l3.setup_s")
        self.fork = v("timing.fork")
        self.barrier = v("timing.barrier")
        self._place(cfg["weights"])
        self.config = {"cores": self.cores, "unit": self.unit, "freq_hz": self.freq,
                       "operating_point": self.op.name, "weights": cfg["weights"]}

    # -- memory placement -------------------------------------------------------------------
    def _place(self, weights: str):
        if weights not in ("auto", "l2", "l3"):
            raise InputError(f"weights must be 'auto', 'l2' or 'l3', got {weights!r}")
        v = self.profile.value
        l2_budget = v("memory.L2.budget_bytes", v("memory.L2.size_bytes"))
        arena = self.model.arena_size
        tensors = self.model.graph.tensors
        self.level: dict[int, str] = {}
        self.activations_in_l3 = arena > l2_budget
        if self.activations_in_l3:
            self.notes.append(f"activation arena {arena} B exceeds the L2 budget {l2_budget} B: activations live in L3")
        free = 0 if self.activations_in_l3 else l2_budget - arena
        in_l2 = in_l3 = 0
        for i, t in enumerate(tensors):
            if t.storage != CONST:
                self.level[i] = "L3" if self.activations_in_l3 else "L2"
                continue
            if weights != "l3" and in_l2 + t.nbytes <= free:
                self.level[i], in_l2 = "L2", in_l2 + t.nbytes
            else:
                self.level[i], in_l3 = "L3", in_l3 + t.nbytes
        if weights == "l2" and in_l3:
            raise ModelError(f"weights do not fit {self.profile.name}'s L2: {self.model.weight_bytes} B weights + "
                             f"{arena} B activations > {l2_budget} B; use weights='l3' or 'auto'")
        if in_l3 + (arena if self.activations_in_l3 else 0) > v("memory.L3.size_bytes"):
            raise ModelError(f"does not fit {self.profile.name}: {in_l3} B in L3 > {v('memory.L3.size_bytes')} B")
        if in_l3 and weights == "auto":
            self.notes.append(f"{in_l3} B of weights do not fit L2 next to the activations and stream from L3")
        self.peak_bytes = {"L1": 0, "L2": (0 if self.activations_in_l3 else arena) + in_l2,
                           "L3": in_l3 + (arena if self.activations_in_l3 else 0)}

    # -- per node ---------------------------------------------------------------------------
    def node_cost(self, index, activity, events=None):
        work = self.works[index]
        node = self.model.graph.nodes[index]
        split = kernel_split(work)
        counted, unknown = activity_mix(activity, work.float_math)
        if counted:  # data-dependent work on top, spread evenly over the units
            split = Split(split.fixed, split.per_unit.plus(counted.scaled(1 / max(split.units, 1))), split.units)
        table = self.tables(work.double)
        # the shared FPUs handle single precision only; soft-double runs on the cores
        shared_fpus = None if work.double and not self.features.get("fpu_double") else self.shared_fpus
        for name in unknown:
            self.note(f"activity counter {name!r} of {node.op} has no cost entry; not costed")
        l3_bytes = sum(self.model.graph.tensors[i].nbytes for i in node.inputs + node.outputs
                       if i >= 0 and self.level[i] == "L3")
        if self.fc_only:
            compute, detail, busy_core_cycles = self._fc_cycles(split, table)
            dma_bytes, l1_used = 0, 0
        else:
            compute, detail, busy_core_cycles = self._cluster_cycles(split, table, shared_fpus)
            compute, dma_bytes, l1_used, tiles = self._tiled(work, compute, detail)
            detail["tiles"] = tiles
        self.peak_bytes["L1"] = max(self.peak_bytes["L1"], l1_used)
        cluster_s = compute / self.freq
        l3_s = (self.l3_setup_s + l3_bytes / self.l3_bw) if l3_bytes else 0.0
        latency = max(cluster_s, l3_s) + (self.l3_setup_s if l3_bytes and l3_s > cluster_s else 0.0)
        cycles_total = latency * self.freq
        detail.update({"l3_bytes": l3_bytes, "l3_s": l3_s, "dma_bytes": dma_bytes, "active_cores": detail.get("active_cores", 1)})
        energy = self._energy(latency, busy_core_cycles, dma_bytes, l3_bytes)
        placement = {self.model.graph.tensors[i].name: self.level[i] for i in node.inputs + node.outputs if i >= 0}
        return NodeCost(node.name, node.op, self.unit, cycles_total, latency, energy, work.macs,
                        work.in_bytes + work.weight_bytes + work.out_bytes, placement, detail)

    def _cluster_cycles(self, split, table, shared_fpus):
        per_unit = cycles(split.per_unit, table)
        active = max(1, min(self.cores, split.units))
        busiest_units = math.ceil(split.units / active)
        busiest = per_unit * busiest_units
        # bank conflicts: chance another active core hits the same bank, scaled for structured access
        p_conflict = self.conflict_scale * (1 - (1 - 1 / self.banks) ** (active - 1))
        conflict = split.per_unit["load"] * busiest_units * p_conflict
        fpu = _fpu_contention(split.per_unit, active, table, shared_fpus) * busiest_units
        fixed = cycles(split.fixed, table) + self.fork + self.barrier
        total = fixed + busiest + conflict + fpu
        detail = {"compute_cycles": busiest, "fixed_cycles": fixed, "tcdm_conflict_cycles": conflict,
                  "fpu_contention_cycles": fpu, "active_cores": active,
                  "imbalance": busiest_units * active / split.units if split.units else 1.0}
        return total, detail, per_unit * split.units + cycles(split.fixed, table) + conflict * active + fpu * active

    def _fc_cycles(self, split, table):
        m = split.per_unit.scaled(split.units).plus(split.fixed)
        stall = m["load"] * self.fc_l2_stall  # model data sits in L2, not in a TCDM
        total = cycles(m, table) + stall
        return total, {"compute_cycles": total - stall, "l2_stall_cycles": stall, "active_cores": 1}, total

    def _tiled(self, work, compute, detail):
        """L2 -> L1 traffic under the L1 budget with double buffering; returns the node's cycles."""
        im2col = 2 * work.reduction * self.cores if work.kind == "conv" else 0
        budget = self.l1_budget - im2col
        w, x, y = work.weight_bytes, work.in_bytes, work.out_bytes
        if x + w + y <= budget:
            tiles, dma_bytes, l1 = 1, x + w + y, x + w + y + im2col
        else:
            w_tile_budget = budget / 4  # two weight buffers take at most half the budget
            c_tiles = max(1, math.ceil(w / w_tile_budget)) if w else 1
            act_budget = max(budget - 2 * min(w, w_tile_budget), budget / 4)
            r_tiles = max(1, math.ceil(2 * (x + y / c_tiles) / act_budget))
            tiles = c_tiles * r_tiles
            dma_bytes = w * (r_tiles if c_tiles > 1 else 1) + x * c_tiles + y
            l1 = self.l1_budget
        dma = tiles * 3 * self.dma_setup + dma_bytes / self.dma_bw
        if tiles == 1:
            total = compute + dma  # nothing to overlap with: load, compute, store
        else:  # steady state overlaps; the first load and the last store are exposed
            total = max(compute, dma) + (compute + dma) / tiles
        detail.update({"dma_cycles": dma})
        return total, dma_bytes, int(l1), tiles

    def _energy(self, latency, busy_core_cycles, dma_bytes, l3_bytes):
        power = self.op.power_w
        if not power:
            return None
        clock = self.profile.value(f"units.{self.unit}.clock")
        scale = self.freq / self.op.clocks_hz[clock]  # dynamic power follows the clock at fixed voltage
        per_core_cycle = power["active_per_core"][self.unit] / self.op.clocks_hz[clock]
        e = busy_core_cycles * per_core_cycle + power.get("soc_idle", 0.0) * latency
        if not self.fc_only:
            e += power.get("cluster_on", 0.0) * scale * latency
        pj = self.profile.value("energy_pj")
        return e + (dma_bytes * pj["l2_l1_dma_byte"] + l3_bytes * pj["l3_byte"]) * 1e-12


def _fpu_contention(per_unit, active: int, table: dict, shared_fpus) -> float:
    """Extra cycles per unit when more cores issue FP work than there are shared FPUs."""
    if not shared_fpus:
        return 0.0
    fp_cycles = sum(per_unit[c] * table[c] for c in ("flop", "fma", "fdiv", "fcmp", "fcvt", "fexp"))
    total = cycles(per_unit, table)
    if not total:
        return 0.0
    demand = active * fp_cycles / total  # FPUs busy on average
    return fp_cycles * (demand / shared_fpus - 1) if demand > shared_fpus else 0.0
