"""A simulated serial device on the master side of a pseudo-terminal: drivers open
``device.port`` exactly as they would ``/dev/ttyACM0``."""

from __future__ import annotations

import os
import select
import threading
import tty


class PtyDevice:
    """Subclasses implement ``_run`` (the device thread) and read what the host sent from
    ``self._inbox``. The master side is non-blocking: a host that stops reading can stall
    the device's output, never hang it, and ``unplug()`` always returns."""

    def __init__(self, name: str):
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)  # the slave stays open: the port survives reopens
        self._inbox = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self):
        raise NotImplementedError

    def _receive(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for host bytes and append them to the inbox; False once
        the pty is gone."""
        if not select.select([self._master], [], [], timeout)[0]:
            return True
        try:
            self._inbox += os.read(self._master, 4096)
        except BlockingIOError:
            pass
        except OSError:
            return False
        return True

    def _send(self, data: bytes) -> bool:
        """Write all of ``data`` unless unplugged meanwhile; host bytes arriving while the
        host is slow to read still reach the inbox."""
        view = memoryview(data)
        while view:
            if self._stop.is_set():
                return False
            try:
                view = view[os.write(self._master, view):]
            except BlockingIOError:
                select.select([], [self._master], [], 0.05)
                if not self._receive(0):
                    return False
            except OSError:
                return False
        return True

    def unplug(self):
        """Vanish like a pulled USB cable: the driver's next read fails."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

    close = unplug
