"""Power-meter benchmarks: PPK2 decoding speed as a multiple of real time (100 kS/s),
side by side with the IRNAS ppk2-api decoder on the same bytes, the PPK2 driver end to end
on the pty emulator, and SCPI transfer overhead on the simulated VISA backend.

    python bench/meters.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pyvisa

from edgert.devices.meters import ppk2_protocol as p
from edgert.devices.meters.ppk2 import PPK2
from edgert.devices.meters.scpi import open_visa
from edgert.devices.meters.sim.ppk2_emulator import EMULATED_CALIBRATION, PPK2Emulator
from edgert.devices.meters.sim.visa import simulated_visa

VDD = 3300
READ = 4093  # an odd read size, so every read splits a sample word


def workload(t):
    """Inference bursts over an idle floor with noise: crosses three PPK2 ranges."""
    burst = np.where((t % 0.010) < 0.004, 0.045, 0.0004)
    spikes = np.where((t % 0.0017) < 0.00005, 0.2, 0.0)
    return burst + spikes + np.random.default_rng(0).normal(0, 2e-6, t.size)


def stream(seconds):
    t = np.arange(int(seconds * p.SAMPLE_RATE)) / p.SAMPLE_RATE
    return p.encode_samples(workload(t), EMULATED_CALIBRATION, VDD)


def chunks(data):
    return [data[k:k + READ] for k in range(0, len(data), READ)]


def bench_edgert_decoder(data, seconds):
    dec = p.SampleDecoder(EMULATED_CALIBRATION, VDD)
    start = time.perf_counter()
    out = [dec.feed(c)[1] for c in chunks(data)]
    elapsed = time.perf_counter() - start
    return seconds / elapsed, np.concatenate(out)


def bench_irnas_decoder(data, seconds):
    """ppk2-api's per-sample decoder, given the same calibration through its own
    metadata parser (it reads the emulator's GET_META_DATA reply like a real kit's)."""
    try:
        from ppk2_api.ppk2_api import PPK2_API
    except ImportError:
        return None, None
    emu = PPK2Emulator(lambda t: 0 * t, realtime=False)
    try:
        api = PPK2_API(emu.port)
        api.get_modifiers()
        api.current_vdd = VDD
        start = time.perf_counter()
        out = [s for c in chunks(data) for s in api.get_samples(c)[0]]
        elapsed = time.perf_counter() - start
        api.ser.close()
    finally:
        emu.close()
    return seconds / elapsed, np.asarray(out) * 1e-6


def bench_driver_end_to_end(seconds):
    """Emulator streaming as fast as it can through a pty into the driver's thread."""
    n = int(seconds * p.SAMPLE_RATE)
    emu = PPK2Emulator(workload, realtime=False, max_samples=n)
    try:
        with PPK2(emu.port) as meter:
            meter.configure(supply_voltage=VDD / 1000)
            start = time.perf_counter()
            meter.start()
            while len(meter.read()) < n:
                time.sleep(0.01)
            elapsed = time.perf_counter() - start
            trace = meter.stop()
    finally:
        emu.close()
    return seconds / elapsed, trace.meta["lost_samples"]


def agreement(ours, theirs, data):
    """Largest difference away from range switches (ppk2-api smooths 3 samples after each
    switch with its spike filter; edgert integrates the raw samples)."""
    rng = (np.frombuffer(data, "<u4") >> 14) & 7
    switch = np.flatnonzero(np.diff(rng) != 0) + 1
    near = np.zeros(rng.size, bool)
    for k in range(4):
        near[np.minimum(switch + k, rng.size - 1)] = True
    return float(np.max(np.abs(ours[~near] - theirs[~near]) / np.maximum(np.abs(theirs[~near]),
                                                                           1e-9)))


def timed(fn, repeat=20):
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def bench_scpi():
    rows = []
    lib = simulated_visa()
    rm = pyvisa.ResourceManager(lib)
    res = "TCPIP0::192.168.0.5::inst0::INSTR"
    meter = open_visa(res, resource_manager=rm)
    model = lib.model(res)
    rows.append(("*IDN? round trip", timed(lambda: meter.query("*IDN?")), 1))
    model.points, model.acq_trigger = 65536, time.monotonic() - 10
    for fmt in ("REAL", "ASC"):
        meter.write(f"FORM {fmt}")
        if fmt == "REAL":
            fn = lambda: meter.query_block("FETC:ARR:CURR? (@1)", big_endian=True)  # noqa: E731
        else:
            fn = lambda: meter.query_floats("FETC:ARR:CURR? (@1)")  # noqa: E731
        rows.append((f"FETC:ARR:CURR? 65536 points, FORM {fmt}", timed(fn, 5), 65536))
    meter.close()
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="signal length to decode")
    args = ap.parse_args()
    data = stream(args.seconds)
    ours_x, ours = bench_edgert_decoder(data, args.seconds)
    peer_seconds = min(args.seconds, 2.0)
    peer_data = data[:int(peer_seconds * p.SAMPLE_RATE) * 4]
    theirs_x, theirs = bench_irnas_decoder(peer_data, peer_seconds)
    e2e_x, lost = bench_driver_end_to_end(min(args.seconds, 5.0))

    print(f"PPK2 decoding, {args.seconds:g} s of 100 kS/s with range switches, {READ}-byte reads")
    print(f"{'decoder':44s} {'x real time':>12s}")
    print(f"{'edgert SampleDecoder (numpy, vectorised)':44s} {ours_x:12.1f}")
    if theirs_x is None:
        print(f"{'ppk2-api 0.9.2 get_samples (not installed)':44s} {'-':>12s}")
    else:
        print(f"{'ppk2-api 0.9.2 get_samples (per sample)':44s} {theirs_x:12.1f}")
        print(f"  edgert / ppk2-api speed ratio: {ours_x / theirs_x:.0f}x; largest relative "
              f"difference away from range switches: "
              f"{agreement(ours[:theirs.size], theirs, peer_data):.1e}")
    print(f"{'edgert PPK2 driver end to end (pty emulator)':44s} {e2e_x:12.1f}"
          f"   lost samples: {lost}")
    print()
    print("SCPI over the simulated VISA backend (pyvisa + pyvisa-sim + byte-level model)")
    print(f"{'exchange':44s} {'ms':>9s} {'us/value':>9s}")
    for name, seconds, values in bench_scpi():
        print(f"{name:44s} {seconds * 1e3:9.2f} {seconds * 1e6 / values:9.3f}")


if __name__ == "__main__":
    main()
