"""SCPI drivers against the simulated instruments (pyvisa-sim YAML + byte-level models)."""

import time

import numpy as np
import pytest
import pyvisa

from edgert.devices.meters import open_meter
from edgert.devices.meters.dmm import TruevoltDMM, parse_definite_block
from edgert.devices.meters.keithley import Keithley2280S, Keithley2450
from edgert.devices.meters.keysight import N6705
from edgert.devices.meters.rohde import HMC8015, NGM200
from edgert.devices.meters.scpi import driver_for, open_visa
from edgert.devices.meters.sim.visa import simulated_visa
from edgert.errors import MeterError

N6705_RES = "TCPIP0::192.168.0.5::inst0::INSTR"
K2450_RES = "USB0::0x05E6::0x2450::04123456::INSTR"
K2280_RES = "USB0::0x05E6::0x2280::4100001::INSTR"
NGM_RES = "TCPIP0::192.168.0.7::inst0::INSTR"
HMC_RES = "TCPIP0::192.168.0.8::inst0::INSTR"
DMM_RES = "USB0::0x2A8D::0x0101::MY57700001::INSTR"


@pytest.fixture
def lib():
    return simulated_visa()


def run(lib, resource, seconds=0.4, current_fn=None, configure=None, **options):
    """Open, configure, acquire ``seconds``, stop, close; return (meter, trace, commands)."""
    rm = pyvisa.ResourceManager(lib)
    meter = open_visa(resource, resource_manager=rm, **options)
    if current_fn is not None:
        lib.model(resource).current_fn = current_fn
    with meter:
        meter.configure(**(configure or {"supply_voltage": 3.3}))
        meter.start()
        time.sleep(seconds)
        trace = meter.stop()
    return meter, trace, lib.commands(resource)


def split(commands, first_poll, polls):
    """(before the first poll, the polls, after the polls) -- poll counts depend on timing."""
    i = commands.index(first_poll)
    j = i
    while j < len(commands) and commands[j] in polls:
        j += 1
    return commands[:i], commands[i:j], commands[j:]


def ripple(t):
    """12 mA with a 4 mA, 50 ms ripple: smooth enough for 50 S/s instruments."""
    return 0.012 + 0.004 * np.sin(2 * np.pi * t / 0.05)


def ripple_energy(a, b, volts=3.3):
    w = 2 * np.pi / 0.05
    return volts * (0.012 * (b - a) - 0.004 / w * (np.cos(w * b) - np.cos(w * a)))


@pytest.mark.parametrize("resource, cls", [
    (N6705_RES, N6705), (K2450_RES, Keithley2450), (K2280_RES, Keithley2280S),
    (NGM_RES, NGM200), (HMC_RES, HMC8015), (DMM_RES, TruevoltDMM)])
def test_idn_selects_the_driver(lib, resource, cls):
    meter = open_visa(resource, resource_manager=pyvisa.ResourceManager(lib))
    assert type(meter) is cls
    meter.close()


def test_unknown_instrument_and_bad_idn():
    with pytest.raises(MeterError, match="no edgert driver for the instrument ACME WIDGET9"):
        driver_for("ACME,WIDGET9,1,1.0")
    with pytest.raises(MeterError, match="not 'maker,model"):
        driver_for("garbage")


def test_open_meter_spec_with_sim_backend():
    meter = open_meter(f"visa:{K2450_RES}@sim")
    assert isinstance(meter, Keithley2450) and "2450" in meter.idn
    meter.close()


def test_open_meter_spec_with_a_plain_pyvisa_sim_yaml():
    from importlib import resources
    yaml = resources.files("edgert.devices.meters.sim").joinpath("instruments.yaml")
    meter = open_meter(f"visa:{N6705_RES}@{yaml}@sim")
    assert isinstance(meter, N6705) and meter.idn.startswith("Keysight Technologies,N6705C")
    meter.close()


