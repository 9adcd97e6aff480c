"""A power trace: sample times, voltage, current, optional logic channels, and markers.

Units are SI at this boundary: seconds (meter time base), volts, amperes, joules, watts.
Markers are inference windows ``(t_start, t_end)`` and/or single edge timestamps, both
in meter time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgert.errors import FormatError

CSV_MAGIC = "# edgert-trace v1"


def _meta_json(meta: dict) -> str:
    # numpy scalars (np.int64 counts, np.float32 readings) become plain numbers
    return json.dumps(meta, default=lambda o: o.item() if hasattr(o, "item") else str(o))


@dataclass
class Trace:
    t: np.ndarray
    v: np.ndarray
    i: np.ndarray
    logic: np.ndarray | None = None  # uint8 per sample: digital inputs D0..D7 (PPK2), else None
    windows: list[tuple[float, float]] = field(default_factory=list)
    edges: list[float] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.t = np.asarray(self.t, dtype=np.float64)
        self.v = np.broadcast_to(np.asarray(self.v, dtype=np.float64), self.t.shape).copy()
        self.i = np.asarray(self.i, dtype=np.float64)
        if self.i.shape != self.t.shape:
            raise ValueError(f"trace current has {self.i.size} samples but time has {self.t.size}")
        if self.logic is not None:
            self.logic = np.asarray(self.logic, dtype=np.uint8)
        if self.t.size > 1 and np.any(np.diff(self.t) <= 0):
            raise ValueError("trace times must be strictly increasing")
        self.windows = [(float(a), float(b)) for a, b in self.windows]
        self.edges = [float(e) for e in self.edges]
        self._cumulative = None

    def __len__(self):
        return self.t.size

    @property
    def power(self) -> np.ndarray:
        return self.v * self.i

    @property
    def duration(self) -> float:
        return float(self.t[-1] - self.t[0]) if self.t.size else 0.0

    @classmethod
    def empty(cls, **meta) -> Trace:
        return cls(np.empty(0), np.empty(0), np.empty(0), meta=dict(meta))

    @classmethod
    def concat(cls, parts: list[Trace], **meta) -> Trace:
        """Join consecutive chunks (times already on one time base)."""
        if not parts:
            return cls.empty(**meta)
        has_logic = all(p.logic is not None for p in parts)
        return cls(
            np.concatenate([p.t for p in parts]),
            np.concatenate([p.v for p in parts]),
            np.concatenate([p.i for p in parts]),
            np.concatenate([p.logic for p in parts]) if has_logic else None,
            [w for p in parts for w in p.windows],
            [e for p in parts for e in p.edges],
            {**parts[0].meta, **meta},
        )

    # ---- energy -------------------------------------------------------------------

    def _energy_at(self, times) -> np.ndarray:
        """Energy integrated from the first sample to each of ``times`` (trapezoid rule,
        power linear between samples; times outside the trace are clamped to it)."""
        if self.t.size < 2:
            raise ValueError("a trace needs at least two samples to integrate")
        if self._cumulative is None:
            p = self.power
            self._cumulative = np.concatenate(
                [[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(self.t))])
        t = np.clip(np.asarray(times, dtype=np.float64), self.t[0], self.t[-1])
        k = np.clip(np.searchsorted(self.t, t, side="right") - 1, 0, self.t.size - 2)
        p = self.power
        h = self.t[k + 1] - self.t[k]
        dt = t - self.t[k]
        p_at = p[k] + (p[k + 1] - p[k]) * dt / h
        return self._cumulative[k] + 0.5 * (p[k] + p_at) * dt

    def energy(self, t_start: float | None = None, t_end: float | None = None) -> float:
        """Energy in joules between two meter times (default: the whole trace)."""
        a = self.t[0] if t_start is None else t_start
        b = self.t[-1] if t_end is None else t_end
        self._check_inside(a, b)
        ea, eb = self._energy_at([a, b])
        return float(eb - ea)

    def window_energies(self, windows=None) -> np.ndarray:
        """Energy of each window (default: this trace's own windows), in joules."""
        w = np.asarray(self.windows if windows is None else windows, dtype=np.float64)
        if w.size == 0:
            return np.empty(0)
        w = w.reshape(-1, 2)
        for a, b in w:
            self._check_inside(a, b)
        return self._energy_at(w[:, 1]) - self._energy_at(w[:, 0])

    def energy_per_inference(self, windows=None, n: int = 1,
                             idle_power_w: float = 0.0) -> tuple[float, float]:
        """(energy J, time s) per inference for ``n`` inferences spread over ``windows``
        (default: this trace's windows), minus an idle baseline drawn over the window time."""
        windows = self.windows if windows is None else windows
        duration = float(sum(b - a for a, b in windows))
        energy = float(self.window_energies(windows).sum()) - idle_power_w * duration
        return energy / n, duration / n

    def mean_power(self, t_start: float | None = None, t_end: float | None = None) -> float:
        a = self.t[0] if t_start is None else t_start
        b = self.t[-1] if t_end is None else t_end
        return self.energy(a, b) / (b - a)

    def idle_power(self, windows=None) -> float:
        """Mean power outside the given windows (default: this trace's windows): the idle
        baseline drawn between inferences."""
        w = sorted(self.windows if windows is None else windows)
        total_e = self.energy()
        inside_e = float(np.sum(self.window_energies(w))) if w else 0.0
        inside_t = sum(b - a for a, b in w)
        outside_t = self.duration - inside_t
        if outside_t <= 0:
            raise ValueError("no idle time outside the windows to estimate a baseline from")
        return (total_e - inside_e) / outside_t

    def _check_inside(self, a, b):
        if not (self.t.size and self.t[0] <= a <= b <= self.t[-1]):
            span = (float(self.t[0]), float(self.t[-1])) if self.t.size else "empty"
            raise ValueError(f"window ({a:.6g}, {b:.6g}) s is not inside the trace {span}; "
                             "check the marker alignment or record longer")

    # ---- files --------------------------------------------------------------------

    def save(self, path) -> Path:
        """Write .npz (compact) or .csv (text), chosen by the file suffix."""
        path = Path(path)
        if path.suffix == ".npz":
            arrays = {"t": self.t, "v": self.v, "i": self.i,
                      "windows": np.asarray(self.windows, dtype=np.float64).reshape(-1, 2),
                      "edges": np.asarray(self.edges, dtype=np.float64),
                      "meta": np.array(_meta_json(self.meta))}
            if self.logic is not None:
                arrays["logic"] = self.logic
            with open(path, "wb") as f:
                np.savez_compressed(f, **arrays)
        elif path.suffix == ".csv":
            cols = [self.t, self.v, self.i] + ([self.logic] if self.logic is not None else [])
            header = [CSV_MAGIC, "# meta: " + _meta_json(self.meta)]
            header += [f"# window: {a!r},{b!r}" for a, b in self.windows]
            header += [f"# edge: {e!r}" for e in self.edges]
            header.append("t_s,v_V,i_A" + (",logic" if self.logic is not None else ""))
            with open(path, "w") as f:
                f.write("\n".join(header) + "\n")
                fmt = ["%.9f", "%.9g", "%.9g"] + (["%d"] if self.logic is not None else [])
                np.savetxt(f, np.column_stack(cols), fmt=fmt, delimiter=",")
        else:
            raise ValueError(f"cannot save a trace as {path.name!r}: use a .npz or .csv name")
        return path

    @classmethod
    def load(cls, path) -> Trace:
        path = Path(path)
        try:
            if path.suffix == ".npz":
                return cls._load_npz(path)
            if path.suffix == ".csv":
                return cls._load_csv(path)
        except Exception as e:  # any parse failure of a foreign/corrupt file is a FormatError
            raise FormatError(f"{path}: not a readable edgert trace ({e})") from e
        raise FormatError(f"{path}: unknown trace file type; expected .npz or .csv")

    @classmethod
    def _load_npz(cls, path):
        with np.load(path, allow_pickle=False) as z:
            return cls(z["t"], z["v"], z["i"], z["logic"] if "logic" in z else None,
                       [tuple(w) for w in z["windows"]], list(z["edges"]),
                       json.loads(str(z["meta"])))

    @classmethod
    def _load_csv(cls, path):
        with open(path) as f:
            lines = f.read().splitlines()
        if not lines or lines[0] != CSV_MAGIC:
            raise ValueError(f"first line is not {CSV_MAGIC!r}")
        meta, windows, edges, n_header = {}, [], [], 1
        for line in lines[1:]:
            if line.startswith("# meta: "):
                meta = json.loads(line[8:])
            elif line.startswith("# window: "):
                a, b = line[10:].split(",")
                windows.append((float(a), float(b)))
            elif line.startswith("# edge: "):
                edges.append(float(line[8:]))
            elif not line.startswith("#"):
                break
            n_header += 1
        columns = lines[n_header].split(",")
        data = np.loadtxt(lines[n_header + 1:], delimiter=",", ndmin=2).reshape(-1, len(columns))
        logic = data[:, 3].astype(np.uint8) if "logic" in columns else None
        return cls(data[:, 0], data[:, 1], data[:, 2], logic, windows, edges, meta)

    # ---- plot ---------------------------------------------------------------------

    def plot(self, path, title: str | None = None, max_points: int = 200_000) -> Path:
        """PNG of power over time with inference windows shaded and edges drawn."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        step = max(1, self.t.size // max_points)  # keep plots of long traces fast
        fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
        ax.plot(self.t[::step], self.power[::step] * 1e3, lw=0.6, color="tab:blue")
        for a, b in self.windows:
            ax.axvspan(a, b, color="tab:orange", alpha=0.2, lw=0)
        for e in self.edges:
            ax.axvline(e, color="tab:red", lw=0.6)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("power (mW)")
        ax.set_title(title or self.meta.get("meter", "power trace"))
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(path, format="png")
        plt.close(fig)
        return Path(path)
