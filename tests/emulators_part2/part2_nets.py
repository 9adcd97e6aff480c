"""Models for the part-2 emulator tests: the repo's MLPerf Tiny and NIR files, and a dense
spiking layer built in code whose activity the test controls spike by spike."""
from __future__ import annotations

from pathlib import Path

import numpy as np

import edgert

ROOT = Path(__file__).resolve().parents[2] / "models"
TINY = ROOT / "mlperf_tiny"
NIR = ROOT / "nir"
BACKEND = "numpy"  # every backend gives the same outputs; numpy has every op


def tiny(name: str):
    return edgert.compile(TINY / f"{name}.tflite")


def kws_input() -> np.ndarray:
    return np.load(TINY / "samples" / "kws_sample_input_int8.npy")


def dense_snn(n_in: int, n_out: int, seed: int = 0):
    """Input(n_in) -> Linear -> LIF(n_out) -> Output, compiled (one Session.run = one step)."""
    import nir
    rng = np.random.default_rng(seed)
    nodes = {
        "input": nir.Input(input_type={"input": np.array([n_in])}),
        "fc": nir.Linear(weight=rng.normal(0, 1 / np.sqrt(n_in), (n_out, n_in)).astype(np.float32)),
        "lif": nir.LIF(tau=np.full(n_out, 0.01, np.float32), r=np.ones(n_out, np.float32),
                       v_leak=np.zeros(n_out, np.float32), v_threshold=np.ones(n_out, np.float32),
                       v_reset=np.zeros(n_out, np.float32)),
        "output": nir.Output(output_type={"output": np.array([n_out])}),
    }
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "output")]
    return edgert.compile(nir.NIRGraph(nodes=nodes, edges=edges, type_check=False))


def spike_vector(n: int, count: int, seed: int = 1) -> np.ndarray:
    """Exactly `count` input spikes out of `n` (shape (1, n))."""
    x = np.zeros((1, n), np.float32)
    x[0, np.random.default_rng(seed).choice(n, count, replace=False)] = 1.0
    return x
