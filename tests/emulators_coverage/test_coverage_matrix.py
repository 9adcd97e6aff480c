"""Every model family on every device profile: the emulator returns exactly the host Session's
outputs and costs every node with a cost model that knows its op (no generic fallback, no
uncosted activity counter), or refuses with an EdgertError that says why (unsupported op, does
not fit, misses real time). Which devices refuse which families is pinned below, so a model
that silently stops running somewhere fails here too."""
from functools import cache

import numpy as np
import pytest

import edgert
from edgert.devices.profiles import load_all
from edgert.emulators import Emulator
from edgert.errors import EdgertError

from coverage_models import FAMILIES

BACKEND = "numpy"
PROFILES = {p.name: p for p in load_all()}
REASONS = ("unsupported op", "does not fit", "misses real time")
# detail keys of nodes that cost nothing by design: reshapes elided, glue folded into the ring
# buffers of event cores, element-wise ops fused into their producer on GPUs
FREE_BY_DESIGN = ("elided", "folded", "fused")
SPIKING = {f for f in FAMILIES if f.startswith("snn-")}
NON_NEURAL = {f for f in FAMILIES if f.startswith("sklearn-")}
FLOAT = {f for f in FAMILIES if "float" in f} | {"tflite-converters"}  # networks with float layers


def refuses(family: str, profile) -> bool:
    """The device families' documented limits (docs/emulators-part2.md)."""
    if profile.kind == "dpu":  # int8 CNN layers only
        return family in SPIKING | NON_NEURAL | FLOAT
    if profile.name == "spinnaker1":  # spiking layers only
        return family not in SPIKING
    if profile.name == "spinnaker2":  # spiking layers and int8 / float DNN layers, no non-neural kernels
        return family in NON_NEURAL
    return False


@cache
def built(family: str):
    model, x = FAMILIES[family]()
    return model, x, edgert.Session(model, backend=BACKEND).run(x)


def _equal(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return a.dtype == b.dtype and np.array_equal(a, b)


@pytest.mark.parametrize("device", sorted(PROFILES))
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_on_device(family, device):
    model, x, host = built(family)
    profile = PROFILES[device]
    try:
        emulator = Emulator(model, profile, backend=BACKEND)
    except EdgertError as e:
        assert refuses(family, profile), f"{device} refused {family}: {e}"
        assert any(reason in str(e) for reason in REASONS), f"refusal without a reason: {e}"
        return
    assert not refuses(family, profile), f"{device} accepted {family}, which it cannot run"
    out, report = emulator.run(x)
    assert _equal(out, host)
    generic = [n.op for n, w in zip(model.graph.nodes, emulator.device_model.works) if w.kind == "generic"]
    assert not generic, f"ops costed as generic work: {generic}"
    assert not [n for n in report.notes if "no cost entry" in n]
    assert len(report.nodes) == len(model.graph.nodes)
    for node in report.nodes:
        if node.cycles > 0:
            assert node.latency_s > 0, node
        else:
            idle = node.detail.get("input_events") == 0  # an event core's projection that received nothing
            assert node.cycles == 0 and (idle or any(k in node.detail for k in FREE_BY_DESIGN)), node
    assert report.latency_s > 0 and report.cycles > 0
    if report.summary.get("real_time") is False:  # event cores: the report says so
        assert "misses real time" in report.summary["status"]
    assert report.energy_j is None or report.energy_j > 0


@pytest.mark.parametrize("family", ["snn-cnn", "snn-cnn-fixed"])
def test_spinnaker_cost_follows_the_spikes(family):
    """Event cores cost the events: more input spikes, more packets and synaptic events."""
    model, x, _ = built(family)
    costs = []
    for density in (0.05, 0.5):
        spikes = (np.random.default_rng(9).random(x.shape) < density) * x.flat[0]  # x.flat[0]: one spike
        emulator = Emulator(model, "spinnaker2", backend=BACKEND)
        _, report = emulator.run(spikes.astype(x.dtype))
        first = report.nodes[0]
        costs.append((first.detail["input_events"], first.detail["packets_received"], first.cycles))
    (events_lo, packets_lo, cycles_lo), (events_hi, packets_hi, cycles_hi) = costs
    assert events_hi > events_lo and packets_hi > packets_lo and cycles_hi > cycles_lo


@pytest.mark.parametrize("device", sorted(n for n, p in PROFILES.items() if p.kind == "jetson"))
def test_fixed_mode_spiking_layers_have_no_int8_path_on_a_gpu(device):
    """int16 weights into 64-bit sums run as 32-bit integer multiply-adds, not dp4a / tensor cores:
    never faster than the float layer's FP32 FMAs."""
    floating, fixed = (Emulator(built(f)[0], device, backend=BACKEND).run(built(f)[1])[1].nodes[0].detail
                       for f in ("snn-cnn", "snn-cnn-fixed"))
    assert (floating["precision"], fixed["precision"]) == ("fp32", "int32")
    assert fixed["compute_s"] >= floating["compute_s"]
