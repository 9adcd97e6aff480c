"""edgert -> NIR -> edgert gives the same constants and the same spikes."""
import nir
import numpy as np
import pytest

import edgert
from edgert.runtime.exporters.nir import to_nir
from edgert.runtime.spiking import run_steps

from .nets import GRAPHS, lif_layers, options_for, spikes


def _constants(m):
    return [t.data for t in m.graph.tensors if t.data is not None]


def _round_trip(m, tmp_path):
    path = tmp_path / "exported.nir"
    nir.write(path, to_nir(m))
    return edgert.compile(path)  # no options: the conventions travel in the NIR metadata


@pytest.mark.parametrize("path", GRAPHS, ids=lambda p: p.name)
@pytest.mark.parametrize("conv", [{}, {"integrator": "exact", "reset": "subtract", "spike_delay": 1, "cuba_order": "new"}],
                         ids=["default", "exact-subtract-delayed"])
def test_reference_graphs_round_trip(path, conv, tmp_path):
    m = edgert.compile(path, **options_for(path), **conv)
    back = _round_trip(m, tmp_path)
    assert [n.op for n in back.graph.nodes] == [n.op for n in m.graph.nodes]
    assert all(np.array_equal(a, b) for a, b in zip(_constants(m), _constants(back), strict=True))
    shape = edgert.Session(m).input_details()[0]["shape"]
    x = spikes(40, shape, 0.3)
    assert np.array_equal(run_steps(edgert.Session(m), x), run_steps(edgert.Session(back), x))


def test_exported_graph_is_plain_nir(tmp_path):
    m = edgert.compile(lif_layers([8, 6, 4], cuba=True, recurrent=True), integrator="exact")
    path = tmp_path / "net.nir"
    nir.write(path, to_nir(m))
    g = nir.read(path)  # nir's own reader and type check accept it
    kinds = sorted(type(n).__name__ for n in g.nodes.values())
    assert kinds.count("CubaLIF") == 2 and kinds.count("Linear") == 2 and kinds.count("Affine") == 2
    assert ("lif0", "rec0") in [tuple(e) for e in g.edges] and ("rec0", "lif0") in [tuple(e) for e in g.edges]


def test_fixed_models_do_not_export():
    m = edgert.compile(lif_layers([4, 3]), mode="fixed")
    with pytest.raises(edgert.UnsupportedOpError, match="float"):
        to_nir(m)
