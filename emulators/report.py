"""The emulation report: per-node cycles, time, energy and memory placement, with totals."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edgert import table


@dataclass
class NodeCost:
    name: str
    op: str
    unit: str  # compute unit that ran it (cluster, fc, cpu)
    cycles: float  # in that unit's clock
    latency_s: float
    energy_j: float | None  # None when the profile has no power figures
    macs: int
    bytes: int  # bytes the node reads and writes
    placement: dict[str, str]  # tensor name -> memory level
    detail: dict = field(default_factory=dict)  # breakdown: compute / dma / stall cycles, tiles, ...


@dataclass
class Report:
    device: str
    config: dict
    nodes: list[NodeCost]
    peak_bytes: dict[str, int]  # memory level -> peak bytes used
    capacity_bytes: dict[str, int]
    notes: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict)  # run-level results (DeviceModel.summarize)

    @property
    def cycles(self) -> float:
        return sum(n.cycles for n in self.nodes)

    @property
    def latency_s(self) -> float:
        return self.summary.get("latency_s", sum(n.latency_s for n in self.nodes))

    @property
    def energy_j(self) -> float | None:
        if "energy_j" in self.summary:
            return self.summary["energy_j"]
        energies = [n.energy_j for n in self.nodes]
        return None if any(e is None for e in energies) else sum(energies)

    @property
    def macs(self) -> int:
        return sum(n.macs for n in self.nodes)

    def to_dict(self) -> dict:
        return {"device": self.device, "config": self.config, "cycles": self.cycles,
                "latency_s": self.latency_s, "energy_j": self.energy_j, "macs": self.macs,
                "peak_bytes": self.peak_bytes, "capacity_bytes": self.capacity_bytes,
                "notes": self.notes, "summary": self.summary, "nodes": [asdict(n) for n in self.nodes]}

    def to_json(self, path=None) -> str:
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            Path(path).write_text(text)
        return text

    def table(self) -> str:
        rows = [[n.name[:32], n.op, n.unit, round(n.cycles), n.latency_s * 1e3,
                 "-" if n.energy_j is None else n.energy_j * 1e6, n.macs,
                 n.macs / n.cycles if n.cycles else 0.0, _where(n.placement)] for n in self.nodes]
        cfg = ", ".join(f"{k}={v}" for k, v in self.config.items())
        body = table.render(["node", "op", "unit", "cycles", "ms", "uJ", "MACs", "MAC/cyc", "placement"],
                            rows, title=f"{self.device} ({cfg})")
        memory = ", ".join(f"{lvl} {self.peak_bytes[lvl]}/{self.capacity_bytes[lvl]} B" for lvl in self.peak_bytes)
        energy = "-" if self.energy_j is None else f"{self.energy_j * 1e6:.4g} uJ"
        lines = [body, "", f"total: {self.cycles:.4g} cycles, {self.latency_s * 1e3:.4g} ms, {energy}, "
                 f"{self.macs} MACs", f"peak memory: {memory}"]
        lines += [f"{k}: {_show(v)}" for k, v in self.summary.items() if k not in ("latency_s", "energy_j")]
        return "\n".join(lines + [f"note: {n}" for n in self.notes])

    def plot(self, path) -> None:
        """PNG: per-layer latency and energy, largest contributors visible at a glance."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        labels = [f"{i}:{n.op}" for i, n in enumerate(self.nodes)]
        fig, axes = plt.subplots(2, 1, figsize=(max(6, 0.35 * len(labels) + 2), 6), sharex=True)
        axes[0].bar(labels, [n.latency_s * 1e3 for n in self.nodes], color="tab:blue")
        axes[0].set_ylabel("latency [ms]")
        axes[0].set_title(f"{self.device}: {self.latency_s * 1e3:.3g} ms per inference")
        if self.energy_j is not None:
            axes[1].bar(labels, [n.energy_j * 1e6 for n in self.nodes], color="tab:orange")
            axes[1].set_ylabel("energy [uJ]")
        else:
            axes[1].bar(labels, [n.cycles for n in self.nodes], color="tab:gray")
            axes[1].set_ylabel("cycles")
        axes[1].tick_params(axis="x", rotation=90, labelsize=7)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)


def _where(placement: dict[str, str]) -> str:
    levels = sorted(set(placement.values()))
    return "/".join(levels)


def _show(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
