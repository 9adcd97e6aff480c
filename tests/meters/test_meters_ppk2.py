"""PPK2: wire format, decoder, and the real driver against the pty emulator."""

import time

import numpy as np
import pytest
import serial
from hypothesis import given, settings
from hypothesis import strategies as st

from edgert.devices.meters import open_meter, ppk2_protocol as p
from edgert.devices.meters.ppk2 import PPK2
from edgert.devices.meters.sim.ppk2_emulator import EMULATED_CALIBRATION, PPK2Emulator
from edgert.errors import MeterError

VDD = 3300


def pulses(t):
    """4 ms at 60 mA every 10 ms over 200 uA idle: crosses several PPK2 ranges."""
    return np.where((t % 0.01) < 0.004, 0.060, 0.0002)


def test_regulator_bytes():
    assert p.regulator_command(800) == b"\x0d\x03\x20"
    assert p.regulator_command(3300) == b"\x0d\x0c\xe4"
    assert p.regulator_command(5000) == b"\x0d\x13\x88"
    assert p.regulator_command(9000) == b"\x0d\x13\x88"  # clamped


def test_calibration_text_parsing():
    text = ("Calibrated: 1\nR0: 1010.5\nR1: 0.000\nGS2: -nan\nGI3: 0.98\nO4: 12.5\n"
            "HW: 9173\nIA: 56\nEND\n")
    cal = p.Calibration.parse(text)
    assert cal.calibrated and cal.r[0] == 1010.5 and cal.hw == "9173"
    assert cal.r[1] == 101.65  # R of 0 ignored
    assert cal.gs[2] == 1.0  # -nan keeps the default
    assert cal.gi[3] == 0.98 and cal.o[4] == 12.5
    with pytest.raises(ValueError, match="END"):
        p.Calibration.parse("R0: 1\n")
    assert p.Calibration.parse(EMULATED_CALIBRATION.to_text()) == EMULATED_CALIBRATION


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_calibration_parser_survives_any_text(text):
    cal = p.Calibration.parse(text + "\nR\u00b2: 5\nEND")
    assert len(cal.r) == 5 and all(np.isfinite(cal.r))


def test_sample_word_fields_follow_the_documented_formula():
    cal = EMULATED_CALIBRATION
    adc14, rng, counter, logic = 5000, 2, 17, 0xA5
    word = adc14 | (rng << 14) | (counter << 18) | (logic << 24)
    index, current, bits = p.SampleDecoder(cal, VDD).feed(word.to_bytes(4, "little"))
    a = adc14 * 4
    x = (a - cal.o[2]) * (1.8 / 163840 / cal.r[2])
    expected = cal.ug[2] * (x * (cal.gs[2] * x + cal.gi[2]) + cal.s[2] * 3.3 + cal.i[2])
    assert current[0] == pytest.approx(expected, rel=1e-12)
    assert bits[0] == 0xA5 and index[0] == 0


def test_range_index_is_clamped_to_4():
    cal = EMULATED_CALIBRATION
    word4 = 1000 | (4 << 14)
    word7 = 1000 | (7 << 14) | (1 << 18)
    _, current, _ = p.SampleDecoder(cal, VDD).feed(
        word4.to_bytes(4, "little") + word7.to_bytes(4, "little"))
    assert current[0] == current[1]


def test_encode_decode_roundtrip_switches_ranges():
    t = np.arange(5000) / p.SAMPLE_RATE
    current = pulses(t)
    data = p.encode_samples(current, EMULATED_CALIBRATION, VDD)
    ranges = set((np.frombuffer(data, "<u4") >> 14) & 7)
    assert len(ranges) >= 2
    _, decoded, _ = p.SampleDecoder(EMULATED_CALIBRATION, VDD).feed(data)
    np.testing.assert_allclose(decoded, current, rtol=2e-3)


def test_counter_gaps_advance_time_and_count_losses():
    data = p.encode_samples(np.full(200, 1e-3), EMULATED_CALIBRATION, VDD)
    dropped = data[:40] + data[40 + 4 * 7:]  # 7 samples lost in transit
    dec = p.SampleDecoder(EMULATED_CALIBRATION, VDD)
    index, _, _ = dec.feed(dropped)
    assert dec.lost == 7 and index[-1] == 199 and index[10] == 17


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.lists(st.integers(0, 400), max_size=30))
def test_decoder_never_loses_alignment_on_short_reads(stream, cuts):
    """Any split of the stream into reads (0-byte, 1-byte, odd sizes) decodes exactly as
    the whole stream does, and every complete word becomes one sample."""
    whole = p.SampleDecoder(EMULATED_CALIBRATION, VDD).feed(stream)
    dec = p.SampleDecoder(EMULATED_CALIBRATION, VDD)
    bounds = sorted(set([0, len(stream)] + [c for c in cuts if c <= len(stream)]))
    parts = [dec.feed(stream[a:b]) for a, b in zip(bounds, bounds[1:])]
    joined = [np.concatenate([part[k] for part in parts] or [np.empty(0)]) for k in range(3)]
    assert whole[0].size == len(stream) // 4
    np.testing.assert_array_equal(joined[0], whole[0])
    np.testing.assert_array_equal(joined[1], whole[1])
    np.testing.assert_array_equal(joined[2], whole[2])
    assert np.all(np.diff(whole[0]) >= 1)


