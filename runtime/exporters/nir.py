"""Graph (a float spiking model compiled from NIR) -> nir.NIRGraph.

The inverse of runtime/importers/nir.py: each SNN op becomes its NIR node, and neuron
coefficients are turned back into NIR's continuous-time parameters (tau, r, v_leak, ...) in
float64, chosen so that importing the result with the same conventions (recorded in the
NIR metadata) rebuilds the same float32 coefficients, hence the same spikes.
"""
from __future__ import annotations

import json

import numpy as np

from edgert.errors import ModelError, UnsupportedOpError

from ..ir import Graph
from ..kernels.snn_ops import ALPHA, ALPHA_SYN, BETA, BETA_SYN, GAMMA, THRESHOLD, V_RESET
from ..spiking import CONVENTIONS_KEY, Conventions

PASS_THROUGH = ("SNN_ADD", "SNN_COPY")


def _nir():
    try:
        import nir
    except ImportError:
        raise ModelError("exporting NIR needs the `nir` package: pip install 'edgert[nir]'") from None
    return nir


def to_nir(model_or_graph):
    """Export a spiking model (edgert Model or Graph, float mode) as a nir.NIRGraph."""
    graph: Graph = getattr(model_or_graph, "graph", model_or_graph)
    meta = getattr(model_or_graph, "meta", None) or graph.meta
    if meta.get("family") != "snn" or "spiking" not in meta:
        raise ModelError("to_nir exports spiking models compiled from NIR (meta family 'snn')")
    conv = Conventions(**meta["spiking"])
    if conv.mode != "float":
        raise UnsupportedOpError("to_nir exports float models; compile the NIR source again with mode='float'")
    return _Exporter(graph, conv).build()


