import numpy as np
import pytest

from edgert.devices.meters.trace import Trace
from edgert.errors import FormatError

FS = 100_000


def sampled(power_fn, seconds, volts=2.0, fs=FS):
    t = np.arange(int(seconds * fs) + 1) / fs
    return Trace(t, volts, power_fn(t) / volts)


def test_ramp_energy_is_exact_on_any_window():
    trace = sampled(lambda t: 0.01 + 0.5 * t, 1.0)
    # integral of 0.01 + 0.5 t from a to b, boundaries between samples
    a, b = 0.1234567, 0.7654321
    exact = 0.01 * (b - a) + 0.25 * (b * b - a * a)
    assert trace.energy(a, b) == pytest.approx(exact, rel=1e-12)


def test_pulse_train_energy_within_half_percent():
    # 7 pulses of 2.5 ms at 80 mW over 3 mW idle, edges between samples
    def power(t):
        phase = (t - 0.0001234) % 0.01
        return np.where((phase >= 0) & (phase < 0.0025), 0.080, 0.003)
    trace = sampled(power, 0.07)
    exact = 0.003 * 0.07 + 7 * 0.0025 * 0.077
    assert trace.energy() == pytest.approx(exact, rel=0.005)


def test_noise_averages_out():
    rng = np.random.default_rng(1)
    trace = sampled(lambda t: 0.05 + rng.normal(0, 0.01, t.size), 1.0)
    assert trace.energy() == pytest.approx(0.05, rel=0.005)


def test_window_energies_and_idle_baseline():
    trace = sampled(lambda t: np.where((t >= 0.2) & (t < 0.4), 0.1, 0.01), 1.0)
    trace.windows = [(0.2, 0.4)]
    (e,) = trace.window_energies()
    assert e == pytest.approx(0.1 * 0.2, rel=0.005)
    assert trace.idle_power() == pytest.approx(0.01, rel=0.005)


def test_window_outside_trace_is_a_clear_error():
    trace = sampled(lambda t: 0 * t + 1, 0.01)
    with pytest.raises(ValueError, match="not inside the trace"):
        trace.energy(0.0, 0.5)


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_save_load_roundtrip(tmp_path, suffix):
    t = np.arange(1000) / FS
    trace = Trace(t, 3.3, np.sin(t * 300) * 1e-3 + 2e-3, (np.arange(1000) % 7).astype(np.uint8),
                  windows=[(0.001, 0.002), (0.003, 0.0041)], edges=[0.00123],
                  meta={"meter": "ppk2", "sample_rate": FS, "lost": np.int64(3)})
    back = Trace.load(trace.save(tmp_path / f"x{suffix}"))
    np.testing.assert_allclose(back.t, trace.t, rtol=0, atol=1e-9)
    np.testing.assert_allclose(back.i, trace.i, rtol=1e-8)
    np.testing.assert_array_equal(back.logic, trace.logic)
    assert back.windows == trace.windows and back.edges == trace.edges
    assert back.meta == trace.meta
    assert back.energy() == pytest.approx(trace.energy(), rel=1e-7)


def test_corrupt_trace_file_is_a_format_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("t,v,i\n1,2,3\n")
    with pytest.raises(FormatError, match="bad.csv"):
        Trace.load(bad)
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(FormatError):
        Trace.load(tmp_path / "bad.npz")


def test_plot_writes_png(tmp_path):
    trace = sampled(lambda t: 0.01 + t, 0.01)
    trace.windows = [(0.002, 0.004)]
    trace.edges = [0.002]
    out = trace.plot(tmp_path / "p.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_non_monotonic_time_rejected():
    with pytest.raises(ValueError, match="increasing"):
        Trace([0, 2, 1], 1.0, [0, 0, 0])
