"""Spiking benchmark: a 700-256-256-20 LIF network (the shape of the Spiking Heidelberg Digits
task) at input activity 1%, 5%, 20%: per-step latency at batch 1 and throughput at batch 64.

edgert event-driven and dense synapses (C and Numba kernels) side by side with snnTorch,
Norse (when importable) and a plain numpy implementation, all single-threaded, in one process.

    .venv/bin/python bench/spiking.py [--quick]

Prints µs per step (batch 1), sample-steps per second (batch 64), the ratio to snnTorch, and
how each cost grows with activity: the time above the idle (no input spike) time, relative
to that at 1% (proportional cost gives 5 and 20). Times are the best of
`--repeats` interleaved rounds after a warm-up; spike agreement with edgert's C event path is shown too.
"""
from __future__ import annotations

import argparse
import os
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # every implementation single-threaded, as edgert's kernels are

import numpy as np  # noqa: E402  (after the thread settings)

import edgert  # noqa: E402
from edgert.runtime.spiking import activity, run_steps  # noqa: E402

SIZES = (700, 256, 256, 20)
ACTIVITY = (0.01, 0.05, 0.2)
IDLE = 0.0  # no input spikes: the cost that does not depend on activity
DT, TAU, THRESHOLD = 1e-4, 1e-2, 1.0


def network(seed: int = 0) -> dict:
    """Weights and LIF parameters shared by every implementation (r = tau/dt: snnTorch's map)."""
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:]):
        layers.append((rng.normal(0, 4.0 / np.sqrt(n_in), (n_out, n_in)).astype(np.float32),
                       rng.normal(0, 0.05, n_out).astype(np.float32)))
    return {"layers": layers, "beta": np.float32(1 - DT / TAU)}


def to_nir(net, r: float = TAU / DT):
    """The network as NIR. Norse's importer ignores r, so its copy has r = 1 and the weights
    multiplied by r instead (the same dynamics)."""
    import nir
    nodes, edges, prev = {"input": nir.Input(input_type={"input": np.array([SIZES[0]])})}, [], "input"
    gain = np.float32(TAU / DT / r)
    for k, (w, b) in enumerate(net["layers"]):
        n = len(b)
        nodes[f"fc{k}"] = nir.Affine(weight=w * gain, bias=b * gain)
        nodes[f"lif{k}"] = nir.LIF(tau=np.full(n, TAU), r=np.full(n, r), v_leak=np.zeros(n),
                                   v_threshold=np.full(n, THRESHOLD), v_reset=np.zeros(n))
        edges += [(prev, f"fc{k}"), (f"fc{k}", f"lif{k}")]
        prev = f"lif{k}"
    nodes["output"] = nir.Output(output_type={"output": np.array([SIZES[-1]])})
    return nir.NIRGraph(nodes=nodes, edges=edges + [(prev, "output")], type_check=False)


# ---- implementations: name -> make(net, batch) -> run(x[T, B, 700]) -> spikes[T, B, 20] ----

def edgert_impl(synapses: str, backend: str):
    def make(net, batch):
        session = edgert.Session(edgert.compile(to_nir(net), batch=batch, synapses=synapses), backend=backend)

        def run(x):
            session.reset()
            return run_steps(session, x)
        return run
    return make


def numpy_impl(net, batch):
    """Plain numpy, Norse's convention: v <- beta*v + (1-beta)*r*(W x + b); spike; reset to 0."""
    layers, beta = net["layers"], net["beta"]
    gain = np.float32(DT / TAU * TAU / DT)

    def run(x):
        vs = [np.zeros((batch, len(b)), np.float32) for _, b in layers]
        out = np.empty((len(x), batch, SIZES[-1]), np.float32)
        for t in range(len(x)):
            s = x[t]
            for (w, b), v in zip(layers, vs):
                v *= beta
                v += gain * (s @ w.T + b)
                z = v > THRESHOLD
                v[z] = 0.0
                s = z.astype(np.float32)
            out[t] = s
        return out
    return run


def snntorch_impl(net, batch):
    import snntorch as snn
    import torch
    from snntorch.utils import reset
    torch.set_num_threads(1)
    mods = []
    for k, (w, b) in enumerate(net["layers"]):
        lin = torch.nn.Linear(w.shape[1], w.shape[0])
        lin.weight.data, lin.bias.data = torch.from_numpy(w), torch.from_numpy(b)
        mods += [lin, snn.Leaky(beta=float(net["beta"]), threshold=THRESHOLD, reset_mechanism="zero",
                                reset_delay=False, init_hidden=True, output=k == len(net["layers"]) - 1)]
    model = torch.nn.Sequential(*mods)

    def run(x):
        reset(model)
        xt = torch.from_numpy(x)
        with torch.no_grad():
            return np.stack([model(xt[t])[0].numpy() for t in range(len(x))])
    return run


