"""`Board`: an edgert firmware reached over a serial link (docs/serial-protocol.md).

    with Board.open("socket://127.0.0.1:4321") as board:
        board.deploy(model)          # model from edgert.compile (or .ert bytes / a path)
        y = board.run(x)             # numpy in/out, as Session.run
        board.counters()             # per-node board-clock counts of the last run
"""
from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgert.errors import BoardError, InputError, ModelError, UnsupportedOpError
from edgert.runtime.format import read_ert

from . import protocol as P
from .transport import FaultyTransport, Faults, open_transport

MIN_BUDGET, MAX_BUDGET = 48, P.MAX_PAYLOAD   # payload bytes per frame the host asks for
FNV64_OFFSET, FNV64_PRIME = 14695981039346656037, 1099511628211


def fnv1a64(data: bytes) -> int:
    h = FNV64_OFFSET
    for b in data:
        h = ((h ^ b) * FNV64_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


@dataclass(frozen=True)
class BoardInfo:
    firmware: str
    port: str
    counter: str            # what the cycle counts count: instret, systick, ns, ...
    clock_hz: int           # counter ticks per second of board time
    model_capacity: int
    arena_capacity: int
    max_nodes: int
    max_payload: int
    ops: tuple[str, ...]
    model_size: int         # bytes of the model currently accepted (0: none)
    model_digest: int


@dataclass(frozen=True)
class NodeCount:
    index: int
    name: str
    op: str
    cycles: int             # board counter ticks spent in the node's kernel
    activity: tuple[int, int, int, int]


@dataclass(frozen=True)
class Invocation:
    start: int              # board clock at the start / end of the inference
    end: int

    @property
    def ticks(self) -> int:
        return self.end - self.start


def _model_bytes(model) -> bytes:
    if hasattr(model, "ert"):
        return bytes(model.ert)
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model)
    return Path(model).read_bytes()


