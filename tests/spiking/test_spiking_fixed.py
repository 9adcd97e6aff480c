"""Fixed-point mode: integer state and weights, spikes compared with float mode per graph."""
import numpy as np
import pytest

import edgert
from edgert.runtime.spiking import record, run_steps

from .nets import GRAPHS, MODELS, lif_layers, options_for, spikes

# lowest acceptable share of (step, output) entries where fixed and float spikes agree
AGREEMENT = {"cnn_sinabs.nir": 0.85}


@pytest.mark.parametrize("path", GRAPHS, ids=lambda p: p.name)
def test_fixed_agrees_with_float_and_backends_are_identical(path):
    opts = options_for(path)
    fl, fx = edgert.compile(path, **opts), edgert.compile(path, mode="fixed", **opts)
    assert {t.dtype for t in fx.graph.tensors if t.storage != "const"} == {"int32"}
    weights = [t for t in fx.graph.tensors if t.name.endswith(("weight", "weight_t"))]
    assert weights and all(t.dtype == "int16" and np.abs(t.data).max() > 0 for t in weights)
    shape = edgert.Session(fl).input_details()[0]["shape"]
    x = spikes(100, shape, 0.3)
    ref = run_steps(edgert.Session(fl), x)
    runs = {b: run_steps(edgert.Session(fx, backend=b), x) for b in ("c", "numba", "numpy")}
    assert np.array_equal(runs["c"], runs["numpy"]) and np.array_equal(runs["numba"], runs["numpy"])
    agreement = float(np.mean(runs["c"] == ref))
    print(f"fixed vs float spike agreement {path.name}: {agreement:.4f} "
          f"({int(ref.sum())} float spikes, {int(runs['c'].sum())} fixed)")
    assert agreement >= AGREEMENT.get(path.name, 0.95)


def test_fixed_membrane_tracks_norse_on_lif_norse():
    ref = np.loadtxt(MODELS / "lif_norse.csv", delimiter=",")
    m = edgert.compile(MODELS / "lif_norse.nir", mode="fixed")
    v = record(edgert.Session(m), ref[:, :1], ["1"])["1"].reshape(-1)
    print(f"fixed lif_norse membrane deviation from Norse: {np.abs(v - ref[:, 1]).max():.2e}")
    assert np.abs(v - ref[:, 1]).max() < 1e-4
    assert list(np.flatnonzero(run_steps(edgert.Session(m), ref[:, :1]))) == [460, 510, 710, 760]


@pytest.mark.parametrize("conv", [{}, {"reset": "subtract", "reset_timing": "next", "cuba_order": "new"},
                                  {"spike_delay": 1, "batch": 2}])
def test_fixed_recurrent_cuba_backends_identical(conv):
    g = lif_layers([20, 30, 10], seed=4, cuba=True, recurrent=True, r=50.0)
    m = edgert.compile(g, mode="fixed", **conv)
    x = spikes(50, (conv.get("batch", 1), 20), 0.3)
    runs = [run_steps(edgert.Session(m, backend=b), x) for b in ("c", "numba", "numpy")]
    assert runs[0].sum() > 0
    assert all(np.array_equal(r, runs[0]) for r in runs[1:])


def test_fixed_inputs_are_quantized_with_the_documented_scale():
    m = edgert.compile(lif_layers([4, 3]), mode="fixed")
    s = edgert.Session(m)
    d = s.input_details()[0]
    assert d["dtype"] == "int32" and d["scale"] == [2.0 ** -8]
    assert s.quantize(np.array([1.0, 0.5, 0, -1], np.float32)).tolist() == [256, 128, 0, -256]
