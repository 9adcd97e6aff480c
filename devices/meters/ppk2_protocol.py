"""Nordic Power Profiler Kit II wire format: command bytes, calibration text, sample words.

Facts from IRNAS/ppk2-api-python (src/ppk2_api/ppk2_api.py) cross-checked with
NordicSemiconductor/pc-nrfconnect-ppk (src/device/serialDevice.ts); see docs/meters.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SAMPLE_RATE = 100_000  # fixed in firmware (adcSamplingTimeUs = 10)
ADC_MULT = 1.8 / 163840
N_RANGES = 5
VDD_MIN_MV, VDD_MAX_MV = 800, 5000

# opcodes
AVERAGE_START = 0x06
AVERAGE_STOP = 0x07
DEVICE_RUNNING_SET = 0x0C
REGULATOR_SET = 0x0D
SET_POWER_MODE = 0x11
GET_META_DATA = 0x19
RESET = 0x20
SET_USER_GAINS = 0x25
POWER_MODE_AMPERE, POWER_MODE_SOURCE = 1, 2
#: argument bytes following each opcode we send or emulate
ARG_LENGTHS = {AVERAGE_START: 0, AVERAGE_STOP: 0, DEVICE_RUNNING_SET: 1, REGULATOR_SET: 2,
               SET_POWER_MODE: 1, GET_META_DATA: 0, RESET: 0, SET_USER_GAINS: 5,
               0x15: 0, 0x16: 0}


def regulator_command(mv: int) -> bytes:
    """``0D hi lo``: VDD in mV, big-endian, clamped to 800..5000 mV."""
    mv = int(min(max(round(mv), VDD_MIN_MV), VDD_MAX_MV))
    return bytes([REGULATOR_SET, mv >> 8, mv & 0xFF])


@dataclass
class Calibration:
    """Per-range modifiers read with GET_META_DATA. Defaults are the firmware's fallbacks."""

    r: list[float] = field(default_factory=lambda: [1031.64, 101.65, 10.15, 0.94, 0.043])
    gs: list[float] = field(default_factory=lambda: [1.0] * N_RANGES)
    gi: list[float] = field(default_factory=lambda: [1.0] * N_RANGES)
    o: list[float] = field(default_factory=lambda: [0.0] * N_RANGES)
    s: list[float] = field(default_factory=lambda: [0.0] * N_RANGES)
    i: list[float] = field(default_factory=lambda: [0.0] * N_RANGES)
    ug: list[float] = field(default_factory=lambda: [1.0] * N_RANGES)
    calibrated: bool = False
    hw: str | None = None
    ia: str | None = None

    _KEYS = ("r", "gs", "gi", "o", "s", "i", "ug")

    @classmethod
    def parse(cls, text: str) -> Calibration:
        """Parse ``Key: value`` lines up to ``END``. Missing or unparseable values (``-nan``)
        keep the default; an R of 0 is ignored (seen on mis-calibrated units, IRNAS)."""
        cal = cls()
        if "END" not in text:
            raise ValueError("PPK2 metadata is incomplete: no END line")
        for line in text.split("END")[0].splitlines():
            key, sep, value = line.partition(":")
            if not sep:
                continue
            key, value = key.strip(), value.strip()
            if key == "Calibrated":
                cal.calibrated = value not in ("0", "")
            elif key in ("HW", "IA"):
                setattr(cal, key.lower(), value)
            elif key[-1:] in ("0", "1", "2", "3", "4") and key[:-1].lower() in cls._KEYS:
                try:
                    number = float(value)
                except ValueError:
                    continue
                name = key[:-1].lower()
                if np.isfinite(number) and not (name == "r" and number == 0):
                    getattr(cal, name)[int(key[-1])] = number
        return cal

    def to_text(self) -> str:
        lines = [f"Calibrated: {int(self.calibrated)}"]
        for key in self._KEYS:
            lines += [f"{key.upper()}{r}: {v:.9g}" for r, v in enumerate(getattr(self, key))]
        lines += [f"HW: {self.hw or 0}", f"IA: {self.ia or 0}", "END", ""]
        return "\n".join(lines)

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(getattr(self, k), dtype=np.float64) for k in self._KEYS}

    def current(self, adc: np.ndarray, rng: np.ndarray, vdd_mv: float) -> np.ndarray:
        """Amperes from raw ADC values (already x4) in the given ranges."""
        c = self.arrays()
        x = (adc - c["o"][rng]) * (ADC_MULT / c["r"][rng])
        return c["ug"][rng] * (x * (c["gs"][rng] * x + c["gi"][rng])
                               + (c["s"][rng] * (vdd_mv / 1000.0) + c["i"][rng]))


