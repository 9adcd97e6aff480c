"""One exception hierarchy for everything edgert raises on purpose."""


class EdgertError(Exception):
    """Base class: every error edgert raises deliberately is one of these."""


class FormatError(EdgertError):
    """A model file (.ert, .tflite, .onnx, .nir, ...) is corrupt, truncated or hostile."""


class ModelError(EdgertError):
    """A model is well-formed but cannot be compiled or run as it stands."""


class UnsupportedOpError(ModelError):
    """The model uses an op, op option or estimator that edgert does not implement."""


class InputError(EdgertError):
    """Inputs given to a session, board or emulator have the wrong name, shape, dtype or values."""


class BoardError(EdgertError):
    """A board stopped answering, refused a command, or sent garbled data."""


class MeterError(EdgertError):
    """A power meter failed (unplugged, timeout, bad reply). Carries what was measured so far."""

    def __init__(self, message, partial=None):
        super().__init__(message)
        self.partial = partial


class ProfileError(EdgertError):
    """A device profile is malformed or missing."""
