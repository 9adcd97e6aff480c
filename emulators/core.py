"""The emulator core: run a model through the host Session and attach device costs per node.

Emulators never re-implement the math: outputs are exactly the host Session's. Costs that depend
only on shapes are computed once per (model, device, config); nodes whose kernels report
activity counters (spikes, synaptic events, tree nodes visited, ...) are costed per run from the
counters the Session's observer passes.
"""
from __future__ import annotations

from pathlib import Path

from edgert.devices.profiles import Profile, load_profile
from edgert.errors import InputError, ProfileError
from edgert.runtime import Model, Session, load
from edgert.runtime import kernels as runtime_kernels
from edgert.runtime.ir import CONST

from . import native_events
from .report import NodeCost, Report
from .workload import Work, node_work

_COST_MODELS: dict[str, type] = {}
MEMO_SIZE = 4096  # remembered costs of data-dependent nodes per Emulator


def register(kind: str):
    """Class decorator: the cost model for profiles whose `kind` is `kind`."""
    def add(cls):
        _COST_MODELS[kind] = cls
        return cls
    return add


def cost_model(kind: str) -> type | None:
    _load_builtin_models()
    return _COST_MODELS.get(kind)


def _load_builtin_models() -> None:
    from . import dpu, jetson, mcu, pulp, spinnaker  # noqa: F401  (importing registers them)


class DeviceModel:
    """Base of the cost models. Subclasses list their config keys in OPTIONS, set `config`
    (resolved, for the report), `peak_bytes`, `capacity_bytes`, `notes`, and implement `node_cost`."""

    OPTIONS: dict = {}  # config key -> default
    USES_EVENTS = False  # costs our C kernels' loop events, some of which depend on the data

    def __init__(self, profile: Profile, model: Model, works: list[Work], **config):
        self.profile, self.model, self.works = profile, model, works
        self.config: dict = {}
        self.peak_bytes: dict[str, int] = {}
        self.capacity_bytes: dict[str, int] = {m.name: m.size_bytes for m in profile.memory}
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        """Add a line to the report's notes, once."""
        if text not in self.notes:
            self.notes.append(text)

    def node_cost(self, index: int, activity: dict[str, int], events: dict | None = None) -> NodeCost:
        """Cost of node `index` given its activity counters and, for kernels whose loops depend
        on the data, loop events counted on this run's values (None: the shape-based ones)."""
        raise NotImplementedError

    def summarize(self, costs: list[NodeCost], activity: dict[int, dict]) -> dict:
        """Run-level results that are not a sum over nodes (units working in parallel, real-time
        slack, multi-core throughput, ...). A `latency_s` / `energy_j` here replaces the sums."""
        return {}


def options(device: str, config: dict, defaults: dict) -> dict:
    """`config` over `defaults`; a key the device model does not know is an InputError."""
    unknown = set(config) - set(defaults)
    if unknown:
        raise InputError(f"device {device!r} has no option {sorted(unknown)}; options: {', '.join(sorted(defaults))}")
    return {**defaults, **{k: v for k, v in config.items() if v is not None}}


class Emulator:
    """A model prepared for one device and configuration; `run` may be called many times."""

    def __init__(self, model, device: str | Profile, backend: str = "c", **config):
        if not isinstance(model, Model):
            model = load(model) if isinstance(model, (str, Path)) else Model.from_bytes(bytes(model))
        self.model = model
        self.profile = device if isinstance(device, Profile) else load_profile(device)
        cls = cost_model(self.profile.kind)
        if cls is None:
            raise ProfileError(f"{self.profile.path.name}: no cost model for kind {self.profile.kind!r}; "
                               f"known kinds: {', '.join(sorted(_COST_MODELS))}")
        graph = model.graph
        works = [node_work(n, graph, runtime_kernels.macs(n, graph.tensors)) for n in graph.nodes]
        self.device_model: DeviceModel = cls(self.profile, model, works, **config)
        self.session = Session(model, backend=backend)
        uses_events = self.device_model.USES_EVENTS
        self._dynamic = [bool(runtime_kernels.info(n.op).activity) or (uses_events and native_events.needs_data(n.op))
                         for n in graph.nodes]
        self._static = [None if dyn else self.device_model.node_cost(k, {}) for k, dyn in enumerate(self._dynamic)]
        self._memo: dict = {}

    def run(self, inputs):
        """(outputs, Report) for one invocation; outputs are exactly the host Session's."""
        records: dict = {}
        if any(self._dynamic):
            outputs = self.session.run(inputs, observer=lambda rec: records.__setitem__(rec.index, rec))
            costs = [c if c is not None else self._dynamic_cost(k, records, inputs) for k, c in enumerate(self._static)]
        else:
            outputs = self.session.run(inputs)  # no data-dependent cost: skip the per-node observer
            costs = list(self._static)
        dm = self.device_model
        activity = {k: rec.activity for k, rec in records.items()}
        return outputs, Report(self.profile.name, dict(dm.config), costs, dict(dm.peak_bytes),
                               dict(dm.capacity_bytes), list(dm.notes), dm.summarize(costs, activity))

    def _dynamic_cost(self, k: int, records: dict, inputs) -> NodeCost:
        graph = self.model.graph
        node = graph.nodes[k]
        events = None
        if self.device_model.USES_EVENTS and native_events.needs_data(node.op):
            values = [self._value(i, records, inputs) for i in node.inputs]
            events = {**self.device_model.works[k].events, **native_events.data_events(node, graph, values)}
        # the same counts cost the same: runs over similar inputs mostly repeat them
        key = (k, tuple(records[k].activity.items()), tuple(events.items()) if events else ())
        if key not in self._memo:
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = self.device_model.node_cost(k, records[k].activity, events)
        return self._memo[key]

    def _value(self, tensor: int, records: dict, inputs):
        """A tensor's value in this run: a constant, a graph input, or a node's output."""
        graph = self.model.graph
        if tensor < 0:
            return None
        if graph.tensors[tensor].storage == CONST:
            return graph.tensors[tensor].data
        if tensor in graph.inputs:
            if isinstance(inputs, dict):
                return inputs[graph.tensors[tensor].name]
            return inputs if len(graph.inputs) == 1 else inputs[graph.inputs.index(tensor)]
        for rec in records.values():
            node = graph.nodes[rec.index]
            if tensor in node.outputs:
                return rec.outputs[node.outputs.index(tensor)]
        return None


def emulate(model, device, inputs, backend: str = "c", **config):
    """Run `model` on the host and estimate its cost on `device` (a profile name or Profile).
    Returns (outputs, Report). `config` is device-specific (cores, freq_hz, weights, kernels, ...)."""
    return Emulator(model, device, backend=backend, **config).run(inputs)
