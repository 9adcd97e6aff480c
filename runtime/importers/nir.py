"""NIR (Neuromorphic Intermediate Representation) graphs -> Graph.

Every NIR node with a discrete-time meaning becomes SNN_* ops (runtime/kernels/snn_ops.py);
the time-stepping conventions are compile options (runtime/spiking.py: Conventions).

Graph conventions (docs/spiking.md):
* every tensor has the batch first: (batch, *NIR shape);
* a node with several incoming edges receives their sum (SNN_ADD);
* recurrence: edges that close a cycle (back edges of a depth-first walk from the inputs, in
  edge order) carry the value of the previous step: their source writes a STATE tensor that
  the cycle's entry node reads before the source has run in this step. A recurrent edge is
  thus a one-step delay, as in snnTorch's RLeaky and Norse's recurrent cells; before the
  first step it holds the source's output for silence (an Affine's bias, else zero);
* Flatten only relabels the shape (kernels read their inputs flat), so it emits no op;
* the initial neuron state is zero.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgert.errors import FormatError, ModelError, UnsupportedOpError

from ..ir import STATE, Graph, Tensor
from ..spiking import CONVENTIONS_KEY, Conventions, integrator_coefficients, leaky_coefficients

MAX_DELAY_STEPS = 4096
NEURON_TYPES = ("LIF", "IF", "LI", "I", "CubaLIF", "CubaLI")
SUPPORTED = ("Input", "Output", "Affine", "Linear", "Scale", "Conv1d", "Conv2d", "SumPool2d",
             "AvgPool2d", "Flatten", "Threshold", "Delay", "NIRGraph") + NEURON_TYPES


def _nir():
    try:
        import nir
    except ImportError:
        raise ModelError("reading NIR needs the `nir` package: pip install 'edgert[nir]'") from None
    return nir


def load(path, **options) -> Graph:
    """Read a .nir file (HDF5) and import it."""
    nir = _nir()
    try:
        graph = nir.read(str(path), type_check=False)  # edgert infers and checks shapes itself
    except Exception as e:  # h5py / nir raise many types on corrupt files
        raise FormatError(f"{Path(path).name}: not a readable NIR file ({type(e).__name__}: {e})") from None
    return from_nir(graph, **options)


def from_nir(graph, **options) -> Graph:
    """Import an in-memory nir.NIRGraph with the given time-stepping options (defaults: the
    conventions edgert's exporter recorded in the graph's metadata, else Norse's)."""
    try:
        conv = Conventions(**{**_recorded_conventions(graph), **options})
    except TypeError as e:
        raise ModelError(f"unknown NIR compile option ({e}); options: "
                         + ", ".join(Conventions.__dataclass_fields__)) from None
    g = _Importer(conv).build(graph)
    if conv.mode == "fixed":
        from .snn_fixed import to_fixed
        g = to_fixed(g)
    return g


def _recorded_conventions(graph) -> dict:
    raw = (getattr(graph, "metadata", None) or {}).get(CONVENTIONS_KEY)
    if raw is None:
        return {}
    try:
        recorded = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
    except ValueError:
        raise FormatError(f"NIR metadata {CONVENTIONS_KEY!r} is not JSON") from None
    if not isinstance(recorded, dict) or not set(recorded) <= set(Conventions.__dataclass_fields__):
        raise FormatError(f"NIR metadata {CONVENTIONS_KEY!r} names unknown options: {recorded!r}")
    return recorded


# ---------------------------------------------------------------------------------------
# Graph structure: flatten nested graphs, check edges, order nodes, find recurrent edges
# ---------------------------------------------------------------------------------------

def _kind(node) -> str:
    return type(node).__name__


def _flatten(graph, prefix: str = "") -> tuple[dict, list[tuple[str, str]]]:
    """Nested NIRGraphs become their nodes named 'sub.node'; the subgraph's Input/Output nodes
    stay as pass-through nodes, and edges naming the subgraph go to / come from them."""
    nodes: dict = {}
    edges: list[tuple[str, str]] = []
    entry: dict[str, str] = {}
    exit_: dict[str, str] = {}
    for name, node in graph.nodes.items():
        full = prefix + str(name)
        if _kind(node) == "NIRGraph":
            sub_nodes, sub_edges = _flatten(node, full + ".")
            ins = [n for n, v in node.nodes.items() if _kind(v) == "Input"]
            outs = [n for n, v in node.nodes.items() if _kind(v) == "Output"]
            if len(ins) != 1 or len(outs) != 1:
                raise UnsupportedOpError(f"NIR subgraph {full!r} has {len(ins)} inputs and {len(outs)} outputs; "
                                         "edgert flattens subgraphs with exactly one of each")
            entry[full], exit_[full] = f"{full}.{ins[0]}", f"{full}.{outs[0]}"
            for n in sub_nodes:
                sub_nodes[n] = (sub_nodes[n][0], True) if n in (entry[full], exit_[full]) else sub_nodes[n]
            nodes.update(sub_nodes)
            edges += sub_edges
        else:
            nodes[full] = (node, False)
    for src, dst in graph.edges:
        src, dst = prefix + _name(src), prefix + _name(dst)
        edges.append((exit_.get(src, src), entry.get(dst, dst)))
    return nodes, edges


def _name(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _structure(graph):
    """(nodes name -> (node, passthrough), forward preds, back preds, topological order)."""
    if _kind(graph) != "NIRGraph":
        raise ModelError(f"expected a nir.NIRGraph, got {_kind(graph)}")
    nodes, edges = _flatten(graph)
    for name, (node, _) in nodes.items():
        if _kind(node) not in SUPPORTED:
            raise UnsupportedOpError(f"NIR node {name!r}: type {_kind(node)} is not supported; edgert imports "
                                     + ", ".join(SUPPORTED))
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for src, dst in edges:
        for end in (src, dst):
            if end not in nodes:
                raise ModelError(f"NIR edge ({src!r} -> {dst!r}): node {end!r} does not exist")
        succ[src].append(dst)
    inputs = [n for n, (v, inner) in nodes.items() if _kind(v) == "Input" and not inner]
    outputs = [n for n, (v, inner) in nodes.items() if _kind(v) == "Output" and not inner]
    if not inputs or not outputs:
        raise ModelError(f"NIR graph needs at least one Input and one Output node (has {len(inputs)} and {len(outputs)})")
    back = _back_edges(inputs, succ)
    fwd_preds: dict[str, list[str]] = {n: [] for n in nodes}
    back_preds: dict[str, list[str]] = {n: [] for n in nodes}
    for src, dst in edges:
        (back_preds if (src, dst) in back else fwd_preds)[dst].append(src)
    for n, (v, _) in nodes.items():
        if _kind(v) == "Input" and (fwd_preds[n] or back_preds[n]) and n in inputs:
            raise ModelError(f"NIR Input node {n!r} has incoming edges")
        if n not in inputs and not fwd_preds[n]:
            why = "only recurrent edges enter it" if back_preds[n] else "no edge enters it"
            raise ModelError(f"NIR node {n!r} ({_kind(v)}) is not reachable from an Input: {why}")
    order = _topological(nodes, inputs, succ, back)
    return nodes, fwd_preds, back_preds, order, inputs, outputs


def _back_edges(inputs, succ) -> set[tuple[str, str]]:
    """Edges to a node still on the depth-first stack (they close a cycle)."""
    state: dict[str, int] = {}  # 1 on stack, 2 done
    back: set[tuple[str, str]] = set()
    for root in inputs:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(succ[root]))]
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))
    return back