def test_n6705_elog_sequence_and_binary_records(lib):
    meter, trace, cmds = run(lib, N6705_RES, current_fn=ripple,
                             configure={"supply_voltage": 3.3, "sample_rate": 2000})
    before, polls, after = split(cmds, "FETC:ELOG? 4096,(@1)", {"FETC:ELOG? 4096,(@1)"})
    assert before == [
        "*IDN?", "*CLS", "FORM REAL", "FORM:BORD NORM", "VOLT 3.3,(@1)",
        "SENS:ELOG:FUNC:CURR ON,(@1)", "SENS:ELOG:FUNC:VOLT ON,(@1)",
        "SENS:ELOG:FUNC:CURR:MINM OFF,(@1)", "SENS:ELOG:FUNC:VOLT:MINM OFF,(@1)",
        "SENS:ELOG:CURR:DC:RANG:AUTO ON,(@1)", "SENS:ELOG:PER 0.0005,(@1)",
        "TRIG:ELOG:SOUR BUS,(@1)", "SYST:ERR?", "OUTP ON,(@1)", "SYST:ERR?",
        "INIT:ELOG (@1)", "TRIG:ELOG (@1)"]
    assert after == ["ABOR:ELOG (@1)", "OUTP OFF,(@1)", "SYST:ERR?"]
    sent = np.concatenate(lib.model(N6705_RES).elog_records)  # float32 (I, V) as sent
    np.testing.assert_array_equal(trace.i, sent[:, 0])
    np.testing.assert_array_equal(trace.v, sent[:, 1])
    assert len(trace) > 100 and np.allclose(np.diff(trace.t), 0.0005)
    a, b = 0.0125, trace.t[-1]
    assert trace.energy(a, b) == pytest.approx(ripple_energy(a, b), rel=0.005)


def test_n6705_digitizer_sequence_and_arrays(lib):
    meter, trace, cmds = run(lib, N6705_RES, seconds=0.3, current_fn=ripple, mode="digitizer",
                             duration_s=0.2, configure={"supply_voltage": 1.8,
                                                        "sample_rate": 20_000,
                                                        "current_range": 0.1})
    assert cmds[:cmds.index("FETC:ARR:CURR? (@1)") + 2] == [
        "*IDN?", "*CLS", "FORM REAL", "FORM:BORD NORM", "VOLT 1.8,(@1)",
        "SENS:FUNC:CURR ON,(@1)", "SENS:FUNC:VOLT ON,(@1)", "SENS:CURR:RANG 0.1,(@1)",
        "SENS:SWE:TINT 5.12e-05,(@1)", "SENS:SWE:POIN 3907,(@1)", "TRIG:ACQ:SOUR BUS,(@1)",
        "SYST:ERR?", "OUTP ON,(@1)", "SYST:ERR?", "INIT:ACQ (@1)", "TRIG:ACQ (@1)",
        "FETC:ARR:CURR? (@1)", "FETC:ARR:VOLT? (@1)"]
    assert cmds[-2:] == ["OUTP OFF,(@1)", "SYST:ERR?"]
    assert len(trace) == 3907 and trace.t[1] == pytest.approx(5.12e-5)
    np.testing.assert_array_equal(trace.i, ripple(trace.t).astype(np.float32))
    assert np.all(trace.v == np.float32(3.3))  # the model's load voltage
    assert trace.energy() == pytest.approx(ripple_energy(0, trace.t[-1]), rel=0.005)


def test_n6705_elog_fifo_overflow_is_reported_with_the_records_kept(lib, tmp_path):
    model = lib.model(N6705_RES)
    model.FIFO_RECORDS = 20  # 10 ms at 0.5 ms per record: a poll gap overflows it
    meter = open_visa(N6705_RES, resource_manager=pyvisa.ResourceManager(lib))
    meter.partial_dir = tmp_path
    meter.poll_interval = 0.05
    meter.configure(supply_voltage=3.3, sample_rate=2000)
    meter.start()
    time.sleep(1.3)
    with pytest.raises(MeterError, match=r'-350,"Queue overflow"') as info:
        meter.stop()
    meter.close()
    assert len(info.value.partial) > 20


