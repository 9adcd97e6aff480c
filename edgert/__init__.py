"""edgert: one model, compiled once, run bit-identically on the host, in device emulators and
on boards, with measured energy per inference."""
from edgert.errors import (BoardError, EdgertError, FormatError, InputError, MeterError, ModelError,
                           ProfileError, UnsupportedOpError)
from edgert.runtime import Graph, Model, Session, compile, load
from edgert.emulators import emulate  # noqa: E402  (after runtime: the emulators build on it)
from edgert.devices import Board, host_board, qemu_board  # noqa: E402
from edgert.devices.meters import Trace, measure_energy, open_meter  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "Board", "BoardError", "EdgertError", "FormatError", "Graph", "InputError", "MeterError", "Model",
    "ModelError", "ProfileError", "Session", "UnsupportedOpError", "Trace", "compile", "emulate",
    "host_board", "load", "measure_energy", "open_meter", "qemu_board",
]
