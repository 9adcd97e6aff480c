"""Each NIR node's discrete-time meaning, against an independent computation (PyTorch for the
convolutions and pools, float64 formulas for the neurons), on every backend and path."""
import importlib
import nir
import numpy as np
import pytest

import edgert
from edgert.runtime.spiking import record, run_steps

PATHS = ("event", "dense")
BACKENDS = ("c", "numba", "numpy")


def chain(shape, *nodes, out_shape=None):
    """Input(shape) -> nodes in order -> Output."""
    names = [f"n{k}" for k in range(len(nodes))]
    g = {"input": nir.Input(input_type={"input": np.array(shape)}), **dict(zip(names, nodes)),
         "output": nir.Output(output_type={"output": np.array(out_shape or shape)})}
    seq = ["input", *names, "output"]
    return nir.NIRGraph(nodes=g, edges=list(zip(seq[:-1], seq[1:])), type_check=False)


def run_all(graph, x, **options):
    """Outputs of every backend and synapse path; asserts they are identical and returns one."""
    results = []
    for path in PATHS:
        m = edgert.compile(graph, synapses=path, **options)
        results += [run_steps(edgert.Session(m, backend=b), x) for b in BACKENDS]
    for r in results[1:]:
        assert np.array_equal(r, results[0])
    return results[0]