class _Exporter:
    def __init__(self, graph: Graph, conv: Conventions):
        self.g, self.conv, self.nir = graph, conv, _nir()
        self.producer = {t: k for k, n in enumerate(graph.nodes) for t in n.outputs[:1]}
        self.nodes: dict = {}
        self.edges: list[tuple[str, str]] = []
        self.names = {k: self._unique(n.name or f"node{k}") for k, n in enumerate(graph.nodes)}

    def _unique(self, name: str) -> str:
        taken = getattr(self, "_taken", set())
        self._taken = taken
        base, k = name, 1
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        taken.add(name)
        return name

    def _shape(self, t: int) -> np.ndarray:
        return np.array(self.g.tensors[t].shape[1:])

    def _skipped(self, k: int) -> bool:
        n = self.g.nodes[k]
        if n.op in PASS_THROUGH:
            return True
        # a spike_delay=1 import inserts "<neuron>.delay"; importing again inserts it again
        return (n.op == "SNN_DELAY" and self.conv.spike_delay == 1 and n.name.endswith(".delay")
                and self.producer.get(n.inputs[0]) is not None
                and self.g.nodes[self.producer[n.inputs[0]]].op == "SNN_NEURON")

    def sources(self, t: int) -> list[str]:
        """NIR nodes whose outputs sum to tensor t."""
        if t in self.g.inputs:
            return [self.input_names[t]]
        k = self.producer.get(t)
        if k is None:
            raise ModelError(f"tensor {self.g.tensors[t].name!r} has no producer")
        n = self.g.nodes[k]
        if n.op == "SNN_ADD":
            return [s for i in n.inputs for s in self.sources(i)]
        if self._skipped(k):
            return self.sources(n.inputs[0])
        return [self.names[k]]

    def build(self):
        nir = self.nir
        self.input_names = {}
        for t in self.g.inputs:
            name = self._unique(self.g.tensors[t].name)
            self.input_names[t] = name
            self.nodes[name] = nir.Input(input_type={"input": self._shape(t)})
        for k, n in enumerate(self.g.nodes):
            if self._skipped(k):
                continue
            node, x = self._node(n)
            self.nodes[self.names[k]] = node
            src = self.sources(x)
            if n.op in ("SNN_LINEAR", "SNN_LINEAR_EVENT") and len(self.g.tensors[x].shape) > 2:
                flat = self._unique(f"{self.names[k]}.flatten")
                self.nodes[flat] = nir.Flatten(input_type={"input": self._shape(x)}, start_dim=0, end_dim=-1)
                self.edges += [(s, flat) for s in src]
                src = [flat]
            self.edges += [(s, self.names[k]) for s in src]
        for t in self.g.outputs:
            name = self._unique(f"{self.g.tensors[t].name}.output" if self.g.tensors[t].name in self.nodes
                                else self.g.tensors[t].name)
            self.nodes[name] = nir.Output(output_type={"output": self._shape(t)})
            self.edges += [(s, name) for s in self.sources(t)]
        conventions = {k: v for k, v in self.conv.as_meta().items() if k not in ("batch", "synapses", "mode")}
        metadata = {CONVENTIONS_KEY: json.dumps(conventions, sort_keys=True)}
        return nir.NIRGraph(nodes=self.nodes, edges=self.edges, metadata=metadata, type_check=False)

    # -- one op -> one NIR node (and the tensor it reads) -------------------------------
    def _const(self, n, k: int) -> np.ndarray | None:
        i = n.inputs[k] if k < len(n.inputs) else -1
        return None if i < 0 else np.asarray(self.g.tensors[i].data)

    def _node(self, n):
        nir, x = self.nir, n.inputs[0]
        if n.op in ("SNN_LINEAR", "SNN_LINEAR_EVENT"):
            w = self._const(n, 1).astype(np.float64).T  # stored transposed, (in, out)
            b = self._const(n, 2)
            return (nir.Linear(weight=w) if b is None else nir.Affine(weight=w, bias=b.astype(np.float64))), x
        if n.op in ("SNN_CONV2D", "SNN_CONV2D_EVENT"):
            return self._conv(n), x
        if n.op == "SNN_SUMPOOL2D":
            k, s, p = (np.array(n.attrs[a]) for a in ("kernel", "stride", "padding"))
            if n.attrs.get("scale", 1.0) == 1.0:
                return nir.SumPool2d(kernel_size=k, stride=s, padding=p), x
            return nir.AvgPool2d(kernel_size=k, stride=s, padding=p), x
        if n.op == "SNN_SCALE":
            return nir.Scale(scale=self._const(n, 1).reshape(self._shape(x)).astype(np.float64)), x
        if n.op == "SNN_THRESHOLD":
            return nir.Threshold(threshold=self._const(n, 1).reshape(self._shape(x)).astype(np.float64)), x
        if n.op == "SNN_DELAY":
            steps = self._const(n, 1).reshape(self._shape(x))
            return nir.Delay(delay=steps.astype(np.float64) * self.conv.dt), x
        if n.op == "SNN_NEURON":
            return self._neuron(n), x
        raise UnsupportedOpError(f"op {n.op} (node {n.name!r}) has no NIR equivalent")

    def _conv(self, n):
        nir = self.nir
        w = self._const(n, 1).astype(np.float64)
        b = self._const(n, 2)
        b = np.zeros(w.shape[0]) if b is None else b.astype(np.float64)
        a = {k: np.array(n.attrs[k]) for k in ("stride", "padding", "dilation")}
        spatial = self.g.tensors[n.inputs[0]].shape[2:]
        if w.ndim == 3:  # Conv1d: the H = 1 case
            return nir.Conv1d(input_shape=int(spatial[0]), weight=w, stride=int(a["stride"][1]),
                              padding=int(a["padding"][1]), dilation=int(a["dilation"][1]),
                              groups=int(n.attrs.get("groups", 1)), bias=b)
        return nir.Conv2d(input_shape=tuple(spatial), weight=w, stride=a["stride"], padding=a["padding"],
                          dilation=a["dilation"], groups=int(n.attrs.get("groups", 1)), bias=b)

    def _invert(self, alpha, beta, gamma):
        """(tau, r, v_leak) whose coefficients, recomputed in float64 and rounded, are these."""
        alpha, beta, gamma = (np.asarray(a, np.float64) for a in (alpha, beta, gamma))
        if self.conv.integrator == "euler":
            a = 1.0 - alpha
            return self.conv.dt / a, beta / a, gamma / a
        return -self.conv.dt / np.log(alpha), beta / (1.0 - alpha), gamma / (1.0 - alpha)

    def _neuron(self, n):
        nir = self.nir
        p = self._const(n, 1)
        shape = tuple(self._shape(n.inputs[0]))
        rows = lambda *ix: [p[i].reshape(shape).astype(np.float64) for i in ix]
        alpha, beta, gamma, th, v_reset = rows(ALPHA, BETA, GAMMA, THRESHOLD, V_RESET)
        spiking, synapse = n.attrs.get("spiking"), n.attrs.get("synapse")
        if not synapse and np.all(alpha == 1.0) and np.all(gamma == 0.0):
            r = beta / self.conv.dt
            return nir.IF(r=r, v_threshold=th, v_reset=v_reset) if spiking else nir.I(r=r)
        if np.any(alpha <= 0) or np.any(alpha >= 1):
            raise ModelError(f"neuron {n.name!r}: decay outside (0, 1) has no NIR time constant")
        tau, r, v_leak = self._invert(alpha, beta, gamma)
        if not synapse:
            if spiking:
                return nir.LIF(tau=tau, r=r, v_leak=v_leak, v_threshold=th, v_reset=v_reset)
            return nir.LI(tau=tau, r=r, v_leak=v_leak)
        a_syn, b_syn = rows(ALPHA_SYN, BETA_SYN)
        tau_syn, w_in, _ = self._invert(a_syn, b_syn, np.zeros(shape))
        if spiking:
            return nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau, r=r, v_leak=v_leak, v_threshold=th,
                               v_reset=v_reset, w_in=w_in)
        return nir.CubaLI(tau_syn=tau_syn, tau_mem=tau, r=r, v_leak=v_leak, w_in=w_in)
