"""Encoders and decoders."""
import numpy as np
import pytest

import edgert
from edgert.errors import InputError
from edgert.runtime import encoders
from edgert.runtime.spiking import record, run_steps

from .nets import MODELS


def test_direct_repeats_the_input():
    x = np.array([0.5, -1.0], np.float32)
    assert np.array_equal(encoders.direct(x, 3), np.tile(x, (3, 1)))


def test_bernoulli_rate_and_seed():
    p = np.array([0.0, 0.2, 1.0])
    a = encoders.bernoulli(p, 20000, seed=3)
    assert np.array_equal(a, encoders.bernoulli(p, 20000, seed=3))
    assert not np.array_equal(a, encoders.bernoulli(p, 20000, seed=4))
    assert a[:, 0].sum() == 0 and a[:, 2].sum() == 20000
    assert abs(a[:, 1].mean() - 0.2) < 0.01  # 5 sigma for 20000 draws


def test_poisson_probability_per_step():
    s = encoders.poisson(np.array([100.0]), 20000, dt=1e-3, seed=0)
    assert abs(s.mean() - (1 - np.exp(-0.1))) < 0.01


def test_latency_one_spike_earlier_for_larger_values():
    s = encoders.latency(np.array([1.0, 0.5, 0.0]), 11)
    assert s.sum(axis=0).tolist() == [1, 1, 0]
    assert encoders.first_spike(s).tolist() == [0, 5, 11]


def test_events_round_trip_and_bounds():
    dense = encoders.events_to_dense([(0, 3), (2, 0), (2, 5)], 4, (2, 3))
    assert dense.shape == (4, 2, 3) and dense[0, 1, 0] == 1 and dense[2, 0, 0] == 1 and dense[2, 1, 2] == 1
    assert encoders.dense_to_events(dense).tolist() == [[0, 3], [2, 0], [2, 5]]
    with pytest.raises(InputError, match="out of range"):
        encoders.events_to_dense([(4, 0)], 4, (6,))
    with pytest.raises(InputError, match="integer"):
        encoders.events_to_dense([(0.5, 1.0)], 4, (6,))


def test_bad_rates_are_refused():
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        encoders.bernoulli(np.array([1.5]), 4)
    with pytest.raises(InputError, match="steps"):
        encoders.direct(np.ones(2), 0)


def test_decoders_on_a_run():
    out = np.zeros((5, 2, 3), np.float32)  # (T, batch, classes)
    out[[1, 2, 3], 0, 2] = 1
    out[4, 0, 1] = 1
    out[0, 1, 0] = 1
    assert encoders.spike_counts(out).tolist() == [[0, 1, 3], [1, 0, 0]]
    assert encoders.predict(out, "count").tolist() == [2, 0]
    assert encoders.predict(out, "first").tolist() == [2, 0]
    trace = np.array([[0.1, 0.9], [0.5, 0.2]])
    assert encoders.membrane(trace, "last").tolist() == [0.5, 0.2]
    assert encoders.predict(trace, "membrane").tolist() == 1


def test_membrane_readout_of_the_lif_graph():
    ref = np.loadtxt(MODELS / "lif_norse.csv", delimiter=",")
    s = edgert.Session(edgert.compile(MODELS / "lif_norse.nir"))
    v = record(s, ref[:, :1], ["1"])["1"]
    assert v.shape == (1000, 1, 1)
    assert encoders.membrane(v, "max").item() == pytest.approx(ref[:, 1].max(), abs=1e-6)
    s.reset()
    with pytest.raises(InputError, match="no neuron nodes named"):
        record(s, ref[:, :1], ["0"])
    assert run_steps(s, encoders.events_to_dense([(t, 0) for t in np.flatnonzero(ref[:, 0])], 1000, (1,))).sum() == 4