def _topological(nodes, inputs, succ, back) -> list[str]:
    indeg = {n: 0 for n in nodes}
    for src, dsts in succ.items():
        for dst in dsts:
            if (src, dst) not in back:
                indeg[dst] += 1
    ready = [n for n in nodes if indeg[n] == 0]
    order = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for dst in succ[n]:
            if (n, dst) not in back:
                indeg[dst] -= 1
                if indeg[dst] == 0:
                    ready.append(dst)
    missing = [n for n in nodes if n not in order]
    if missing:
        raise ModelError(f"NIR nodes {missing} are not reachable from an Input")
    return order


# ---------------------------------------------------------------------------------------
# Node translation
# ---------------------------------------------------------------------------------------

@dataclass
class Value:
    """A node's output: the tensor that holds it and its NIR shape (without the batch)."""
    tensor: int
    shape: tuple[int, ...]


def _array(name: str, field: str, value, positive: bool = False) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ModelError(f"NIR node {name!r}: field {field!r} is not numeric") from None
    if not np.all(np.isfinite(arr)):
        raise ModelError(f"NIR node {name!r}: field {field!r} contains NaN or infinity")
    if positive and np.any(arr <= 0):
        raise ModelError(f"NIR node {name!r}: field {field!r} must be > 0 (got min {arr.min():g})")
    return arr