def norse_impl(net, batch):
    import norse.torch as norse
    import torch
    torch.set_num_threads(1)
    module = norse.from_nir(to_nir(net, r=1.0), dt=DT)

    def run(x):
        state, outs, xt = None, [], torch.from_numpy(x)
        with torch.no_grad():
            for t in range(len(x)):
                y, state = module(xt[t], state)
                outs.append(y.numpy())
        return np.stack(outs)
    return run


IMPLS = {
    "edgert event c": edgert_impl("event", "c"),
    "edgert event numba": edgert_impl("event", "numba"),
    "edgert dense c": edgert_impl("dense", "c"),
    "edgert dense numba": edgert_impl("dense", "numba"),
    "numpy": numpy_impl,
    "snntorch": snntorch_impl,
    "norse": norse_impl,
}


def synaptic_events(net, x) -> float:
    """Synaptic events per sample and step (all layers), counted by edgert's activity counters."""
    session = edgert.Session(edgert.compile(to_nir(net), batch=x.shape[1]))
    totals = activity(session, x)
    return sum(c.get("synaptic_events", 0) for c in totals.values()) / (x.shape[0] * x.shape[1])


def best_times(impls: dict, x, repeats: int) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Best time per implementation over `repeats` rounds; each round runs every implementation
    once, so a load change on the machine affects them all alike (fairer ratios)."""
    outs = {name: run(x[: min(5, len(x))]) for name, run in impls.items()}  # warm-up (JIT, caches)
    best = {name: float("inf") for name in impls}
    for _ in range(repeats):
        for name, run in impls.items():
            t0 = time.perf_counter()
            outs[name] = run(x)
            best[name] = min(best[name], time.perf_counter() - t0)
    return best, outs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few steps (smoke test)")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    net = network()
    rng = np.random.default_rng(1)
    for batch, steps in ((1, 20 if args.quick else 200), (64, 5 if args.quick else 30)):
        impls = {}
        for name, make in IMPLS.items():
            try:
                impls[name] = make(net, batch)
            except ImportError as e:
                print(f"  ({name}: not installed, skipped: {e.name})")
        times: dict[str, dict[float, float]] = {n: {} for n in impls}
        agree: dict[str, dict[float, float]] = {n: {} for n in impls}
        events: dict[float, float] = {}
        for rate in (IDLE, *ACTIVITY):
            x = (rng.random((steps, batch, SIZES[0])) < rate).astype(np.float32)
            events[rate] = synaptic_events(net, x)
            best, outs = best_times(impls, x, args.repeats)
            ref = next(iter(outs.values()))
            for name in impls:
                times[name][rate] = best[name] / steps
                agree[name][rate] = float(np.mean(np.asarray(outs[name]).reshape(ref.shape) == ref))
        _report(batch, times, agree, events)


def _report(batch: int, times, agree, events) -> None:
    unit = "us/step" if batch == 1 else "sample-steps/s"
    value = (lambda t: f"{t * 1e6:.1f}") if batch == 1 else (lambda t: f"{batch / t:,.0f}")
    torch_t = times.get("snntorch")
    print(f"\nbatch {batch}: {unit} at input activity 0 (idle), {', '.join(f'{r:.0%}' for r in ACTIVITY)}")
    print("  x snnTorch = snnTorch time / this time; growth = (time - idle) / (time at 1% - idle) at 5% and 20% "
          "(proportional: 5, 20); agree = share of spikes equal to edgert event c")
    cols = ["implementation", "idle", *(f"{r:.0%}" for r in ACTIVITY), *(f"x snnTorch {r:.0%}" for r in ACTIVITY),
            "growth 5%", "growth 20%", "agree"]
    rows = []
    for name, per in times.items():
        above = {r: per[r] - per[IDLE] for r in ACTIVITY}
        growth = [above[r] / above[ACTIVITY[0]] if above[ACTIVITY[0]] > 0 else float("nan") for r in ACTIVITY[1:]]
        rows.append([name, value(per[IDLE]), *(value(per[r]) for r in ACTIVITY),
                     *(f"{torch_t[r] / per[r]:.1f}" if torch_t else "-" for r in ACTIVITY),
                     *(f"{g:.1f}" for g in growth), f"{min(agree[name].values()):.3f}"])
    widths = [max(len(str(c)), *(len(r[k]) for r in rows)) for k, c in enumerate(cols)]
    print("  ".join(c.rjust(w) for c, w in zip(cols, widths)))
    for r in rows:
        print("  ".join(v.rjust(w) for v, w in zip(r, widths)))
    print("  synaptic events per sample-step: " + ", ".join(f"{r:.0%}: {events[r]:,.0f}" for r in ACTIVITY)
          + " (idle: {:,.0f})".format(events[IDLE]))
    for name in (n for n in times if n.startswith("edgert event")):
        per = times[name]
        ns = [(per[r] - per[IDLE]) / batch / (events[r] - events[IDLE]) * 1e9 for r in ACTIVITY]
        print(f"  {name}: ns per synaptic event above idle: " + ", ".join(f"{r:.0%}: {v:.2f}" for r, v in zip(ACTIVITY, ns))
              + " (roughly constant = cost proportional to events)")


if __name__ == "__main__":
    main()