class SampleDecoder:
    """Turns the PPK2 byte stream into samples, vectorised, whatever the read sizes.

    Each sample is a little-endian uint32: ADC (bits 0-13, x4), range (14-16, clamped to
    4), rolling counter (18-23), logic inputs D0..D7 (24-31). A 0-3 byte remainder carries
    over between reads so alignment is never lost. The counter gives every sample its
    index: a gap means lost samples and advances time by the number lost.
    """

    def __init__(self, calibration: Calibration, vdd_mv: float):
        self.calibration = calibration
        self.vdd_mv = vdd_mv
        self._rest = b""
        self._last_counter: int | None = None
        self.next_index = 0  # sample index (time = index / SAMPLE_RATE) of the next sample
        self.lost = 0

    def feed(self, data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Decode what arrived; return (sample index, current A, logic byte) arrays."""
        buf = self._rest + bytes(data)
        n = len(buf) // 4
        self._rest = buf[4 * n:]
        words = np.frombuffer(buf, dtype="<u4", count=n)
        adc = (words & 0x3FFF).astype(np.float64) * 4
        rng = np.minimum((words >> 14) & 0x7, N_RANGES - 1).astype(np.intp)
        counter = ((words >> 18) & 0x3F).astype(np.int64)
        logic = (words >> 24).astype(np.uint8)
        current = self.calibration.current(adc, rng, self.vdd_mv)
        index = self._indices(counter)
        return index, current, logic

    def _indices(self, counter: np.ndarray) -> np.ndarray:
        if counter.size == 0:
            return np.empty(0, dtype=np.int64)
        prev = np.empty_like(counter)
        prev[1:] = counter[:-1]
        prev[0] = counter[0] - 1 if self._last_counter is None else self._last_counter
        step = ((counter - prev - 1) & 0x3F) + 1  # 1 = consecutive, k = k - 1 samples lost
        index = self.next_index - 1 + np.cumsum(step)
        self.lost += int(step.sum() - step.size)
        self._last_counter = int(counter[-1])
        self.next_index = int(index[-1]) + 1
        return index


def encode_samples(current: np.ndarray, calibration: Calibration, vdd_mv: float,
                   first_counter: int = 0, logic: np.ndarray | None = None,
                   headroom: float = 0.9) -> bytes:
    """The inverse of :class:`SampleDecoder`, for emulators and tests: each current is put
    in the most sensitive range whose ADC still has ``headroom`` left (so a waveform with
    steps switches ranges as the real auto-ranging front end does)."""
    current = np.asarray(current, dtype=np.float64)
    c = calibration.arrays()
    adc = np.full(current.shape, np.nan)
    rng = np.zeros(current.shape, dtype=np.uint32)
    for r in range(N_RANGES - 1, -1, -1):  # a lower range overrides where it still fits
        y = current / c["ug"][r] - c["s"][r] * (vdd_mv / 1000.0) - c["i"][r]
        disc = np.sqrt(np.maximum(c["gi"][r] ** 2 + 4 * c["gs"][r] * y, 0.0))
        x = 2 * y / (c["gi"][r] + disc)  # root of gs*x^2 + gi*x - y, stable form
        a = x * c["r"][r] / ADC_MULT + c["o"][r]
        fits = (a <= headroom * 0x3FFF * 4) | (r == N_RANGES - 1)
        adc = np.where(fits, a, adc)
        rng = np.where(fits, r, rng)
    raw = np.clip(np.rint(adc / 4), 0, 0x3FFF).astype(np.uint32)
    counter = (first_counter + np.arange(current.size, dtype=np.uint32)) & 0x3F
    lg = np.zeros(current.shape, np.uint32) if logic is None else np.asarray(logic, np.uint32)
    words = raw | (rng.astype(np.uint32) << 14) | (counter << 18) | (lg << 24)
    return words.astype("<u4").tobytes()
