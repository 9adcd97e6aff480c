"""All three backends (C, Numba, numpy reference) and both synapse paths agree bit for bit."""
import numpy as np
import pytest

import edgert
from edgert.runtime.spiking import activity, run_steps

from .nets import GRAPHS, lif_layers, options_for, spikes

CONVENTIONS = [
    {},
    {"integrator": "exact", "reset": "subtract"},
    {"reset_timing": "next", "reset": "subtract", "cuba_order": "new"},
    {"spike_delay": 1, "batch": 3},
]


def _all_backends(model, x):
    runs = {}
    for backend in ("c", "numba", "numpy"):
        s = edgert.Session(model, backend=backend)
        runs[backend] = (run_steps(s, x), activity(edgert.Session(model, backend=backend), x))
    return runs


@pytest.mark.parametrize("path", GRAPHS, ids=lambda p: p.name)
@pytest.mark.parametrize("synapses", ["event", "dense"])
def test_reference_graphs_equal_on_every_backend(path, synapses):
    m = edgert.compile(path, synapses=synapses, **options_for(path))
    shape = edgert.Session(m, backend="numpy").input_details()[0]["shape"]
    runs = _all_backends(m, spikes(25, shape, 0.3))
    (y, act) = runs["numpy"]
    for backend in ("c", "numba"):
        assert np.array_equal(runs[backend][0], y), backend
        assert runs[backend][1] == act, backend


@pytest.mark.parametrize("conv", CONVENTIONS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
@pytest.mark.parametrize("cuba", [False, True])
def test_conventions_equal_on_every_backend(conv, cuba):
    g = lif_layers([30, 40, 20], seed=3, cuba=cuba, recurrent=True, r=50.0)
    m = edgert.compile(g, **conv)
    batch = conv.get("batch", 1)
    x = spikes(60, (batch, 30), 0.3)
    runs = _all_backends(m, x)
    y = runs["numpy"][0]
    assert y.shape == (60, batch, 20)
    assert 0 < y.sum() < y.size  # the network is neither silent nor saturated
    for backend in ("c", "numba"):
        assert np.array_equal(runs[backend][0], y), backend
        assert runs[backend][1] == runs["numpy"][1], backend


def test_event_and_dense_paths_agree_and_event_cost_follows_spikes():
    g = lif_layers([100, 50, 10], seed=5, r=50.0)
    x = spikes(20, (100,), 0.05)
    ev, de = (edgert.compile(g, synapses=p) for p in ("event", "dense"))
    assert [n.op for n in ev.graph.nodes][0] == "SNN_LINEAR_EVENT"
    assert [n.op for n in de.graph.nodes][0] == "SNN_LINEAR"
    assert np.array_equal(run_steps(edgert.Session(ev), x), run_steps(edgert.Session(de), x))
    act = activity(edgert.Session(ev), x)
    assert act["fc0"]["input_events"] == int(x.sum())
    assert act["fc0"]["synaptic_events"] == int(x.sum()) * 50
    assert act["lif0"]["neuron_updates"] == 20 * 50
    assert act["fc1"]["input_events"] == act["lif0"]["spikes"]


def test_batch_rows_are_independent_samples():
    g = lif_layers([30, 20, 5], seed=2, r=50.0)
    x = spikes(40, (4, 30), 0.3)
    batched = run_steps(edgert.Session(edgert.compile(g, batch=4)), x)
    single = edgert.compile(g)
    for b in range(4):
        assert np.array_equal(run_steps(edgert.Session(single), x[:, b]).reshape(40, 5), batched[:, b])
