"""Batches split over threads for the C backend (Session(..., threads=...)).

A model whose rows are independent (every op of the non-neural family, one input, every
activation (batch, ...), no state) runs a batch of B rows as chunks of ceil(B / threads) rows:
each chunk on its own NativeModel (own arena) compiled from the same graph at the chunk's batch
size, the last chunk padded with copies of its last row. cffi releases the GIL around the C
call, so the chunks run on separate cores; each row meets the same kernels as in one call, so
the outputs are byte-identical to the single-thread run.
"""
from __future__ import annotations

import dataclasses
import os
import threading
import weakref

import numpy as np

from edgert.errors import InputError, ModelError

from . import kernels
from .compiler import Model, compile
from .ir import CONST, STATE, Graph

MIN_ROWS = 256  # rows per thread below which the hand-off costs more than it gains (threads=None)


def row_wise(graph: Graph) -> bool:
    """One input, only non-neural ops, no state, every activation batch-first."""
    if len(graph.inputs) != 1:
        return False
    batch = graph.tensors[graph.inputs[0]].shape[0]
    return (all(kernels.info(n.op).family == "non-neural" for n in graph.nodes)
            and all(t.storage == CONST or (t.storage != STATE and t.shape and t.shape[0] == batch)
                    for t in graph.tensors))


