"""Equivalence with peer simulators: a 3-layer LIF network built in snnTorch (and one run by
Norse), exported to / imported from NIR, gives the same spikes in edgert under the peer's
convention. The peers are installed by `make test` (pip install 'edgert[peers]')."""
import importlib
import numpy as np
import pytest

import edgert
from edgert.runtime.spiking import run_steps

from .nets import lif_layers, spikes

SIZES = [40, 64, 48, 10]


def _snntorch_net():
    torch = importlib.import_module("torch")
    snn = importlib.import_module("snntorch")
    importlib.import_module("nirtorch")
    torch.manual_seed(0)
    layers = []
    for k in range(3):
        n = SIZES[k + 1]
        # per-neuron beta and threshold: snnTorch's exporter needs tensors to type the LIF nodes
        layers += [torch.nn.Linear(SIZES[k], n),
                   snn.Leaky(beta=torch.rand(n) * 0.3 + 0.65, threshold=torch.full((n,), 0.5),
                             init_hidden=True, output=k == 2)]
    return torch, torch.nn.Sequential(*layers)


def test_snntorch_three_layer_lif_spikes_equal():
    torch, net = _snntorch_net()
    from snntorch.export_nir import export_to_nir
    from snntorch.utils import reset
    graph = export_to_nir(net, torch.zeros(1, SIZES[0]), ignore_dims=[0])
    steps, batch = 100, 8
    x = spikes(steps, (batch, SIZES[0]), 0.2)
    reset(net)
    with torch.no_grad():
        peer = np.stack([net(torch.from_numpy(x[t]))[0].numpy() for t in range(steps)])
    assert 0 < peer.sum() < peer.size
    # snnTorch's Leaky: mem <- beta*mem + input - threshold*spike[t-1] (subtract, one step late)
    m = edgert.compile(graph, batch=batch, reset="subtract", reset_timing="next")
    for backend in ("c", "numba", "numpy"):
        assert np.array_equal(run_steps(edgert.Session(m, backend=backend), x), peer), backend
    # under Norse's convention (the default) the same graph spikes differently
    default = run_steps(edgert.Session(edgert.compile(graph, batch=batch)), x)
    assert not np.array_equal(default, peer)


def test_norse_lif_network_spikes_equal():
    torch = importlib.import_module("torch")
    norse = importlib.import_module("norse.torch")
    graph = lif_layers(SIZES, seed=0, weight_scale=30.0)  # r = 1: Norse's LIF importer drops r
    steps, batch = 100, 4
    x = spikes(steps, (batch, SIZES[0]), 0.3)
    module = norse.from_nir(graph, dt=1e-4)
    state, outs = None, []
    with torch.no_grad():
        for t in range(steps):
            y, state = module(torch.from_numpy(x[t]), state)
            outs.append(y.numpy())
    peer = np.stack(outs)
    assert 0 < peer.sum()
    assert np.array_equal(run_steps(edgert.Session(edgert.compile(graph, batch=batch)), x), peer)


def test_snntorch_recurrent_rleaky_spikes_equal():
    """RLeaky exports a recurrent Affine (lif -> w_rec -> lif): the one-step recurrent delay, with
    the bias present from the first step (snnTorch applies w_rec to zero spikes at step 0)."""
    torch = importlib.import_module("torch")
    snn = importlib.import_module("snntorch")
    importlib.import_module("nirtorch")
    from snntorch.export_nir import export_to_nir
    from snntorch.utils import reset
    torch.manual_seed(0)
    n = 16
    net = torch.nn.Sequential(
        torch.nn.Linear(10, n),
        snn.RLeaky(beta=torch.full((n,), 0.8), threshold=torch.full((n,), 0.5), linear_features=n, init_hidden=True),
        torch.nn.Linear(n, 4),
        snn.Leaky(beta=torch.full((4,), 0.8), threshold=torch.full((4,), 0.5), init_hidden=True, output=True))
    graph = export_to_nir(net, torch.zeros(1, 10), ignore_dims=[0])
    x = spikes(60, (2, 10), 0.3)
    reset(net)
    with torch.no_grad():
        peer = np.stack([net(torch.from_numpy(x[t]))[0].numpy() for t in range(60)])
    m = edgert.compile(graph, batch=2, reset="subtract", reset_timing="next")
    assert any(t.storage == "state" and t.init is not None for t in m.graph.tensors)
    assert peer.sum() > 0
    for backend in ("c", "numba", "numpy"):
        assert np.array_equal(run_steps(edgert.Session(m, backend=backend), x), peer), backend


def test_snntorch_synaptic_cubalif_spikes_equal():
    """snnTorch Synaptic (syn <- alpha syn + x; mem <- beta mem + syn) exports CubaLIF; its
    membrane integrates the current after this step's input: cuba_order="new"."""
    torch = importlib.import_module("torch")
    snn = importlib.import_module("snntorch")
    importlib.import_module("nirtorch")
    from snntorch.export_nir import export_to_nir
    from snntorch.utils import reset
    torch.manual_seed(0)
    sizes, layers = [20, 24, 6], []
    for k in range(2):
        n = sizes[k + 1]
        layers += [torch.nn.Linear(sizes[k], n),
                   snn.Synaptic(alpha=torch.full((n,), 0.7), beta=torch.rand(n) * 0.2 + 0.75,
                                threshold=torch.full((n,), 0.5), init_hidden=True, output=k == 1)]
    net = torch.nn.Sequential(*layers)
    graph = export_to_nir(net, torch.zeros(1, sizes[0]), ignore_dims=[0])
    x = spikes(80, (4, sizes[0]), 0.3)
    reset(net)
    with torch.no_grad():
        peer = np.stack([net(torch.from_numpy(x[t]))[0].numpy() for t in range(80)])
    assert 0 < peer.sum() < peer.size
    m = edgert.compile(graph, batch=4, reset="subtract", reset_timing="next", cuba_order="new")
    for backend in ("c", "numba", "numpy"):
        assert np.array_equal(run_steps(edgert.Session(m, backend=backend), x), peer), backend
    old = edgert.compile(graph, batch=4, reset="subtract", reset_timing="next")
    assert not np.array_equal(run_steps(edgert.Session(old), x), peer)
