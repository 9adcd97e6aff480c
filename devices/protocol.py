"""Host side of the edgert serial protocol v1 (docs/serial-protocol.md; firmware/core/proto.h).

Frames: COBS(version u8, type u8, seq u16, length u16, payload, CRC-32) + 0x00. Every request
gets one reply (type | 0x80, same seq) whose payload starts with a status byte. `Client`
retries a request with the same seq when the reply is missing or corrupt (the firmware replays
its cached reply instead of running the command twice) and resynchronises on the next 0x00.
"""
from __future__ import annotations

import random
import struct
import time
import zlib

from edgert.errors import BoardError

PROTO_VERSION = 1
HEADER = struct.Struct("<BBHH")
MAX_PAYLOAD = 4096   # protocol limit; each board reports its own (<=) in HELLO
REPLY = 0x80
READ_POLL = 0.02   # seconds one read may block; deadlines are checked between reads
NAK = 0xFF   # the board got a damaged frame: resend without waiting for the timeout

HELLO, MODEL_BEGIN, MODEL_CHUNK, MODEL_COMMIT, SET_INPUT, INVOKE, GET_OUTPUT, GET_COUNTERS, \
    RESET, INVOKE_NODE, LINK_TEST, OPS = range(1, 13)

OK = 0
STATUS_NAMES = {
    0: "OK", 1: "UNKNOWN_TYPE", 2: "BAD_REQUEST", 3: "MODEL_TOO_LARGE", 4: "NO_UPLOAD",
    5: "OUT_OF_ORDER", 6: "INCOMPLETE", 7: "DIGEST_MISMATCH", 8: "MODEL_REJECTED", 9: "NO_MODEL",
    10: "BAD_INDEX", 11: "WRONG_INPUT_SIZE", 12: "INVOKE_FAILED", 13: "ARENA_TOO_SMALL",
}
ERT_STATUS_NAMES = ["OK", "TRUNCATED", "BAD_MAGIC", "BAD_VERSION", "BAD_CRC", "BAD_SECTION",
                    "BAD_STRING", "BAD_TENSOR", "BAD_NODE", "BAD_ATTR", "UNSUPPORTED_OP",
                    "ARENA_TOO_SMALL", "BAD_SHAPE", "KERNEL_FAILED", "BAD_ARGUMENT"]


def cobs_encode(data: bytes) -> bytes:
    out = bytearray([0])
    code_at, code = 0, 1
    for b in data:
        if b == 0:
            out[code_at] = code
            code_at, code = len(out), 1
            out.append(0)
        else:
            out.append(b)
            code += 1
            if code == 0xFF:
                out[code_at] = code
                code_at, code = len(out), 1
                out.append(0)
    out[code_at] = code
    return bytes(out)


def cobs_decode(data: bytes) -> bytes | None:
    out = bytearray()
    i = 0
    while i < len(data):
        code = data[i]
        i += 1
        if code == 0 or i + code - 1 > len(data) or 0 in data[i:i + code - 1]:
            return None
        out += data[i:i + code - 1]
        i += code - 1
        if code != 0xFF and i < len(data):
            out.append(0)
    return bytes(out)


def encode_frame(msg_type: int, seq: int, payload: bytes = b"") -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = HEADER.pack(PROTO_VERSION, msg_type, seq & 0xFFFF, len(payload)) + payload
    return cobs_encode(body + struct.pack("<I", zlib.crc32(body))) + b"\0"


def decode_frame(encoded: bytes) -> tuple[int, int, bytes] | None:
    """(type, seq, payload) of one encoded frame (without its delimiter), None if corrupt."""
    raw = cobs_decode(encoded)
    if raw is None or len(raw) < HEADER.size + 4:
        return None
    version, msg_type, seq, length = HEADER.unpack_from(raw)
    if version != PROTO_VERSION or HEADER.size + length + 4 != len(raw):
        return None
    if zlib.crc32(raw[:-4]) != struct.unpack_from("<I", raw, len(raw) - 4)[0]:
        return None
    return msg_type, seq, raw[HEADER.size:-4]


DAMAGED = (-1, -1, b"")   # what _read_frame returns for a frame that failed its checks


class NoReply(BoardError):
    """No intact reply arrived within the retries (as opposed to a reply refusing the request)."""


