"""Hostile or broken NIR input gets a clear edgert error, never a crash or a silent result."""
import dataclasses

import nir
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import edgert
from edgert.errors import EdgertError, FormatError, ModelError, UnsupportedOpError

from .nets import MODELS, lif_layers


def _graph(**changes):
    g = lif_layers([3, 4, 2])
    for name, node in changes.pop("nodes", {}).items():
        g.nodes[name] = node
    g.edges = changes.pop("edges", g.edges)
    return g


def test_missing_edge_into_a_node():
    g = _graph(edges=[e for e in lif_layers([3, 4, 2]).edges if e != ("fc0", "lif0")])
    with pytest.raises(ModelError, match="'lif0'.*not reachable from an Input: no edge enters it"):
        edgert.compile(g)


def test_edge_to_a_node_that_does_not_exist():
    g = _graph(edges=lif_layers([3, 4, 2]).edges + [("lif1", "ghost")])
    with pytest.raises(ModelError, match="node 'ghost' does not exist"):
        edgert.compile(g)


def test_shape_mismatch_between_layers():
    g = _graph(nodes={"fc1": nir.Affine(weight=np.ones((2, 5), np.float32), bias=np.zeros(2, np.float32))})
    with pytest.raises(ModelError, match=r"'fc1': weight \(2, 5\) does not fit its input of shape \(4,\)"):
        edgert.compile(g)


def test_neuron_parameters_that_do_not_fit_their_input():
    g = _graph(nodes={"lif0": nir.LIF(tau=np.full(7, 0.01), r=np.ones(7), v_leak=np.zeros(7),
                                      v_threshold=np.ones(7), v_reset=np.zeros(7))})
    with pytest.raises(ModelError, match="'lif0': field 'tau' has shape \\(7,\\)"):
        edgert.compile(g)


@pytest.mark.parametrize("tau", [-0.01, 0.0])
def test_non_positive_tau(tau):
    g = _graph(nodes={"lif0": nir.LIF(tau=np.full(4, tau), r=np.ones(4), v_leak=np.zeros(4),
                                      v_threshold=np.ones(4), v_reset=np.zeros(4))})
    with pytest.raises(ModelError, match="'lif0': field 'tau' must be > 0"):
        edgert.compile(g)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_infinite_weights(bad):
    w = np.ones((4, 3), np.float32)
    w[1, 2] = bad
    g = _graph(nodes={"fc0": nir.Affine(weight=w, bias=np.zeros(4, np.float32))})
    with pytest.raises(ModelError, match="'fc0': field 'weight' contains NaN or infinity"):
        edgert.compile(g)


@dataclasses.dataclass(eq=False)
class Spiral(nir.NIRNode):
    """A node type NIR does not define."""
    spin: np.ndarray

    def __post_init__(self):
        self.input_type, self.output_type = {"input": np.array([4])}, {"output": np.array([4])}


def test_unsupported_node_type():
    g = _graph(nodes={"fc0": Spiral(np.ones(1))})
    with pytest.raises(UnsupportedOpError, match="'fc0': type Spiral is not supported"):
        edgert.compile(g)


def test_cycle_that_no_input_reaches():
    g = _graph(nodes={"a": nir.Linear(weight=np.ones((2, 2))), "b": nir.Linear(weight=np.ones((2, 2)))},
               edges=lif_layers([3, 4, 2]).edges + [("a", "b"), ("b", "a")])
    with pytest.raises(ModelError, match="not reachable from an Input"):
        edgert.compile(g)


def test_negative_delay():
    g = _graph(nodes={"d": nir.Delay(delay=np.full(2, -1e-3))},
               edges=[e for e in lif_layers([3, 4, 2]).edges if e[1] != "output"] + [("lif1", "d"), ("d", "output")])
    with pytest.raises(ModelError, match="'d': delays must be 0"):
        edgert.compile(g)


@pytest.mark.parametrize("options, match", [({"dt": -1e-4}, "dt"), ({"integrator": "rk4"}, "integrator"),
                                            ({"spike_delay": 3}, "spike_delay"), ({"tau_scale": 2}, "unknown")])
def test_bad_options(options, match):
    with pytest.raises(ModelError, match=match):
        edgert.compile(lif_layers([3, 2]), **options)


def test_not_an_hdf5_file(tmp_path):
    p = tmp_path / "net.nir"
    p.write_bytes(b"this is not HDF5")
    with pytest.raises(FormatError, match="net.nir: not a readable NIR file"):
        edgert.compile(p)


RAW = (MODELS / "lif_norse.nir").read_bytes()


@pytest.mark.timeout(120)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, len(RAW) - 1), st.integers(0, 255)), min_size=1, max_size=12))
def test_corrupted_files_fail_cleanly(tmp_path, flips):
    raw = bytearray(RAW)
    for pos, val in flips:
        raw[pos] = val
    p = tmp_path / "fuzz.nir"
    p.write_bytes(bytes(raw))
    try:
        m = edgert.compile(p)
    except EdgertError:
        return
    y = edgert.runtime.spiking.run_steps(edgert.Session(m), np.ones((3, 1), np.float32))
    assert y.shape[0] == 3
