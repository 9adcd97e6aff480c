"""NIR graphs built in code for the spiking tests, and the path of the reference graphs."""
from __future__ import annotations

from pathlib import Path

import numpy as np

import nir

MODELS = Path(__file__).resolve().parents[2] / "models" / "nir"
GRAPHS = sorted(MODELS.glob("*.nir"))


def lif_layers(sizes, seed=0, weight_scale=10.0, r=1.0, cuba=False, recurrent=False) -> "nir.NIRGraph":
    """Input -> (Affine -> LIF or CubaLIF [+ recurrent Linear]) * n -> Output."""
    rng = np.random.default_rng(seed)
    nodes = {"input": nir.Input(input_type={"input": np.array([sizes[0]])})}
    edges, prev = [], "input"
    for k, n in enumerate(sizes[1:]):
        w = rng.normal(0, weight_scale / np.sqrt(sizes[k]), (n, sizes[k])).astype(np.float32)
        nodes[f"fc{k}"] = nir.Affine(weight=w, bias=rng.normal(0, 0.1, n).astype(np.float32))
        common = dict(r=np.full(n, r, np.float32), v_leak=np.zeros(n, np.float32),
                      v_threshold=np.ones(n, np.float32), v_reset=np.zeros(n, np.float32))
        if cuba:
            nodes[f"lif{k}"] = nir.CubaLIF(tau_syn=rng.uniform(1e-3, 5e-3, n), tau_mem=rng.uniform(2e-3, 2e-2, n),
                                           w_in=np.ones(n), **common)
        else:
            nodes[f"lif{k}"] = nir.LIF(tau=rng.uniform(2e-3, 2e-2, n).astype(np.float32), **common)
        edges += [(prev, f"fc{k}"), (f"fc{k}", f"lif{k}")]
        if recurrent:
            nodes[f"rec{k}"] = nir.Linear(weight=rng.normal(0, 2.0 / np.sqrt(n), (n, n)).astype(np.float32))
            edges += [(f"lif{k}", f"rec{k}"), (f"rec{k}", f"lif{k}")]
        prev = f"lif{k}"
    nodes["output"] = nir.Output(output_type={"output": np.array([sizes[-1]])})
    edges.append((prev, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def spikes(steps, shape, rate=0.2, seed=1) -> np.ndarray:
    return (np.random.default_rng(seed).random((steps, *shape)) < rate).astype(np.float32)


def options_for(path: Path) -> dict:
    """Sinabs' IF neurons integrate one unit of input per step: dt = 1 makes the CNN spike."""
    return {"dt": 1.0} if path.name.startswith("cnn") else {}