def _decode_after_text(chunk: bytes) -> tuple[int, int, bytes] | None:
    """Decode a frame that may follow text lines the firmware printed (its MLPerf Tiny boot
    banner ends in CRLF with no 0x00 before the next frame)."""
    frame = decode_frame(chunk)
    start = chunk.find(b"\n")
    while frame is None and start >= 0:
        frame = decode_frame(chunk[start + 1:])
        start = chunk.find(b"\n", start + 1)
    return frame


class Client:
    """Request/reply over a byte transport with pyserial's read/write/timeout interface."""

    def __init__(self, port, timeout: float = 1.0, retries: int = 8):
        self.port = port
        # set once: on real serial ports a timeout change reconfigures the tty
        self.port.timeout = READ_POLL
        self.timeout = timeout
        self.retries = retries
        self.seq = random.randrange(0x10000)  # a fresh session never collides with a cached reply
        self._rx = bytearray()
        self.stats = {"requests": 0, "retries": 0, "bad_frames": 0, "naks": 0}

    def send(self, msg_type: int, payload: bytes = b"") -> int:
        """Write one request without waiting (pipelining); returns its sequence number."""
        self.seq = (self.seq + 1) & 0xFFFF
        self.stats["requests"] += 1
        self.port.write(encode_frame(msg_type, self.seq, payload))
        return self.seq

    def read_frame(self, deadline: float) -> tuple[int, int, bytes] | None:
        return self._read_frame(deadline)

    def _read_frame(self, deadline: float) -> tuple[int, int, bytes] | None:
        """Next frame before the deadline (DAMAGED for one that failed its checks), or None."""
        while True:
            end = self._rx.find(b"\0")
            if end >= 0:
                chunk, self._rx = bytes(self._rx[:end]), self._rx[end + 1:]
                frame = _decode_after_text(chunk) if chunk else None
                if frame is not None:
                    return frame
                if chunk:
                    self.stats["bad_frames"] += 1
                    return DAMAGED
                continue
            if time.monotonic() >= deadline:
                return None
            data = self.port.read(max(1, self.port.in_waiting))   # waits at most READ_POLL
            if data:
                self._rx += data
                if len(self._rx) > 8 * MAX_PAYLOAD:  # garbage without a delimiter: resync
                    self._rx.clear()

    def request(self, msg_type: int, payload: bytes = b"", timeout: float | None = None,
                retries: int | None = None, backoff: bool = False) -> bytes:
        """Send one request and return the reply payload (status byte first). With backoff the
        wait doubles on each attempt (for commands of unknown duration, like an inference)."""
        self.seq = (self.seq + 1) & 0xFFFF
        frame = encode_frame(msg_type, self.seq, payload)
        self.stats["requests"] += 1
        wait = self.timeout if timeout is None else timeout
        retries = self.retries if retries is None else retries
        for attempt in range(retries + 1):
            if attempt:
                self.stats["retries"] += 1
                wait *= 2 if backoff else 1
            self.port.write(frame)
            deadline = time.monotonic() + wait
            while (reply := self._read_frame(deadline)) is not None:
                r_type, r_seq, r_payload = reply
                if r_seq == self.seq and r_type == msg_type | REPLY and r_payload:
                    return r_payload
                if r_type == NAK or reply is DAMAGED:
                    # our request or the reply was damaged: resend now (a repeated request
                    # makes the board replay its reply, never run the command twice)
                    self.stats["naks"] += r_type == NAK
                    break
                # a late reply to an earlier request: ignore it
        raise NoReply(f"board did not answer request type {msg_type:#04x} after "
                         f"{retries + 1} attempts (last wait {wait:.2f} s): check the port, the "
                         f"baud rate and that the edgert firmware is running")

    def wait_frame(self, msg_type: int, timeout: float) -> bytes:
        """A second reply to the current request (LINK_TEST sends two)."""
        deadline = time.monotonic() + timeout
        while (reply := self._read_frame(deadline)) is not None:
            if reply is not DAMAGED and reply[1] == self.seq and reply[0] == msg_type | REPLY:
                return reply[2]
        raise BoardError(f"board sent no result for request type {msg_type:#04x} within {timeout:.1f} s")