@pytest.mark.parametrize("stride, padding, dilation, groups", [(1, 0, 1, 1), (2, 1, 1, 1), (1, 2, 2, 2), (2, "same", 1, 4)])
def test_conv2d_matches_torch(stride, padding, dilation, groups):
    torch = importlib.import_module("torch")
    rng = np.random.default_rng(0)
    if padding == "same":
        stride = 1
    w = rng.normal(size=(8, 4 // groups, 3, 3)).astype(np.float32)
    b = rng.normal(size=8).astype(np.float32)
    x = (rng.random((3, 1, 4, 9, 11)) < 0.4) * rng.normal(size=(3, 1, 4, 9, 11)).astype(np.float32)
    x = x.astype(np.float32)
    ref = torch.nn.functional.conv2d(torch.from_numpy(x[:, 0]), torch.from_numpy(w), torch.from_numpy(b), stride,
                                     padding, dilation, groups).numpy()
    conv = nir.Conv2d(input_shape=(9, 11), weight=w, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=b)
    y = run_all(chain((4, 9, 11), conv, out_shape=ref.shape[1:]), x)
    assert y.shape == (3, 1, *ref.shape[1:])
    assert np.allclose(y[:, 0], ref, atol=1e-5)


def test_conv1d_matches_torch():
    torch = importlib.import_module("torch")
    rng = np.random.default_rng(1)
    w, b = rng.normal(size=(5, 3, 4)).astype(np.float32), rng.normal(size=5).astype(np.float32)
    x = rng.normal(size=(2, 1, 3, 20)).astype(np.float32)
    ref = torch.nn.functional.conv1d(torch.from_numpy(x[:, 0]), torch.from_numpy(w), torch.from_numpy(b), 2, 1).numpy()
    conv = nir.Conv1d(input_shape=20, weight=w, stride=2, padding=1, dilation=1, groups=1, bias=b)
    y = run_all(chain((3, 20), conv, out_shape=ref.shape[1:]), x)
    assert np.allclose(y[:, 0], ref, atol=1e-5)


@pytest.mark.parametrize("average", [False, True])
def test_pools_match_torch(average):
    torch = importlib.import_module("torch")
    x = np.random.default_rng(2).normal(size=(2, 1, 3, 8, 6)).astype(np.float32)
    ref = torch.nn.functional.avg_pool2d(torch.from_numpy(x[:, 0]), 2, 2, 1, count_include_pad=True).numpy()
    node = (nir.AvgPool2d if average else nir.SumPool2d)(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                                          padding=np.array([1, 1]))
    y = run_all(chain((3, 8, 6), node, out_shape=ref.shape[1:]), x)
    assert np.allclose(y[:, 0], ref if average else ref * 4, atol=1e-5)


def test_flatten_scale_threshold():
    x = np.random.default_rng(3).normal(size=(4, 1, 2, 3)).astype(np.float32)
    s = np.arange(1, 7, dtype=np.float32).reshape(2, 3)
    g = chain((2, 3), nir.Scale(scale=s), nir.Flatten(input_type={"input": np.array([2, 3])}, start_dim=0, end_dim=-1),
              nir.Threshold(threshold=np.full(6, 0.5)), out_shape=(6,))
    y = run_all(g, x)
    assert np.array_equal(y, ((x * s).reshape(4, 1, 6) > 0.5).astype(np.float32))


def test_delay_shifts_each_element_by_its_own_steps():
    x = np.zeros((8, 3), np.float32)
    x[1] = [1, 2, 3]
    y = run_all(chain((3,), nir.Delay(delay=np.array([0.0, 1e-4, 3e-4]))), x)
    assert y[1].tolist() == [[1, 0, 0]] and y[2].tolist() == [[0, 2, 0]] and y[4].tolist() == [[0, 0, 3]]
    assert y.sum() == 6


def _single(node, x, **options):
    return run_all(chain((1,), node), np.asarray(x, np.float32).reshape(-1, 1), **options).reshape(-1)


def test_if_integrates_and_resets():
    y = _single(nir.IF(r=np.array([2.0]), v_threshold=np.array([1.0]), v_reset=np.array([0.0])), [0.3] * 8, dt=1.0)
    # v: 0.6, 1.2 -> spike, reset 0; 0.6, 1.2 -> spike ...
    assert y.tolist() == [0, 1, 0, 1, 0, 1, 0, 1]


@pytest.mark.parametrize("integrator", ["euler", "exact"])
def test_li_and_integrator_traces(integrator):
    x = np.random.default_rng(4).normal(size=30)
    tau, r, v_leak, dt = 0.005, 3.0, 0.2, 1e-3
    a = np.exp(-dt / tau) if integrator == "exact" else 1 - dt / tau
    bta = r * (1 - a) if integrator == "exact" else dt / tau * r
    v, ref = 0.0, []
    for xi in x:
        v = a * v + bta * np.float32(xi) + v_leak * (1 - a if integrator == "exact" else dt / tau)
        ref.append(v)
    y = _single(nir.LI(tau=np.array([tau]), r=np.array([r]), v_leak=np.array([v_leak])), x, dt=dt, integrator=integrator)
    assert np.allclose(y, ref, atol=1e-5)
    y = _single(nir.I(r=np.array([r])), x, dt=dt)
    assert np.allclose(y, np.cumsum(dt * r * x.astype(np.float32)), atol=1e-5)


@pytest.mark.parametrize("order", ["old", "new"])
def test_cuba_li_current_order(order):
    x = np.zeros(6)
    x[0] = 1.0
    node = nir.CubaLI(tau_syn=np.array([2e-4]), tau_mem=np.array([4e-4]), r=np.array([1.0]), v_leak=np.array([0.0]),
                      w_in=np.array([1.0]))
    y = _single(node, x, cuba_order=order)
    # Euler, dt = 1e-4: i <- 0.5 i + 0.5 x; v <- 0.75 v + 0.25 i (old i, or the new one)
    i, v, ref = 0.0, 0.0, []
    for xi in x:
        i_new = 0.5 * i + 0.5 * xi
        v = 0.75 * v + 0.25 * (i_new if order == "new" else i)
        i = i_new
        ref.append(v)
    assert np.allclose(y, ref, atol=1e-7)
    assert (y[0] == 0) == (order == "old")


@pytest.mark.parametrize("reset, timing, expected_v", [
    ("zero", "same", [0.9, 0.0, 0.6]),
    ("subtract", "same", [0.9, 0.2, 0.7]),
    ("subtract", "next", [0.9, 1.2, 0.2]),
    ("zero", "next", [0.9, 1.2, 0.6])])
def test_reset_modes_on_one_neuron(reset, timing, expected_v):
    """LIF with alpha = 0.5 (tau = 2 dt), beta = 1 (r = 2): inputs 0.9, 0.75, 0.6, threshold 1."""
    node = nir.LIF(tau=np.array([2e-4]), r=np.array([2.0]), v_leak=np.array([0.0]), v_threshold=np.array([1.0]),
                   v_reset=np.array([0.0]))
    g = chain((1,), node)
    x = np.array([[0.9], [0.75], [0.6]], np.float32)
    m = edgert.compile(g, reset=reset, reset_timing=timing)
    for backend in BACKENDS:
        v = record(edgert.Session(m, backend=backend), x, ["n0"])["n0"].reshape(-1)
        assert np.allclose(v, expected_v, atol=1e-6), backend
    assert run_steps(edgert.Session(m), x).reshape(-1).tolist() == [0, 1, 0]


def test_spike_delay_shifts_each_spiking_layer_by_one_step():
    lif = lambda: nir.LIF(tau=np.array([1e-3]), r=np.array([10.0]), v_leak=np.array([0.0]), v_threshold=np.array([0.5]),
                          v_reset=np.array([0.0]))
    g = chain((1,), lif(), nir.Linear(weight=np.array([[10.0]])), lif())
    x = np.zeros((10, 1), np.float32)
    x[2] = 1.0
    same = run_all(g, x).reshape(-1)
    late = run_all(g, x, spike_delay=1).reshape(-1)
    assert np.flatnonzero(same).tolist() == [2]
    assert np.flatnonzero(late).tolist() == [4]


def test_nested_subgraph_equals_its_flat_form():
    rng = np.random.default_rng(5)
    w_in, w_rec = rng.normal(0, 3, (6, 4)), rng.normal(0, 1, (6, 6))
    lif = lambda: nir.LIF(tau=np.full(6, 1e-3), r=np.full(6, 10.0), v_leak=np.zeros(6), v_threshold=np.ones(6),
                          v_reset=np.zeros(6))
    inner = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([6])}), "lif": lif(),
                                "w_rec": nir.Linear(weight=w_rec), "output": nir.Output(output_type={"output": np.array([6])})},
                         edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")], type_check=False)
    outer = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([4])}), "fc": nir.Linear(weight=w_in),
                                "rec": inner, "output": nir.Output(output_type={"output": np.array([6])})},
                         edges=[("input", "fc"), ("fc", "rec"), ("rec", "output")], type_check=False)
    flat = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([4])}), "fc": nir.Linear(weight=w_in),
                               "lif": lif(), "w_rec": nir.Linear(weight=w_rec),
                               "output": nir.Output(output_type={"output": np.array([6])})},
                        edges=[("input", "fc"), ("fc", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
                        type_check=False)
    x = (rng.random((40, 4)) < 0.4).astype(np.float32)
    nested = run_all(outer, x)
    assert nested.sum() > 0
    assert np.array_equal(nested, run_all(flat, x))
    assert "rec.lif" in [n.name for n in edgert.compile(outer).graph.nodes]