def test_refused_configuration_is_reported(lib):
    meter = open_visa(N6705_RES, resource_manager=pyvisa.ResourceManager(lib))
    with pytest.raises(MeterError, match=r"refused commands during configuration: -113"):
        meter.configure(supply_voltage=9.0)  # beyond the SMU's 6 V: the YAML setter refuses
    meter.close()


def test_keithley2450_sequence_and_ascii_buffer(lib):
    meter, trace, cmds = run(lib, K2450_RES, current_fn=ripple,
                             configure={"supply_voltage": 3.3, "sample_rate": 50})
    act = ':TRAC:ACT? "defbuffer1"'
    before, polls, after = split(cmds, act, None or {act} | {c for c in cmds if "DATA?" in c})
    assert before == [
        "*IDN?", "*CLS", "*RST", ":SOUR:FUNC VOLT", ":SOUR:VOLT 3.3", ":SOUR:VOLT:ILIM 0.5",
        ':SENS:FUNC "CURR"', ":SENS:CURR:RANG:AUTO ON", ":SENS:CURR:NPLC 1",
        ':TRAC:POIN 100000,"defbuffer1"', ':TRIG:LOAD "SimpleLoop",100000,0,"defbuffer1"',
        "SYST:ERR?", ":OUTP ON", ":INIT"]
    assert after[0] == ":ABOR" and after[-1] == ":OUTP OFF"
    # buffer indices asked for are contiguous from 1: nothing skipped, nothing twice
    asked = [c.split()[1].split(",")[:2] for c in cmds if c.startswith(":TRAC:DATA?")]
    flat = [int(x) for pair in asked for x in pair]
    assert flat[0] == 1 and all(b + 1 == c for b, c in zip(flat[1::2], flat[2::2]))
    assert len(trace) == flat[-1]
    np.testing.assert_allclose(trace.t, np.arange(len(trace)) * 0.02)
    np.testing.assert_allclose(trace.i, ripple(trace.t), rtol=1e-8)


def test_keithley2280s_slices_of_100(lib):
    model = lib.model(K2280_RES)
    model.LINE_HZ = 5000.0  # 1 NPLC = 0.2 ms: enough readings for several slices
    meter, trace, cmds = run(lib, K2280_RES, seconds=0.15, current_fn=ripple,
                             configure={"supply_voltage": 5.0})
    assert cmds[:12] == [
        "*IDN?", "*CLS", "*RST", ':SENS:FUNC "CONC"', ":SENS:CONC:NPLC 1", ":TRAC:CLE",
        ":TRAC:POIN 2500", ":VOLT 5", ":CURR 0.5", "SYST:ERR?", ":OUTP:STAT ON",
        ":INIT:CONT ON"]
    sel = [c for c in cmds if c.startswith(":TRAC:DATA:SEL?")]
    spans = [tuple(int(x) for x in c.split()[1].split(",")[:2]) for c in sel]
    assert all(b - a < 100 for a, b in spans) and spans[0][0] == 0
    assert all(a2 == b1 + 1 for (_, b1), (a2, _) in zip(spans, spans[1:]))
    assert len(trace) == spans[-1][1] + 1 > 300
    np.testing.assert_allclose(trace.i, ripple(trace.t), rtol=1e-8)
    stop = cmds.index(":INIT:CONT OFF")
    assert set(cmds[12:stop]) <= {":TRAC:POIN:ACT?", *sel} and cmds[-1] == ":OUTP:STAT OFF"


def test_keithley2280s_full_buffer_keeps_readings(lib, tmp_path):
    lib.model(K2280_RES).LINE_HZ = 50_000.0  # fills 2500 readings in 50 ms
    meter = open_visa(K2280_RES, resource_manager=pyvisa.ResourceManager(lib))
    meter.partial_dir = tmp_path
    meter.configure(supply_voltage=3.3)
    meter.start()
    time.sleep(0.3)
    with pytest.raises(MeterError, match="buffer full") as info:
        meter.stop()
    meter.close()
    assert len(info.value.partial) == 2500