def thread_count(model: Model, threads: int | None) -> int:
    """The threads a Session uses: `threads`, or for None os.cpu_count() where each gets at least
    MIN_ROWS rows of a row-wise model (else 1). threads > 1 on any other model is an error."""
    if threads is not None and (not isinstance(threads, (int, np.integer)) or isinstance(threads, bool) or threads < 1):
        raise ValueError(f"threads must be None or a positive integer, got {threads!r}")
    if threads == 1:
        return 1
    if not row_wise(model.graph):
        if threads is None:
            return 1
        raise ModelError(f"threads={threads}: only models whose rows are independent (non-neural estimators, "
                         "one input, no state) split a batch over threads; use threads=1")
    batch = model.graph.tensors[model.graph.inputs[0]].shape[0]
    if threads is None:
        return max(1, min(os.cpu_count() or 1, batch // MIN_ROWS))
    return min(int(threads), batch)


def _at_batch(graph: Graph, rows: int) -> Graph:
    """A copy of `graph` whose activations have `rows` rows (constants shared, not copied)."""
    tensors = [t if t.storage == CONST else dataclasses.replace(t, shape=(rows, *t.shape[1:]), offset=-1)
               for t in graph.tensors]
    nodes = [dataclasses.replace(n, inputs=list(n.inputs), outputs=list(n.outputs)) for n in graph.nodes]
    return Graph(tensors, nodes, list(graph.inputs), list(graph.outputs), dict(graph.meta))


class _Gate:
    """Opened once by the caller after its NaN / inf test of the whole batch: the chunks copy
    their rows meanwhile, and invoke only if the batch passed (no kernel runs on NaN)."""

    def __init__(self):
        self._event = threading.Event()
        self.passed = False

    def open(self, passed: bool) -> None:
        self.passed = passed
        self._event.set()

    def wait(self) -> bool:
        self._event.wait()
        return self.passed


def _run_chunk(chunk, x: np.ndarray, outs: list[np.ndarray], gate: _Gate | None = None) -> None:
    """Copies the chunk's rows of x into its context, invokes it (once the gate passes the
    batch), copies its rows of the outputs."""
    start, stop, nm, view, out_views = chunk
    n = stop - start
    view[:n] = x[start:stop]
    view[n:] = x[stop - 1]   # padding: a valid row, its outputs dropped
    if gate is not None and not gate.wait():
        return
    nm.invoke()
    for out, v in zip(outs, out_views):
        out[start:stop] = v[:n]


class _Worker:
    """A daemon thread that runs one chunk per `start` and signals `wait`: two locks, lighter
    than a pool's futures (the hand-off is a good part of a fast model's time). It holds no
    reference to its Split, so a dropped Session stops it."""

    def __init__(self):
        self._go, self._done = threading.Lock(), threading.Lock()
        self._go.acquire()
        self._done.acquire()
        self._job = self._error = None
        threading.Thread(target=self._loop, name="edgert-split", daemon=True).start()

    def _loop(self) -> None:
        while True:
            self._go.acquire()
            if self._job is None:
                return
            try:
                _run_chunk(*self._job)
            except BaseException as e:  # handed to the caller by wait()
                self._error = e
            self._job = ()   # keeps no caller's arrays alive
            self._done.release()

    def start(self, *job) -> None:
        self._job, self._error = job, None
        self._go.release()

    def wait(self) -> BaseException | None:
        self._done.acquire()
        error, self._error = self._error, None
        return error

    def stop(self) -> None:
        self._job = None
        self._go.release()


class Split:
    """Runs a row-wise model's batch as chunks of ceil(batch / threads) rows, one NativeModel
    each; the caller's thread runs the first chunk, one worker thread each of the others."""

    def __init__(self, model: Model, threads: int):
        from edgert.native import NativeModel
        graph = model.graph
        self.name = graph.tensors[graph.inputs[0]].name
        self.batch = graph.tensors[graph.inputs[0]].shape[0]
        self.rows = -(-self.batch // threads)
        chunk = compile(_at_batch(graph, self.rows))
        self.dtype = np.dtype(graph.tensors[graph.inputs[0]].dtype)
        self.shape = graph.tensors[graph.inputs[0]].shape
        self.outs = [(np.dtype(graph.tensors[i].dtype), graph.tensors[i].shape) for i in graph.outputs]
        self.names = [graph.tensors[i].name for i in graph.outputs]
        # per chunk: its rows, its context, and that context's input and output views (made once:
        # the less Python a chunk runs, the less the threads wait for each other's GIL)
        self.chunks = []
        for start in range(0, self.batch, self.rows):
            nm = NativeModel(chunk.ert)
            self.chunks.append((start, min(start + self.rows, self.batch), nm, nm.view(nm.inputs[0]),
                                [nm.view(i) for i in nm.outputs]))
        self._workers = [_Worker() for _ in self.chunks[1:]]
        self._pid = os.getpid()
        weakref.finalize(self, lambda workers: [w.stop() for w in workers], self._workers)

    def run_fast(self, x):
        """Session.run's fast path: an array of exactly the input's dtype and shape (anything
        else returns None and takes the general checks). One array or a dict by output name."""
        if type(x) is not np.ndarray or x.dtype != self.dtype or x.shape != self.shape:
            return None
        outs = self.run(x, check=True)
        return outs[0] if len(outs) == 1 else dict(zip(self.names, outs))

    def run(self, x: np.ndarray, check: bool = False) -> list[np.ndarray]:
        """Every chunk of x; the outputs of the whole batch. `check`: test x for NaN / inf here,
        in the caller's thread while the workers wake up and copy their rows."""
        if self._pid != os.getpid():   # a forked child has none of its parent's threads: start its own
            self._workers[:] = [_Worker() for _ in self.chunks[1:]]
            self._pid = os.getpid()
        outs = [np.empty(shape, dtype) for dtype, shape in self.outs]
        gate = _Gate() if check and x.dtype.kind == "f" else None
        for w, c in zip(self._workers, self.chunks[1:]):
            w.start(c, x, outs, gate)
        passed = False
        try:
            if gate is not None:
                passed = bool(np.isfinite(x).all())
                gate.open(passed)
                if not passed:
                    raise InputError(f"input {self.name!r} contains NaN or infinity")
            _run_chunk(self.chunks[0], x, outs)
        finally:   # every chunk ends before run returns or raises: the next run reuses their contexts
            if gate is not None:
                gate.open(passed)   # again if the test itself was interrupted: no worker waits forever
            errors = [w.wait() for w in self._workers]
        for e in errors:
            if e is not None:
                raise e
        return outs
