"""Device profiles, serial links to boards, and power meters."""

from .board import Board, BoardInfo, NodeCount  # noqa: E402  (serial deployment)
from .launcher import host_board, qemu_board  # noqa: E402
from .transport import Faults, FaultyTransport, open_transport  # noqa: E402
from .mlperf import MlperfDut  # noqa: E402