class Board:
    def __init__(self, port, url: str, timeout: float = 1.0, retries: int = 8, window: int | None = None):
        self.url = url
        # chunks in flight during an upload: only on buffered links (QEMU sockets, ptys); a real
        # UART without flow control could overrun while the board checks a frame
        buffered = url.startswith(("socket://", "loop://", "/dev/pts/"))
        self.window = window if window is not None else (4 if buffered else 1)
        self.client = P.Client(port, timeout=timeout, retries=retries)
        self._graph = None
        self._invoke_timeout = 1.0   # doubled on each retry (backoff); then sized from the last run
        self.last_invocation: Invocation | None = None
        self.budget = self.max_budget = MAX_BUDGET   # lowered to the board's limit by info()

    @classmethod
    def open(cls, url: str, *, timeout: float = 1.0, retries: int = 8, baudrate: int = 115200,
             faults: Faults | None = None, window: int | None = None) -> "Board":
        port = open_transport(url, baudrate=baudrate)
        if faults is not None:
            port = FaultyTransport(port, faults)
        board = cls(port, url, timeout, retries, window)
        try:
            board.info()   # fails fast with a clear error when nothing answers
        except BaseException:
            port.close()
            raise
        return board

    def close(self) -> None:
        self.client.port.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- replies ----
    def _call(self, msg_type: int, payload: bytes = b"", timeout: float | None = None,
              retries: int | None = None, backoff: bool = False) -> bytes:
        reply = self.client.request(msg_type, payload, timeout, retries, backoff)
        if reply[0] != P.OK:
            raise self._error(reply)
        return reply[1:]

    def _error(self, reply: bytes) -> Exception:
        status = reply[0]
        name = P.STATUS_NAMES.get(status, f"status {status}")
        a, b = struct.unpack_from("<II", reply.ljust(9, b"\0"), 1)
        if status == 3:
            return ModelError(f"board refused the model: {a} bytes exceed its model capacity of {b} "
                              f"bytes ({self.url}); use a smaller model or a bigger board")
        if status == 13:
            return ModelError(f"board refused the model: it needs a {a}-byte arena and the board has "
                              f"{b} bytes ({self.url})")
        if status == 11:
            return InputError(f"board refused the input: the model's input takes {a} bytes, "
                              f"{b} were sent")
        if status == 6:
            return BoardError(f"upload truncated: the board holds {a} of {b} bytes; the model was "
                              "not accepted — deploy again")
        if status == 7:
            return BoardError("model digest mismatch after upload: the bytes the board received differ "
                              "from the model; it was discarded (deploy again; check the link)")
        if status in (8, 12):
            ert = reply[1]
            node = struct.unpack_from("<I", reply, 5)[0]
            detail = reply[9:].split(b"\0")[0].decode(errors="replace")
            ert_name = P.ERT_STATUS_NAMES[ert] if ert < len(P.ERT_STATUS_NAMES) else str(ert)
            where = f" at node {node}" if node != 0xFFFFFFFF else ""
            if ert == 10:
                return UnsupportedOpError(f"the board's firmware does not implement op '{detail}'"
                                          f"{where}; rebuild the firmware with that kernel")
            verb = "rejected the model" if status == 8 else "failed running the model"
            return ModelError(f"board {verb} ({ert_name}{where}): {detail}")
        if status == 9:
            return BoardError("no model deployed on the board: call deploy() first")
        return BoardError(f"board answered {name} (args {a}, {b})")

    # ---- commands ----
    def _sized(self, msg_type: int, build, timeout: float | None = None) -> bytes:
        """A request whose request or reply size the host picks: build(budget) -> payload. Each
        lost frame halves the budget (small frames survive a noisy link); success grows it back
        slowly. These requests are offset-based, so repeating one is harmless."""
        failures = 0
        while True:
            try:
                r = self._call(msg_type, build(self.budget), timeout=timeout, retries=0)
            except P.NoReply as e:
                failures += 1
                if failures > self.client.retries + 4:
                    raise P.NoReply(f"{failures} frames in a row were lost on {self.url}: the link "
                                    f"is too noisy or the board stopped answering") from e
                self.budget = max(MIN_BUDGET, self.budget // 2)
                continue
            self.budget = min(self.max_budget, self.budget + self.budget // 4)
            return r

    def info(self) -> BoardInfo:
        r = self._call(P.HELLO)
        _, max_payload, clock, mcap, acap, max_nodes, msize, digest, _ = struct.unpack_from("<BHIIIIIQI", r, 0)
        self.max_budget = max(MIN_BUDGET, min(MAX_BUDGET, max_payload))
        self.budget = min(self.budget, self.max_budget)
        text = [s.decode(errors="replace") for s in r[35:].split(b"\0")]
        ops: list[str] = []
        while True:
            page = self._sized(P.OPS, lambda budget: struct.pack("<IH", len(ops), budget))
            total, count = struct.unpack_from("<II", page)
            ops += [s.decode(errors="replace") for s in page[8:].split(b"\0")[:count]]
            if len(ops) >= total or count == 0:
                break
        return BoardInfo(text[0], text[1], text[2], clock, mcap, acap, max_nodes, max_payload,
                         tuple(ops), msize, digest)

    def deploy(self, model) -> dict:
        """Upload a model in acknowledged chunks; the board checks the whole-model digest and
        validates the file before accepting it. Returns what the board reported."""
        ert = _model_bytes(model)
        self._graph = None
        self._call(P.MODEL_BEGIN, struct.pack("<IQ", len(ert), fnv1a64(ert)))
        if self.window > 1:
            self._upload_pipelined(ert)
        else:
            offset = 0
            while offset < len(ert):
                r = self._sized(P.MODEL_CHUNK, lambda budget: struct.pack("<I", offset) + ert[offset:offset + budget - 4])
                offset = struct.unpack_from("<I", r)[0]
        r = self._call(P.MODEL_COMMIT, timeout=max(self.client.timeout, 0.5), backoff=True)
        nodes, n_in, n_out, arena = struct.unpack_from("<IIII", r)
        self._graph = read_ert(ert).graph
        return {"bytes": len(ert), "nodes": nodes, "inputs": n_in, "outputs": n_out, "arena": arena}

    def _upload_pipelined(self, ert: bytes) -> None:
        """Keep up to `window` chunks in flight: the link never idles waiting for an ack. The
        board stores chunks strictly in order; after a loss the next chunk comes back
        OUT_OF_ORDER with the board's offset, and sending resumes from there. Frames in flight
        (stale ones included) never exceed the window, so neither side's buffer can fill up."""
        acked = sent = stalls = outstanding = 0
        current: set[int] = set()      # chunks sent since the last resume
        while acked < len(ert):
            while outstanding < self.window and sent < len(ert):
                piece = ert[sent:sent + self.budget - 4]
                current.add(self.client.send(P.MODEL_CHUNK, struct.pack("<I", sent) + piece))
                sent += len(piece)
                outstanding += 1
            reply = self.client.read_frame(time.monotonic() + self.client.timeout)
            if reply is None:                      # everything in flight is lost
                stalls += 1
                if stalls > self.client.retries + 4:
                    raise P.NoReply(f"upload stalled at byte {acked} of {len(ert)} on {self.url}")
                outstanding, sent = 0, acked
                current.clear()
                self.budget = max(MIN_BUDGET, self.budget // 2)
                continue
            r_type, r_seq, r = reply
            if reply is P.DAMAGED or r_type == P.NAK:
                outstanding = max(0, outstanding - 1)   # one frame's fate is known: it was hit
                self.budget = max(MIN_BUDGET, self.budget // 2)
                continue
            if r_type != P.MODEL_CHUNK | P.REPLY:
                continue
            outstanding = max(0, outstanding - 1)
            status, received = r[0], struct.unpack_from("<I", r.ljust(5, b"\0"), 1)[0]
            if status == P.OK:
                acked, stalls = max(acked, received), 0
                self.budget = min(self.max_budget, self.budget + self.budget // 4)
            elif status == 5 and r_seq in current:   # OUT_OF_ORDER: an earlier chunk was lost
                acked = max(acked, received)
                sent = acked
                current.clear()
            elif status != 5:
                raise self._error(r)

    def adopt(self, model) -> None:
        """Use the model the board already holds (same bytes, checked by the caller's digest)."""
        self._graph = read_ert(_model_bytes(model)).graph

    def _tensors(self, role: str):
        if self._graph is None:
            raise BoardError("no model deployed through this Board: call deploy() first")
        idx = self._graph.inputs if role == "input" else self._graph.outputs
        return [self._graph.tensors[i] for i in idx]

    def set_input(self, k: int, value: np.ndarray) -> None:
        raw = np.ascontiguousarray(value).tobytes()
        off = 0
        while True:
            r = self._sized(P.SET_INPUT, lambda budget: struct.pack("<HHII", k, 0, len(raw), off)
                            + raw[off:off + budget - 12])
            off = struct.unpack_from("<I", r)[0]
            if off >= len(raw):
                return

    def invoke(self) -> Invocation:
        t0 = time.monotonic()
        r = self._call(P.INVOKE, timeout=self._invoke_timeout, backoff=True)
        # later invokes of the same model: a lost request is retried after a few run times
        self._invoke_timeout = max(self.client.timeout, 4 * (time.monotonic() - t0))
        _, start, end = struct.unpack_from("<IQQ", r)
        self.last_invocation = Invocation(start, end)
        return self.last_invocation

    def get_output(self, k: int) -> bytes:
        out = bytearray()
        while True:
            r = self._sized(P.GET_OUTPUT, lambda budget: struct.pack("<HHI", k, budget - 5, len(out)))
            total = struct.unpack_from("<I", r)[0]
            out += r[4:]
            if len(out) >= total or len(r) == 4:
                return bytes(out[:total])

    def run(self, inputs):
        """Set the inputs, invoke, read the outputs: one array in/out for single-input,
        single-output models, else dicts keyed by tensor name (as Session.run)."""
        ins, outs = self._tensors("input"), self._tensors("output")
        if not isinstance(inputs, dict):
            if len(ins) != 1:
                raise InputError(f"the model has {len(ins)} inputs: pass a dict keyed by "
                                 f"{[t.name for t in ins]}")
            inputs = {ins[0].name: inputs}
        for k, t in enumerate(ins):
            if t.name not in inputs:
                raise InputError(f"missing input '{t.name}'")
            x = np.asarray(inputs[t.name])
            if x.dtype != np.dtype(t.dtype) or x.shape != tuple(t.shape):
                raise InputError(f"input '{t.name}' must be {t.dtype} {tuple(t.shape)}, got {x.dtype} {x.shape}")
            self.set_input(k, x)
        self.invoke()
        results = {t.name: np.frombuffer(self.get_output(k), dtype=t.dtype).reshape(t.shape).copy()
                   for k, t in enumerate(outs)}
        return next(iter(results.values())) if len(outs) == 1 else results

    def counters(self) -> list[NodeCount]:
        """Per-node board-clock counts and activity counters of the last inference."""
        if self._graph is None:
            raise BoardError("no model deployed through this Board: call deploy() first")
        nodes, out, first = self._graph.nodes, [], 0
        while first < len(nodes):
            r = self._sized(P.GET_COUNTERS, lambda budget: struct.pack("<II", first, max(1, (budget - 5) // 24)))
            count = struct.unpack_from("<I", r)[0]
            if count == 0:
                break
            for i in range(count):
                cycles, *act = struct.unpack_from("<Q4I", r, 4 + 24 * i)
                n = nodes[first + i]
                out.append(NodeCount(first + i, n.name, n.op, cycles, tuple(act)))
            first += count
        return out

    def invoke_node(self, i: int) -> NodeCount:
        """Run node i alone on the current arena; its board-clock count (the ISA harness)."""
        r = self._call(P.INVOKE_NODE, struct.pack("<I", i), timeout=self._invoke_timeout, backoff=True)
        cycles, *act = struct.unpack_from("<Q4I", r)
        n = self._graph.nodes[i] if self._graph is not None else None
        return NodeCount(i, n.name if n else "", n.op if n else "", cycles, tuple(act))

    def reset(self) -> None:
        self._call(P.RESET)

    def link_test(self, nbytes: int) -> float:
        """Raw host->board throughput: seconds to push nbytes unframed (checked by FNV-1a)."""
        data = bytes(np.random.default_rng(nbytes).integers(0, 256, nbytes, dtype=np.uint8))
        self._call(P.LINK_TEST, struct.pack("<I", nbytes))
        t0 = time.monotonic()
        for off in range(0, nbytes, 4096):   # the same write size as upload frames
            self.client.port.write(data[off:off + 4096])
        r = self.client.wait_frame(P.LINK_TEST, timeout=60)
        elapsed = time.monotonic() - t0
        h = 2166136261
        for b in data:
            h = ((h ^ b) * 16777619) & 0xFFFFFFFF
        if struct.unpack_from("<BII", r) != (P.OK, nbytes, h):
            raise BoardError("link test: the board received different bytes than were sent")
        return elapsed