@pytest.fixture
def emulator():
    emu = PPK2Emulator(pulses, realtime=False, max_samples=150_000)
    yield emu
    emu.close()


def wait_stream_end(meter, samples, timeout=20):
    deadline = time.monotonic() + timeout
    while len(meter.read()) < samples and time.monotonic() < deadline:
        time.sleep(0.02)


def test_driver_command_sequence_source_mode(emulator):
    with PPK2(emulator.port) as meter:
        meter.configure(supply_voltage=3.3)
        meter.start()
        wait_stream_end(meter, 150_000)
        meter.stop()
    assert emulator.wait_for_commands(8) == [
        b"\x07", b"\x19", b"\x11\x02", b"\x0d\x0c\xe4", b"\x0c\x01", b"\x06", b"\x07", b"\x0c\x00"]
    assert emulator.mode == "source" and emulator.vdd_mv == 3300 and not emulator.dut_on


def test_context_manager_stops_and_powers_down_when_the_body_raises(emulator):
    with pytest.raises(RuntimeError, match="inference crashed"):
        with PPK2(emulator.port) as meter:
            meter.configure(supply_voltage=1.8)
            meter.start()
            raise RuntimeError("inference crashed")
    assert emulator.wait_for_commands(8)[-2:] == [b"\x07", b"\x0c\x00"]
    assert not emulator.dut_on


def test_driver_reads_calibration_and_ampere_mode(emulator):
    meter = open_meter(f"ppk2:{emulator.port}?mode=ampere")
    assert meter.calibration == EMULATED_CALIBRATION
    meter.configure(supply_voltage=1.8)
    meter.close()
    assert emulator.wait_for_commands(6) == [
        b"\x07", b"\x19", b"\x11\x01", b"\x0d\x07\x08", b"\x0c\x01", b"\x0c\x00"]


def test_energy_through_the_wire_with_range_switches(emulator):
    with PPK2(emulator.port) as meter:
        meter.configure(supply_voltage=3.3)
        meter.start()
        wait_stream_end(meter, 150_000)
        trace = meter.stop()
    assert len(trace) == 150_000 and trace.meta["lost_samples"] == 0
    exact = 3.3 * (0.060 * 0.004 + 0.0002 * 0.006) * 150  # 150 periods of 10 ms
    # the trapezoid spans n-1 sample intervals: compare on the sampled support
    assert trace.energy() == pytest.approx(exact, rel=0.005)
    windows = [(k * 0.01 + 0.001, k * 0.01 + 0.003) for k in range(10)]
    np.testing.assert_allclose(trace.window_energies(windows), 3.3 * 0.060 * 0.002, rtol=0.005)


def test_timestamp_pin_edges_within_one_sample():
    starts = np.array([0.01234, 0.05, 0.0876543])

    def pin(t):
        low = np.zeros(t.size, bool)
        for s in starts:
            low |= (t >= s) & (t < s + 20e-6)
        return np.where(low, 0, 0b100).astype(np.uint8)

    emu = PPK2Emulator(pulses, pin, realtime=False, max_samples=10_000)
    try:
        with PPK2(emu.port, timestamp_bit=2) as meter:
            meter.configure(supply_voltage=3.3)
            meter.start()
            wait_stream_end(meter, 10_000)
            trace = meter.stop()
    finally:
        emu.close()
    edges = np.array(trace.edges)
    assert edges.size == 3 and np.all((edges >= starts) & (edges - starts <= 1e-5))


def test_unplug_mid_run_keeps_samples(emulator, tmp_path):
    meter = PPK2(emulator.port)
    meter.partial_dir = tmp_path
    meter.configure(supply_voltage=3.3)
    meter.start()
    wait_stream_end(meter, 20_000)
    meter.mark(0.001, 0.002)
    emulator.unplug()
    with pytest.raises(MeterError, match="serial port closed") as info:
        meter.stop()
    meter.close()
    assert len(info.value.partial) >= 20_000 and info.value.partial.windows == [(0.001, 0.002)]
    saved = list(tmp_path.glob("edgert-partial-ppk2-*.npz"))
    assert len(saved) == 1 and str(saved[0]) in str(info.value)


def test_a_stream_left_running_is_stopped_before_reading_calibration(emulator):
    crashed = serial.serial_for_url(emulator.port)  # a session that started and died
    crashed.write(b"\x06")
    crashed.close()
    time.sleep(0.05)
    meter = PPK2(emulator.port)
    assert meter.calibration == EMULATED_CALIBRATION
    meter.close()


def test_not_a_ppk2_is_a_clear_error(silent_port):
    with pytest.raises(MeterError, match="no calibration metadata"):
        PPK2(silent_port, metadata_timeout=0.3)
