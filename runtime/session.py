"""Host execution of a compiled model: C interpreter, Numba kernels or the numpy reference."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgert.errors import InputError, ModelError, UnsupportedOpError

from . import kernels, parallel
from .compiler import Model, load
from .ir import CONST, STATE, Graph

BACKENDS = ("c", "numba", "numpy")


@dataclass
class NodeRecord:
    """What the observer sees after each node runs."""
    index: int
    name: str
    op: str
    macs: int
    bytes_moved: int  # bytes read (inputs, constants included) + bytes written
    outputs: list[np.ndarray]
    activity: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class Session:
    """Runs one model on the host. `run` takes one array (single-input models) or a dict by
    input name, and returns one array (single-output models) or a dict by output name.
    `threads` (c backend): a batch of a row-wise model (non-neural estimators) split over that many
    threads, outputs byte-identical; None: os.cpu_count() from 256 rows per thread up, else 1."""

    def __init__(self, model, backend: str = "c", threads: int | None = None):
        if isinstance(model, (str, Path)):
            model = load(model)
        elif isinstance(model, (bytes, bytearray)):
            model = Model.from_bytes(bytes(model))
        if not isinstance(model, Model):
            raise ModelError(f"Session needs a compiled Model (edgert.compile / edgert.load), got {type(model).__name__}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.model = model
        self.graph: Graph = model.graph
        self.backend = backend
        tensors = self.graph.tensors
        self._macs = [kernels.macs(n, tensors) for n in self.graph.nodes]
        self._bytes = [sum(tensors[i].nbytes for i in n.inputs + n.outputs if i >= 0) for n in self.graph.nodes]
        self._fast = self._split = None
        if backend == "c":
            from edgert.native import NativeModel
            self._native = NativeModel(model.ert)
            self._views = self._fast_views()
            n = parallel.thread_count(model, threads)
            self._split = parallel.Split(model, n) if n > 1 else None
            self._fast = self._split.run_fast if self._split else (self._run_fast if self._views else None)
        elif threads not in (None, 1):
            raise ValueError(f"threads applies to the c backend, not {backend!r}")
        else:
            self._kernels = []
            for node in self.graph.nodes:
                fn = kernels.lookup(node.op, backend)
                if fn is None:
                    raise UnsupportedOpError(f"op {node.op} (node {node.name!r}) has no {backend} kernel")
                self._kernels.append(fn)
        self.reset()

    # -- inputs and outputs -------------------------------------------------------------
    @property
    def input_names(self) -> list[str]:
        return [self.graph.tensors[i].name for i in self.graph.inputs]

    @property
    def output_names(self) -> list[str]:
        return [self.graph.tensors[i].name for i in self.graph.outputs]

    def input_details(self) -> list[dict]:
        return [self._details(i) for i in self.graph.inputs]

    def output_details(self) -> list[dict]:
        return [self._details(i) for i in self.graph.outputs]

    def _details(self, i: int) -> dict:
        t = self.graph.tensors[i]
        q = t.quant
        return {"name": t.name, "dtype": t.dtype, "shape": t.shape,
                "scale": None if q is None else q.scale.tolist(),
                "zero_point": None if q is None else q.zero_point.tolist()}

    def _check_input(self, i: int, x) -> np.ndarray:
        t = self.graph.tensors[i]
        x = np.asarray(x)
        if x.shape != t.shape:
            if x.size == int(np.prod(t.shape)) and x.squeeze().shape == tuple(d for d in t.shape if d != 1):
                x = x.reshape(t.shape)
            else:
                raise InputError(f"input {t.name!r}: expected shape {t.shape}, got {x.shape}")
        if x.dtype != np.dtype(t.dtype):
            if t.quant is not None and np.issubdtype(x.dtype, np.floating):
                raise InputError(f"input {t.name!r} is quantized {t.dtype}; got {x.dtype}. "
                                 "Quantize it first: session.quantize(x)")
            if not np.can_cast(x.dtype, t.dtype, "same_kind"):
                raise InputError(f"input {t.name!r}: expected {t.dtype}, got {x.dtype}")
            info = np.iinfo(t.dtype) if np.issubdtype(np.dtype(t.dtype), np.integer) else None
            if info is not None and x.size and (x.min() < info.min or x.max() > info.max):
                raise InputError(f"input {t.name!r}: values outside the {t.dtype} range")
            x = x.astype(t.dtype)
        if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
            raise InputError(f"input {t.name!r} contains NaN or infinity")
        return np.ascontiguousarray(x)

    def _inputs(self, inputs) -> list[np.ndarray]:
        names = self.input_names
        if isinstance(inputs, dict):
            unknown = set(inputs) - set(names)
            missing = set(names) - set(inputs)
            if unknown or missing:
                raise InputError(f"inputs by name: expected {names}; missing {sorted(missing)}, unknown {sorted(unknown)}")
            values = [inputs[n] for n in names]
        elif len(names) == 1:
            values = [inputs]
        elif isinstance(inputs, (list, tuple)) and len(inputs) == len(names):
            values = list(inputs)
        else:
            raise InputError(f"this model has {len(names)} inputs {names}: pass a dict by name")
        return [self._check_input(i, x) for i, x in zip(self.graph.inputs, values)]

    def quantize(self, x, index: int = 0) -> np.ndarray:
        """Float input -> the model's quantized input, rounded as the source format does
        (ONNX QuantizeLinear: half to even; TFLite: half away from zero), then clamped."""
        t = self.graph.tensors[self.graph.inputs[index]]
        if t.quant is None:
            return np.asarray(x, dtype=t.dtype)
        q = np.asarray(x, np.float32) / t.quant.scale[0]
        if self.model.meta.get("source_format") == "onnx":
            q = np.rint(q) + t.quant.zero_point[0]
        else:
            q = np.trunc(q + np.copysign(np.float32(0.5), q)) + t.quant.zero_point[0]
        info = np.iinfo(t.dtype)
        return np.clip(q, info.min, info.max).astype(t.dtype)

    def dequantize(self, y, index: int = 0) -> np.ndarray:
        """Quantized output -> float32 with the output tensor's scale and zero point."""
        t = self.graph.tensors[self.graph.outputs[index]]
        if t.quant is None:
            return np.asarray(y, np.float32)
        return ((np.asarray(y, np.int32) - t.quant.zero_point[0]) * np.float64(t.quant.scale[0])).astype(np.float32)

    # -- execution ---------------------------------------------------------------------
    def reset(self) -> None:
        """Zero the activations and restore state tensors (membrane potentials, ...)."""
        if self.backend == "c":
            self._native.reset()
            return
        self._state: dict[int, np.ndarray] = {}
        for i, t in enumerate(self.graph.tensors):
            if t.storage == STATE:
                self._state[i] = np.array(t.init if t.init is not None else np.zeros(t.shape, t.dtype), dtype=t.dtype)

    def run(self, inputs, observer=None):
        """Run one invocation (one time step for spiking models). `observer(record)` is called
        after each node with a NodeRecord."""
        if observer is None and self._fast is not None:
            outs = self._fast(inputs)
            if outs is not None:
                return outs
        values = self._inputs(inputs)
        if self.backend == "c":
            outs = self._run_native(values, observer)
        else:
            outs = self._run_python(values, observer)
        if len(outs) == 1:
            return outs[0]
        return dict(zip(self.output_names, outs))

    def _fast_views(self):
        """C backend with one input: its arena view, a zero vector (None for integer inputs,
        which need no NaN test) and the output views, prepared once so that run() skips the
        general checks (batch-1 latency)."""
        if len(self.graph.inputs) != 1:
            return None
        view = self._native.view(self.graph.inputs[0])
        zeros = np.zeros(view.size, view.dtype) if np.issubdtype(view.dtype, np.floating) else None
        return view, view.reshape(-1), zeros, [self._native.view(i) for i in self.graph.outputs], self.output_names

    def _run_fast(self, x):
        """An array of exactly the input's dtype and shape (or the shape without a leading 1):
        copy it in, test it for NaN/inf, invoke.
        Anything else returns None and takes the general path."""
        view, flat, zeros, outs, names = self._views
        if type(x) is not np.ndarray or x.dtype != view.dtype or not (
                x.shape == view.shape or (view.shape[0] == 1 and x.shape == view.shape[1:])):
            return None
        flat[...] = x.reshape(-1)
        # small inputs: one dot product against zeros (NaN and inf give NaN); large: isfinite
        if zeros is not None and not (np.isfinite(flat.dot(zeros)) if flat.size <= 4096 else np.isfinite(flat).all()):
            raise InputError(f"input {self.input_names[0]!r} contains NaN or infinity")
        self._native.invoke()
        if len(outs) == 1:
            return outs[0].copy()
        return {n: v.copy() for n, v in zip(names, outs)}

    def _record(self, k: int, outputs, activity, seconds) -> NodeRecord:
        node = self.graph.nodes[k]
        names = kernels.info(node.op).activity
        return NodeRecord(k, node.name, node.op, self._macs[k], self._bytes[k], outputs,
                          {n: int(v) for n, v in zip(names, activity)}, seconds)

    def _run_native(self, values, observer):
        if observer is None and self._split is not None:
            return self._split.run(values[0])
        nm = self._native
        for i, x in zip(self.graph.inputs, values):
            nm.view(i)[...] = x
        if observer is None:
            nm.invoke()
        else:
            for k, node in enumerate(self.graph.nodes):
                t0 = time.perf_counter()
                activity = nm.invoke_node(k)
                dt = time.perf_counter() - t0
                observer(self._record(k, [nm.view(i).copy() for i in node.outputs], activity, dt))
        return [nm.view(i).copy() for i in self.graph.outputs]

    def _run_python(self, values, observer):
        tensors = self.graph.tensors
        env: dict[int, np.ndarray] = dict(self._state)
        env.update(zip(self.graph.inputs, values))
        for k, (node, fn) in enumerate(zip(self.graph.nodes, self._kernels)):
            ins = [None if i < 0 else (tensors[i].data if tensors[i].storage == CONST else env[i]) for i in node.inputs]
            call = kernels.Call(node, tensors, ins)
            t0 = time.perf_counter()
            outs = fn(call)
            dt = time.perf_counter() - t0
            if len(outs) != len(node.outputs):
                raise ModelError(f"kernel {node.op} returned {len(outs)} outputs, expected {len(node.outputs)}")
            for i, y in zip(node.outputs, outs):
                t = tensors[i]
                y = np.asarray(y)
                if y.shape != t.shape or y.dtype != np.dtype(t.dtype):
                    y = np.asarray(y, dtype=t.dtype).reshape(t.shape)
                env[i] = y
                if t.storage == STATE:
                    self._state[i] = y
            if observer is not None:
                observer(self._record(k, [env[i] for i in node.outputs], call.activity, dt))
        return [env[i].copy() for i in self.graph.outputs]

    def profile(self, inputs, repeats: int = 10) -> list[NodeRecord]:
        """Median per-node time over `repeats` runs (one NodeRecord per node)."""
        runs: list[list[NodeRecord]] = []
        for _ in range(repeats):
            recs: list[NodeRecord] = []
            self.run(inputs, observer=recs.append)
            runs.append(recs)
        out = runs[-1]
        for k, rec in enumerate(out):
            rec.seconds = float(np.median([r[k].seconds for r in runs]))
        return out
