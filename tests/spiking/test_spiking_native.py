"""The C kernels' load-time checks: an .ert whose SNN ops do not fit together is refused with a
clear error naming the op, and mutated SNN files never crash the C runtime."""
import copy
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import edgert
from edgert.errors import EdgertError, FormatError, ModelError
from edgert.native import NativeModel
from edgert.runtime import planner
from edgert.runtime.format import write_ert

from .nets import lif_layers


def _tampered(mode, change) -> bytes:
    """Compile a small recurrent network, let `change` edit the graph, and serialise it."""
    g = copy.deepcopy(edgert.compile(lif_layers([5, 6, 3], cuba=True, recurrent=True), mode=mode,
                                     spike_delay=1).graph)
    change(g)
    return write_ert(g, planner.plan(g), {"family": "snn"})


def _node(g, op):
    return next(n for n in g.nodes if n.op == op)


def _set_const(g, k, data):
    t = g.tensors[k]
    t.data, t.shape = data, data.shape


@pytest.mark.parametrize("mode, op, change, message", [
    ("float", "SNN_NEURON", lambda g, n: _set_const(g, n.inputs[1], g.tensors[n.inputs[1]].data[:3]), "params"),
    ("float", "SNN_DELAY", lambda g, n: _set_const(g, n.inputs[1], np.full_like(g.tensors[n.inputs[1]].data, 9)), "delay exceeds"),
    ("float", "SNN_LINEAR_EVENT", lambda g, n: _set_const(g, n.inputs[1], g.tensors[n.inputs[1]].data[:, :2]), "weight shape"),
    ("fixed", "SNN_NEURON_FX", lambda g, n: n.attrs.__setitem__("shift_in", 70), "shifts"),
    ("fixed", "SNN_ADD_FX", lambda g, n: n.attrs.__setitem__("shifts", [0]), "one shift per input"),
    ("fixed", "SNN_LINEAR_EVENT_FX", lambda g, n: setattr(n, "scratch", 8), "scratch"),
])
def test_inconsistent_snn_ops_are_refused(mode, op, change, message):
    raw = _tampered(mode, lambda g: change(g, _node(g, op)))
    with pytest.raises((ModelError, FormatError), match=message):
        NativeModel(raw)


RAW = edgert.compile(lif_layers([5, 6, 3], cuba=True, recurrent=True), spike_delay=1).ert


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_snn_files_never_crash(data):
    raw = bytearray(RAW)
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(64, len(raw) - 4))  # past the header: reach the records and data
        struct.pack_into("<I", raw, pos & ~3, data.draw(st.sampled_from([0, 1, 7, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF])))
    struct.pack_into("<I", raw, 12, 0)
    struct.pack_into("<I", raw, 12, zlib.crc32(raw))
    try:
        m = NativeModel(bytes(raw))
    except EdgertError:
        return
    for _ in range(3):
        try:
            m.invoke()
        except EdgertError:
            return
