"""A PPK2 on a pseudo-terminal: answers the real command bytes and streams the real
4-byte sample words for a current waveform it is given (ranges switch as the waveform
crosses range limits)."""

from __future__ import annotations

import time

import numpy as np

from .. import ppk2_protocol as p
from .pty_device import PtyDevice

#: Calibration the emulated kit reports: plausible non-default values, so tests prove the
#: driver applies what it reads rather than the defaults.
EMULATED_CALIBRATION = p.Calibration(
    r=[1028.4, 101.2, 10.08, 0.9412, 0.04321],
    gs=[0.0012, 0.0021, 0.0034, 0.0041, 0.0052],
    gi=[1.0013, 0.9987, 1.0021, 0.9992, 1.0008],
    o=[52.1, 60.4, 48.8, 55.0, 61.3],
    s=[1.1e-8, 2.2e-8, 2.9e-7, 3.1e-6, 4.4e-5],
    i=[-3.0e-9, 2.0e-8, -1.5e-7, 2.5e-6, -1.1e-5],
    ug=[1.0, 1.0, 1.0, 1.0, 1.0],
    calibrated=True, hw="15810", ia="56")


class PPK2Emulator(PtyDevice):
    """``current_fn(t) -> amperes`` and optional ``logic_fn(t) -> uint8`` take numpy arrays
    of meter time (seconds since AVERAGE_START). In ``realtime`` mode samples are released
    as wall-clock time passes, ``lag_s`` behind it (so activity reported a little late
    still shapes the waveform); otherwise as fast as the reader consumes them."""

    CHUNK = 2000  # samples generated per write (20 ms)

    def __init__(self, current_fn, logic_fn=None, calibration=EMULATED_CALIBRATION,
                 realtime: bool = True, lag_s: float = 0.0, max_samples: int | None = None):
        self.current_fn, self.logic_fn = current_fn, logic_fn
        self.max_samples = max_samples  # a finite recording: stream stops after this many
        self.calibration = calibration
        self.realtime, self.lag_s = realtime, lag_s
        self.commands: list[bytes] = []  # every command received, opcode + arguments
        self.mode, self.vdd_mv, self.dut_on = None, None, False
        self.stream_host_t0: float | None = None  # host monotonic time of sample 0
        self._streaming = False
        self._sent = 0  # samples sent since AVERAGE_START
        super().__init__("ppk2-emulator")
        self._thread.start()

    def wait_for_commands(self, count: int, timeout: float = 2.0) -> list[bytes]:
        """The command log once it holds ``count`` commands (the emulator thread handles
        bytes asynchronously)."""
        deadline = time.monotonic() + timeout
        while len(self.commands) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        return list(self.commands)

    # ---- emulation ------------------------------------------------------------------

    def _run(self):
        while not self._stop.is_set():
            if not self._receive(0.002):
                return
            self._handle_commands()
            if self._streaming:
                self._stream()

    def _handle_commands(self):
        while self._inbox:
            op = self._inbox[0]
            n = p.ARG_LENGTHS.get(op, 0)
            if len(self._inbox) < 1 + n:
                return  # argument bytes still in flight
            cmd, self._inbox = self._inbox[:1 + n], self._inbox[1 + n:]
            self.commands.append(cmd)
            self._execute(cmd)

    def _execute(self, cmd: bytes):
        op = cmd[0]
        if op == p.GET_META_DATA:
            self._send(self.calibration.to_text().encode())
        elif op == p.SET_POWER_MODE:
            self.mode = {p.POWER_MODE_AMPERE: "ampere", p.POWER_MODE_SOURCE: "source"}[cmd[1]]
        elif op == p.REGULATOR_SET:
            self.vdd_mv = (cmd[1] << 8) | cmd[2]
        elif op == p.DEVICE_RUNNING_SET:
            self.dut_on = bool(cmd[1])
        elif op == p.AVERAGE_START:
            self._streaming, self._sent = True, 0
            self.stream_host_t0 = time.monotonic()
        elif op == p.AVERAGE_STOP:
            if self._streaming and self.realtime:
                self._stream(flush=True)  # what was measured up to now still goes out
            self._streaming = False

    def _due(self, flush: bool) -> int:
        """Samples that should have been sent by now."""
        if self.realtime:
            lag = 0.0 if flush else self.lag_s
            elapsed = time.monotonic() - self.stream_host_t0 - lag
            due = max(0, int(elapsed * p.SAMPLE_RATE))
        else:
            due = self._sent + self.CHUNK
        return due if self.max_samples is None else min(due, self.max_samples)

    def _stream(self, flush: bool = False):
        """One chunk per call, so commands are handled between chunks; a flush (at
        AVERAGE_STOP) sends everything measured up to now."""
        due = self._due(flush)
        while self._sent < due:
            n = min(self.CHUNK, due - self._sent)
            t = (self._sent + np.arange(n)) / p.SAMPLE_RATE
            current = np.broadcast_to(self.current_fn(t), t.shape)
            logic = None if self.logic_fn is None else np.broadcast_to(self.logic_fn(t), t.shape)
            if not self._send(p.encode_samples(current, self.calibration, self.vdd_mv or 3300,
                                               first_counter=self._sent, logic=logic)):
                return
            self._sent += n
            if not flush:
                return
