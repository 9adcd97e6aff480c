"""The firmware's binary protocol, driven over a real pty against the host port: the same
core C sources as the QEMU and real-board builds."""
import struct
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgert.devices import Board
from edgert.devices import protocol as P
from edgert.devices.board import fnv1a64
from edgert.errors import BoardError, InputError, ModelError, UnsupportedOpError
from edgert.runtime.format import write_ert
from edgert.runtime.ir import Graph, Tensor

from native.models import reshape_chain, rich_model  # tests/ is on sys.path (pytest prepend import)


@pytest.fixture
def board(host_url):
    with Board.open(host_url, timeout=1.0) as b:
        yield b


def test_info_names_port_capacity_and_ops(board):
    info = board.info()
    assert info.port == "host" and info.counter == "ns"
    assert info.firmware.startswith("edgert-fw")
    assert info.model_capacity > 0 and info.arena_capacity > 0
    assert "RESHAPE" in info.ops


def test_deploy_and_run_matches_host(board):
    ert = reshape_chain(3)
    report = board.deploy(ert)
    assert report == {"bytes": len(ert), "nodes": 3, "inputs": 1, "outputs": 1, "arena": 32}
    x = np.arange(-8, 8, dtype=np.int8).reshape(2, 8)
    np.testing.assert_array_equal(board.run(x), x.reshape(-1))
    counts = board.counters()
    assert [c.op for c in counts] == ["RESHAPE"] * 3 and all(c.cycles > 0 for c in counts)
    assert board.last_invocation.end >= board.last_invocation.start
    assert board.info().model_digest == fnv1a64(ert)


def test_oversized_model_is_refused(board):
    cap = board.info().model_capacity
    with pytest.raises(ModelError, match=f"exceed its model capacity of {cap}"):
        board.deploy(b"\0" * (cap + 1))


def test_unsupported_op_is_refused_by_name(board):
    g = Graph()
    x = g.add_tensor(Tensor("x", "int8", (4,), offset=0))
    y = g.add_tensor(Tensor("y", "int8", (4,), offset=16))
    g.add_node("FROBNICATE", [x], [y], name="frob")
    g.inputs, g.outputs = [x], [y]
    with pytest.raises(UnsupportedOpError, match="FROBNICATE.*node 0"):
        board.deploy(write_ert(g, 32))


def test_corrupt_model_is_rejected_with_reason(board):
    raw = bytearray(rich_model())
    raw[-1] ^= 0xFF
    with pytest.raises(ModelError, match="BAD_CRC"):
        board.deploy(bytes(raw))


def test_wrong_input_size_is_refused(board):
    board.deploy(reshape_chain())
    reply = board.client.request(P.SET_INPUT, struct.pack("<HHII", 0, 0, 15, 0) + b"\1" * 15)
    with pytest.raises(InputError, match="takes 16 bytes, 15 were sent"):
        raise board._error(reply)
    with pytest.raises(InputError):   # the host checks first, too
        board.run(np.zeros((2, 7), np.int8))


def test_truncated_upload_is_never_run(board):
    ert = reshape_chain()
    board.client.request(P.MODEL_BEGIN, struct.pack("<IQ", len(ert), fnv1a64(ert)))
    board.client.request(P.MODEL_CHUNK, struct.pack("<I", 0) + ert[:100])
    reply = board.client.request(P.MODEL_COMMIT)
    with pytest.raises(BoardError, match="truncated: the board holds 100 of"):
        raise board._error(reply)
    assert board.client.request(P.INVOKE)[0] == 9   # NO_MODEL
    assert board.info().model_size == 0


def test_digest_mismatch_is_never_run(board):
    ert = reshape_chain()
    board.client.request(P.MODEL_BEGIN, struct.pack("<IQ", len(ert), fnv1a64(ert) ^ 1))
    board.client.request(P.MODEL_CHUNK, struct.pack("<I", 0) + ert)
    reply = board.client.request(P.MODEL_COMMIT)
    with pytest.raises(BoardError, match="digest mismatch"):
        raise board._error(reply)
    assert board.client.request(P.INVOKE)[0] == 9


def test_out_of_order_chunk_is_refused(board):
    ert = reshape_chain()
    board.client.request(P.MODEL_BEGIN, struct.pack("<IQ", len(ert), fnv1a64(ert)))
    reply = board.client.request(P.MODEL_CHUNK, struct.pack("<I", 64) + ert[64:128])
    assert reply[0] == 5 and struct.unpack_from("<I", reply, 1)[0] == 0


def test_repeated_request_replays_reply_without_rerunning(board):
    """A retry (same seq) must not run a command twice: the board resends its cached reply."""
    board.deploy(reshape_chain())
    c = board.client
    c.seq = (c.seq + 1) & 0xFFFF
    run = P.encode_frame(P.INVOKE, c.seq, b"")
    c.port.write(run)
    first = c._read_frame(time.monotonic() + 2)
    c.port.write(run)
    again = c._read_frame(time.monotonic() + 2)
    assert first == again   # same board timestamps: the inference ran once


def test_garbage_between_frames_is_skipped(board):
    board.client.port.write(b"\x13\x37garbage\xff\xfe" + b"\0")
    assert board.info().port == "host"


def test_unknown_message_type(board):
    assert P.STATUS_NAMES[board.client.request(0x55)[0]] == "UNKNOWN_TYPE"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(noise=st.binary(min_size=1, max_size=3000))
def test_firmware_resyncs_after_any_noise(board, noise):
    """Arbitrary bytes on the line (text, broken frames, no delimiter) never wedge the board:
    the next request is answered."""
    board.client.port.write(noise)
    assert board.info().port == "host"


def test_silent_link_is_a_clear_error():
    """loop:// echoes our own request back: a frame, but no reply; bounded retries, then an error."""
    with pytest.raises(BoardError, match="did not answer request type 0x01 after 3 attempts"):
        Board.open("loop://", timeout=0.05, retries=2)