def _per_neuron(name: str, field: str, value, shape, positive: bool = False) -> np.ndarray:
    arr = _array(name, field, value, positive)
    try:
        return np.broadcast_to(arr.reshape(arr.shape), shape).reshape(-1)
    except ValueError:
        raise ModelError(f"NIR node {name!r}: field {field!r} has shape {arr.shape}, "
                         f"which does not fit the {shape} neurons its input feeds") from None


def _pair(name: str, field: str, value) -> list[int]:
    arr = np.atleast_1d(np.asarray(value)).astype(np.int64).reshape(-1)
    if arr.size == 1:
        arr = np.repeat(arr, 2)
    if arr.size != 2 or np.any(arr < 0):
        raise ModelError(f"NIR node {name!r}: field {field!r}={value!r} must be one or two non-negative integers")
    return [int(a) for a in arr]


class _Importer:
    def __init__(self, conv: Conventions):
        self.conv = conv
        self.g = Graph(meta={"family": "snn", "format": "nir", "spiking": conv.as_meta()})
        self.batch = conv.batch

    # -- tensors ------------------------------------------------------------------------
    def tensor(self, name: str, shape, storage: str = "arena", dtype: str = "float32") -> int:
        return self.g.add_tensor(Tensor(name, dtype, (self.batch, *shape), storage=storage))

    def const(self, name: str, data, dtype: str = "float32") -> int:
        data = np.asarray(data)
        return self.g.add_tensor(Tensor(name, dtype, data.shape, data=data.astype(dtype)))

    def emit(self, op, inputs, out_name, shape, attrs=None, extra_outputs=()) -> Value:
        out = self.tensor(out_name, shape)
        self.g.add_node(op, inputs, [out, *extra_outputs], attrs, name=out_name)
        return Value(out, tuple(shape))

    def copy(self, value: Value, name: str, shape=None) -> Value:
        return self.emit("SNN_COPY", [value.tensor], name, shape or value.shape)

    # -- the walk -----------------------------------------------------------------------
    def build(self, graph) -> Graph:
        nodes, fwd, back, order, inputs, outputs = _structure(graph)
        values: dict[str, Value] = {}
        delayed: dict[str, Value] = {}  # source of a recurrent edge -> the STATE tensor it writes
        for name in order:
            node, passthrough = nodes[name]
            if name in inputs:
                shape = self._input_shape(name, node)
                values[name] = Value(self.tensor(name, shape), shape)
                self.g.inputs.append(values[name].tensor)
                continue
            x = self._sum(name, [values[p] for p in fwd[name]], fwd[name])
            for src in back[name]:
                if src not in delayed:
                    delayed[src] = Value(self.tensor(f"{src}.previous", x.shape, STATE), x.shape)
                x = self._sum(name, [x, delayed[src]], fwd[name] + [src])
            kind = _kind(node)
            if passthrough or kind in ("Output",):
                values[name] = x
            else:
                values[name] = getattr(self, f"_{kind.lower()}")(name, node, x)
            if name in delayed:
                self._write_into(name, values[name], delayed[name])
        for name in outputs:
            v = values[name]
            if self.g.tensors[v.tensor].storage == STATE or v.tensor in self.g.inputs + self.g.outputs \
                    or self.g.tensors[v.tensor].shape[1:] != v.shape:
                v = self.copy(v, name)
            self.g.outputs.append(v.tensor)
        return self.g

    def _input_shape(self, name, node) -> tuple[int, ...]:
        shape = getattr(node, "input_type", None)
        if isinstance(shape, dict):  # {"input": shape}; older files may use another single key
            shape = shape.get("input", next(iter(shape.values()), None))
        try:
            shape = tuple(int(d) for d in np.atleast_1d(np.asarray(shape)).reshape(-1))
        except (TypeError, ValueError):
            raise ModelError(f"NIR Input {name!r}: no usable shape ({shape!r})") from None
        if not shape or any(d <= 0 for d in shape) or math.prod(shape) > 1 << 24:
            raise ModelError(f"NIR Input {name!r}: shape {shape} must be positive (and under 16M elements)")
        return shape

    def _sum(self, name, vals: list[Value], srcs) -> Value:
        if len(vals) == 1:
            return vals[0]
        for v, src in zip(vals[1:], srcs[1:]):
            if v.shape != vals[0].shape:
                raise ModelError(f"NIR node {name!r}: inputs have different shapes: {vals[0].shape} from "
                                 f"{srcs[0]!r} and {v.shape} from {src!r}")
        return self.emit("SNN_ADD", [v.tensor for v in vals], f"{name}.sum", vals[0].shape)

    def _write_into(self, name: str, value: Value, state: Value) -> None:
        """Make the node that produced `value` write the recurrent STATE tensor instead."""
        if value.shape != state.shape:
            raise ModelError(f"NIR recurrent edge from {name!r}: it produces shape {value.shape} but the node "
                             f"it feeds expects {state.shape}")
        last = self.g.nodes[-1] if self.g.nodes else None
        if (last is None or last.outputs[0] != value.tensor
                or self.g.tensors[value.tensor].shape != self.g.tensors[state.tensor].shape):
            last = self.g.add_node("SNN_COPY", [value.tensor], [state.tensor], name=f"{name}.previous")
            return
        last.outputs[0] = state.tensor
        value.tensor = state.tensor
        if last.op.startswith("SNN_LINEAR") and last.inputs[2] >= 0:
            # before the first step the source "saw" silence: an Affine's output is its bias
            bias = self.g.tensors[last.inputs[2]].data
            self.g.tensors[state.tensor].init = np.tile(bias, (self.batch, 1))

    # -- synapses -----------------------------------------------------------------------
    def _linear(self, name, node, x: Value, bias=None) -> Value:
        w = _array(name, "weight", node.weight)
        if w.ndim != 2:
            raise ModelError(f"NIR node {name!r}: weight must be a matrix (out, in), got shape {w.shape}")
        if len(x.shape) != 1 or w.shape[1] != x.shape[0]:
            raise ModelError(f"NIR node {name!r}: weight {w.shape} does not fit its input of shape {x.shape} "
                             "(a multi-dimensional input needs a Flatten node first)")
        b = -1 if bias is None else self.const(f"{name}.bias", _per_neuron(name, "bias", bias, (w.shape[0],)))
        op = "SNN_LINEAR_EVENT" if self.conv.synapses == "event" else "SNN_LINEAR"
        return self.emit(op, [x.tensor, self.const(f"{name}.weight_t", w.T), b], name, (w.shape[0],))

    def _affine(self, name, node, x):
        return self._linear(name, node, x, node.bias)

    def _scale(self, name, node, x):
        s = _per_neuron(name, "scale", node.scale, x.shape)
        return self.emit("SNN_SCALE", [x.tensor, self.const(f"{name}.scale", s)], name, x.shape)

    def _conv(self, name, node, x: Value, dims: int) -> Value:
        w = _array(name, "weight", node.weight)
        if w.ndim != dims + 2 or len(x.shape) != dims + 1:
            raise ModelError(f"NIR node {name!r}: Conv{dims}d needs a weight of rank {dims + 2} and an input "
                             f"(C, {'H, W' if dims == 2 else 'L'}); got weight {w.shape}, input {x.shape}")
        groups = int(np.asarray(node.groups).reshape(-1)[0])
        cout, cig = w.shape[:2]
        if groups < 1 or x.shape[0] != cig * groups or cout % groups:
            raise ModelError(f"NIR node {name!r}: weight {w.shape} with groups={groups} does not fit "
                             f"{x.shape[0]} input channels")
        spatial = x.shape[1:] if dims == 2 else (1, x.shape[1])
        kernel = w.shape[2:] if dims == 2 else (1, w.shape[2])
        # (H, W) pairs; Conv1d is the H = 1 case: its H stride/dilation 1, H padding 0
        pairs = lambda field, h: _pair(name, field, getattr(node, field)) if dims == 2 else \
            [h, _pair(name, field, getattr(node, field))[0]]
        stride, dilation = pairs("stride", 1), pairs("dilation", 1)
        if isinstance(node.padding, str):
            if node.padding not in ("same", "valid"):
                raise ModelError(f"NIR node {name!r}: padding {node.padding!r} must be 'same', 'valid' or integers")
            if node.padding == "same" and (min(stride) != 1 or any((d * (k - 1)) % 2 for d, k in zip(dilation, kernel))):
                raise UnsupportedOpError(f"NIR node {name!r}: padding='same' needs stride 1 and an odd effective kernel")
            padding = [d * (k - 1) // 2 for d, k in zip(dilation, kernel)] if node.padding == "same" else [0, 0]
        else:
            padding = pairs("padding", 0)
        if min(stride) < 1 or min(dilation) < 1:
            raise ModelError(f"NIR node {name!r}: stride and dilation must be >= 1")
        out = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n, p, d, k, s in zip(spatial, padding, dilation, kernel, stride)]
        if min(out) < 1:
            raise ModelError(f"NIR node {name!r}: the kernel {kernel} does not fit the input {spatial}")
        declared = getattr(node, "input_shape", None)
        if declared is not None and tuple(np.atleast_1d(declared).tolist()) != tuple(x.shape[1:]):
            raise ModelError(f"NIR node {name!r}: input_shape {tuple(np.atleast_1d(declared))} but its input "
                             f"has spatial shape {x.shape[1:]}")
        b = -1
        if getattr(node, "bias", None) is not None and np.size(node.bias):
            b = self.const(f"{name}.bias", _per_neuron(name, "bias", node.bias, (cout,)))
        shape = (cout, *out) if dims == 2 else (cout, out[1])
        attrs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
        op = "SNN_CONV2D_EVENT" if self.conv.synapses == "event" else "SNN_CONV2D"
        return self.emit(op, [x.tensor, self.const(f"{name}.weight", w), b], name, shape, attrs)

    def _conv1d(self, name, node, x):
        return self._conv(name, node, x, 1)

    def _conv2d(self, name, node, x):
        return self._conv(name, node, x, 2)

    def _pool(self, name, node, x: Value, average: bool) -> Value:
        if len(x.shape) != 3:
            raise ModelError(f"NIR node {name!r}: pooling needs a (C, H, W) input, got {x.shape}")
        k = _pair(name, "kernel_size", node.kernel_size)
        s = _pair(name, "stride", node.stride if node.stride is not None else node.kernel_size)
        p = _pair(name, "padding", node.padding if node.padding is not None else 0)
        if min(k) < 1 or min(s) < 1:
            raise ModelError(f"NIR node {name!r}: kernel_size and stride must be >= 1")
        out = [(n + 2 * pp - kk) // ss + 1 for n, pp, kk, ss in zip(x.shape[1:], p, k, s)]
        if min(out) < 1:
            raise ModelError(f"NIR node {name!r}: the window {k} does not fit the input {x.shape[1:]}")
        attrs = {"kernel": k, "stride": s, "padding": p, "scale": 1.0 / (k[0] * k[1]) if average else 1.0}
        return self.emit("SNN_SUMPOOL2D", [x.tensor], name, (x.shape[0], *out), attrs)

    def _sumpool2d(self, name, node, x):
        return self._pool(name, node, x, False)

    def _avgpool2d(self, name, node, x):
        return self._pool(name, node, x, True)

    def _flatten(self, name, node, x: Value) -> Value:
        rank = len(x.shape)
        start, end = int(node.start_dim), int(node.end_dim)
        start, end = start + rank if start < 0 else start, end + rank if end < 0 else end
        if not 0 <= start <= end < rank:
            raise ModelError(f"NIR Flatten {name!r}: dims {node.start_dim}..{node.end_dim} out of range for shape {x.shape}")
        shape = x.shape[:start] + (math.prod(x.shape[start:end + 1]),) + x.shape[end + 1:]
        return Value(x.tensor, shape)

    def _delay(self, name, node, x: Value) -> Value:
        steps = _per_neuron(name, "delay", node.delay, x.shape) / self.conv.dt
        if np.any(steps < 0) or np.any(steps > MAX_DELAY_STEPS):
            raise ModelError(f"NIR Delay {name!r}: delays must be 0..{MAX_DELAY_STEPS} steps of dt={self.conv.dt:g}")
        return self._delay_steps(name, np.rint(steps).astype(np.int32), x)

    def _delay_steps(self, name, steps: np.ndarray, x: Value) -> Value:
        n = math.prod(x.shape)
        buf = self.g.add_tensor(Tensor(f"{name}.buffer", "float32", (max(int(steps.max()), 1), self.batch, n), storage=STATE))
        return self.emit("SNN_DELAY", [x.tensor, self.const(f"{name}.steps", steps, "int32"), buf], name, x.shape,
                         extra_outputs=[buf])

    def _threshold(self, name, node, x):
        th = _per_neuron(name, "threshold", node.threshold, x.shape)
        return self.emit("SNN_THRESHOLD", [x.tensor, self.const(f"{name}.threshold", th)], name, x.shape)

    # -- neurons ------------------------------------------------------------------------
    def _neuron(self, name, node, x: Value) -> Value:
        kind = _kind(node)
        shape = x.shape
        per = lambda f, positive=False: _per_neuron(name, f, getattr(node, f), shape, positive)
        zeros = np.zeros(math.prod(shape))
        if kind in ("IF", "I"):
            alpha, beta, gamma = integrator_coefficients(self.conv, per("r"))
        else:
            tau = per("tau_mem" if kind.startswith("Cuba") else "tau", positive=True)
            alpha, beta, gamma = leaky_coefficients(self.conv, tau, per("r"), per("v_leak"))
        spiking = kind in ("LIF", "IF", "CubaLIF")
        threshold = per("v_threshold") if spiking else zeros
        v_reset = per("v_reset") if spiking and getattr(node, "v_reset", None) is not None else zeros
        rows = [alpha, beta, gamma, threshold, v_reset]
        synapse = kind.startswith("Cuba")
        if synapse:
            w_in = per("w_in") if getattr(node, "w_in", None) is not None else np.ones_like(zeros)
            a_syn, b_syn, _ = leaky_coefficients(self.conv, per("tau_syn", positive=True), w_in, zeros)
            rows += [a_syn, b_syn]
        params = self.const(f"{name}.params", np.stack(rows))
        states = [self.tensor(f"{name}.v", shape, STATE)]
        if synapse:
            states.append(self.tensor(f"{name}.i", shape, STATE))
        c = self.conv
        attrs = {"synapse": int(synapse), "spiking": int(spiking), "reset": int(c.reset == "subtract"),
                 "reset_next": int(c.reset_timing == "next"), "cuba_new": int(c.cuba_order == "new")}
        out = self.emit("SNN_NEURON", [x.tensor, params, *states], name, shape, attrs, extra_outputs=states)
        if spiking and c.spike_delay:
            out = self._delay_steps(f"{name}.delay", np.ones(math.prod(shape), np.int32), out)
        return out

    _lif = _if = _li = _i = _cubalif = _cubali = _neuron
