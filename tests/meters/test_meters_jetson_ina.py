"""Jetson INA3221 through a fake sysfs tree, and the INA2xx bridge against its emulator."""

import shutil
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgert.devices.meters import open_meter
from edgert.devices.meters.ina import INABridge
from edgert.devices.meters.ina_protocol import LineDecoder
from edgert.devices.meters.jetson import JetsonMeter
from edgert.devices.meters.sim.ina_bridge import INABridgeEmulator
from edgert.devices.meters.sim.jetson_sysfs import FakeJetsonSysfs
from edgert.errors import MeterError


@pytest.mark.parametrize("module, generation, expected", [
    ("orin-nano", "hwmon", ["VDD_IN"]),
    ("nano", "iio", ["POM_5V_IN"]),
    ("tx2", "iio", ["VDD_IN"]),
    ("agx-orin", "hwmon", ["VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0"]),
    ("agx-xavier", "hwmon", ["GPU", "CPU", "SOC", "CV", "VDDRQ", "SYS5V"]),
])
def test_module_total_rails(tmp_path, module, generation, expected):
    FakeJetsonSysfs(tmp_path, module, generation, hwmon_index=4)
    meter = JetsonMeter(str(tmp_path))
    assert [r.name for r in meter.rails] == expected
    assert "NC" not in meter.available


@pytest.mark.parametrize("generation", ["hwmon", "iio"])
def test_power_readout_both_generations(tmp_path, generation):
    fake = FakeJetsonSysfs(tmp_path, "agx-orin", generation)
    fake.set("VDD_GPU_SOC", 5000, 600)  # 3 W
    fake.set("VDD_CPU_CV", 5000, 200)  # 1 W
    fake.set("VIN_SYS_5V0", 5000, 300)  # 1.5 W
    fake.set("VDDQ_VDD2_1V8AO", 1800, 500)  # inside VIN_SYS_5V0: must not be added
    with open_meter(f"jetson:{tmp_path}/") as meter:
        meter.configure(sample_rate=200)
        meter.start()
        time.sleep(0.2)
        trace = meter.stop()
    assert len(trace) >= 10
    np.testing.assert_allclose(trace.power, 5.5, rtol=1e-9)
    assert trace.meta["rails"] == ["VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0"]


def test_explicit_rails_and_missing_rail(tmp_path):
    FakeJetsonSysfs(tmp_path, "orin-nano")
    assert [r.name for r in JetsonMeter(str(tmp_path), rails=["VDD_SOC"]).rails] == ["VDD_SOC"]
    with pytest.raises(MeterError, match="VDD_GPU"):
        JetsonMeter(str(tmp_path), rails=["VDD_GPU"])
    with pytest.raises(MeterError, match="no INA3221 rails"):
        JetsonMeter(str(tmp_path / "empty"))


def test_sysfs_vanishing_mid_run_keeps_samples(tmp_path):
    FakeJetsonSysfs(tmp_path, "orin-nano").set("VDD_IN", 5000, 1000)
    meter = JetsonMeter(str(tmp_path))
    meter.partial_dir = tmp_path
    meter.configure(sample_rate=100)
    meter.start()
    time.sleep(0.15)
    shutil.rmtree(tmp_path / "sys")
    time.sleep(0.05)
    with pytest.raises(MeterError, match="sysfs read failed") as info:
        meter.stop()
    assert len(info.value.partial) >= 5


def pulses(t):
    return np.where((t % 0.02) < 0.008, 0.150, 0.010)


def record(emu, sample_rate, seconds):
    try:
        with INABridge(emu.port) as meter:
            meter.configure(sample_rate=sample_rate)
            meter.start()
            time.sleep(seconds)
            return meter, meter.stop()
    finally:
        emu.close()


def test_ina_bridge_commands_and_energy():
    # edges fall between the 500 us samples, as they generally do on a real board
    emu = INABridgeEmulator(lambda t: pulses(t - 0.00025), voltage=3.3)
    meter, trace = record(emu, 2000, 0.45)
    assert (meter.chip, meter.shunt_mohm) == ("INA226", 100.0)
    assert emu.commands == ["ID?", "CFG 500 1", "START", "STOP"]
    assert trace.meta["lost_samples"] == 0 and len(trace) > 500
    np.testing.assert_allclose(np.diff(trace.t), 500e-6)
    np.testing.assert_allclose(trace.v, 3.3)  # 1.25 mV LSB: 3300 mV exactly
    n = int((trace.t[-1] - 0.00025) / 0.02)
    exact = 3.3 * n * (0.150 * 0.008 + 0.010 * 0.012)
    assert trace.energy(0.00025, 0.00025 + n * 0.02) == pytest.approx(exact, rel=0.005)


def test_ina_bridge_pin_edges_and_refused_rate():
    starts = [0.05, 0.1234]

    def pin(t):
        low = np.zeros(t.size, bool)
        for s in starts:
            low |= (t >= s) & (t < s + 0.002)
        return np.where(low, 0, 1)

    emu = INABridgeEmulator(pulses, pin_fn=pin, chip="INA219")
    try:
        meter = INABridge(emu.port)
        with pytest.raises(MeterError, match="INA219 bridge samples at most 5000 S/s"):
            meter.configure(sample_rate=10_000)
        with pytest.raises(MeterError, match="refused 'BOGUS': ERR unknown command"):
            meter._command("BOGUS")
        meter.configure(sample_rate=4000)
        meter.start()
        time.sleep(0.25)
        trace = meter.stop()
        meter.close()
    finally:
        emu.close()
    edges = np.array(trace.edges)
    assert edges.size == 2 and np.all((edges >= starts) & (edges - starts <= 250e-6))


def test_ina_clock_wrap_and_lost_lines():
    start = (1 << 32) - 150_000  # the bridge's microsecond clock wraps 150 ms in
    _, trace = record(INABridgeEmulator(pulses, clock_start_us=start, drop_every=50), 1000, 0.4)
    assert np.all(np.diff(trace.t) > 0) and trace.t[-1] > 0.3
    assert trace.meta["lost_samples"] == pytest.approx(len(trace) / 49, abs=2)


def test_not_a_bridge(silent_port):
    with pytest.raises(MeterError, match="did not answer 'ID\\?'"):
        INABridge(silent_port, reply_timeout=0.2)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=20))
def test_line_decoder_garbage_and_splits(stream, cuts):
    good = b"D,1,100,3300,1500,1\nD,2,600,3300,1600,0\n"
    stream = good + stream + b"\n" + good.replace(b"D,1,", b"D,3,").replace(b"D,2,", b"D,4,")
    whole = LineDecoder().feed(stream)
    dec = LineDecoder()
    bounds = sorted({0, len(stream), *[c for c in cuts if c <= len(stream)]})
    parts = np.concatenate([dec.feed(stream[a:b]) for a, b in zip(bounds, bounds[1:])])
    np.testing.assert_array_equal(parts, whole)
    assert len(whole) >= 4 and whole[0, 2] == pytest.approx(1.5e-3)
