"""The host's framing: COBS + CRC frames round-trip, and any damage is detected."""
from hypothesis import given, settings
from hypothesis import strategies as st

from edgert.devices import protocol as P


@given(st.binary(max_size=2000))
def test_cobs_round_trip_has_no_zero(data):
    enc = P.cobs_encode(data)
    assert 0 not in enc
    assert P.cobs_decode(enc) == data


@given(st.integers(0, 255), st.integers(0, 0xFFFF), st.binary(max_size=P.MAX_PAYLOAD))
def test_frame_round_trip(msg_type, seq, payload):
    wire = P.encode_frame(msg_type, seq, payload)
    assert wire[-1] == 0 and 0 not in wire[:-1]
    assert P.decode_frame(wire[:-1]) == (msg_type, seq, payload)


@settings(max_examples=300)
@given(st.binary(min_size=1, max_size=300), st.data())
def test_damaged_frames_are_rejected(payload, data):
    wire = bytearray(P.encode_frame(P.INVOKE, 7, payload)[:-1])
    pos = data.draw(st.integers(0, len(wire) - 1))
    kind = data.draw(st.sampled_from(["flip", "drop", "dup"]))
    if kind == "flip":
        wire[pos] ^= data.draw(st.integers(1, 255))
    elif kind == "drop":
        del wire[pos]
    else:
        wire.insert(pos, wire[pos])
    assert P.decode_frame(bytes(wire)) is None