def test_ngm_fastlog_little_endian_blocks(lib):
    meter, trace, cmds = run(lib, NGM_RES, current_fn=ripple,
                             configure={"supply_voltage": 3.3, "sample_rate": 10_000})
    assert cmds[:11] == [
        "*IDN?", "*CLS", "INST OUT1", "VOLT 3.3", "CURR 0.5", "FLOG:TARG SCPI",
        "FLOG:SRAT S010K", "STAT:OPER:INST:ISUM1:ENAB 4096", "SYST:ERR?", "OUTP 1",
        "FLOG:STAT 1"]
    assert cmds[-2:] == ["FLOG:STAT 0", "OUTP 0"]
    assert set(cmds[11:-2]) == {"STAT:OPER:INST:ISUM1:EVEN?", "FLOG:DATA?"}
    np.testing.assert_array_equal(trace.i, ripple(trace.t).astype(np.float32))
    assert np.all(trace.v == np.float32(3.3))
    assert trace.energy() == pytest.approx(ripple_energy(0, trace.t[-1]), rel=0.005)


def test_hmc8015_ascii_function_list(lib):
    meter, trace, cmds = run(lib, HMC_RES, seconds=0.5,
                             current_fn=lambda t: np.full(np.shape(t), 0.25))
    assert cmds[:9] == [
        "*IDN?", "SYST:REM", "*CLS", "*RST", "CHAN1:MEAS:FUNC URMS,IRMS,P", "CHAN1:ACQ:MODE AUTO",
        "CHAN1:ACQ:VOLT:RANG:AUTO ON", "CHAN1:ACQ:CURR:RANG:AUTO ON", "SYST:ERR?"]
    assert set(cmds[9:-1]) == {"CHAN1:MEAS:DATA?"} and cmds[-1] == "SYST:LOC"
    assert len(trace) >= 3 and trace.mean_power() == pytest.approx(3.3 * 0.25, rel=1e-6)


def test_dmm_timed_sampling_blocks(lib):
    meter, trace, cmds = run(lib, DMM_RES, current_fn=ripple,
                             configure={"supply_voltage": 3.3, "current_range": 0.1,
                                        "sample_rate": 2000})
    assert cmds[:12] == [
        "*IDN?", "*CLS", "*RST", "CONF:CURR:DC 0.1", "CURR:DC:NPLC 0.02",
        "CURR:DC:ZERO:AUTO OFF", "TRIG:SOUR IMM", "SAMP:SOUR TIM", "SAMP:TIM 0.0005",
        "SAMP:COUN 1000000", "SYST:ERR?", "INIT"]
    assert cmds[-2:] == ["ABOR", "R?"] and set(cmds[12:-2]) == {"R?"}
    np.testing.assert_allclose(trace.i, ripple(trace.t), rtol=1e-8)
    assert trace.energy() == pytest.approx(ripple_energy(0, trace.t[-1]), rel=0.005)


def test_definite_block_parser():
    assert parse_definite_block(b"#15hello\n") == b"hello"
    with pytest.raises(MeterError, match="definite-length"):
        parse_definite_block(b"1.0,2.0\n")
    with pytest.raises(MeterError, match="announced 9 bytes"):
        parse_definite_block(b"#19short")


def test_visa_timeout_mid_run_keeps_samples(lib, tmp_path):
    meter = open_visa(NGM_RES, resource_manager=pyvisa.ResourceManager(lib), timeout_ms=300)
    meter.partial_dir = tmp_path
    meter.configure(supply_voltage=3.3)
    meter.start()
    time.sleep(0.2)
    meter.mark(0.01, 0.02)
    lib.model(NGM_RES).unplug()
    time.sleep(0.5)
    with pytest.raises(MeterError, match="VI_ERROR_TMO") as info:
        meter.stop()
    meter.close()
    partial = info.value.partial
    assert len(partial) > 500 and partial.windows == [(0.01, 0.02)]
    assert list(tmp_path.glob("edgert-partial-ngm200-*.npz"))
