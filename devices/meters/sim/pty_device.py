"""A simulated serial device on the master side of a pseudo-terminal: drivers open
``device.port`` exactly as they would ``/dev/ttyACM0``."""

from __future__ import annotations

import os
import threading
import tty


class PtyDevice:
    def __init__(self, name: str):
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)  # the slave stays open: the port survives reopens
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self):
        raise NotImplementedError

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
