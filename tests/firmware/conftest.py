"""Boards for the firmware tests: the host port (a POSIX process on a pty) and QEMU boards.
Each fixture stops its board when the module ends, whether the tests passed or not."""
import pytest

from edgert.devices import host_board, qemu_board


@pytest.fixture(scope="module")
def host_url():
    with host_board() as url:
        yield url


@pytest.fixture(scope="module")
def riscv_url():
    with qemu_board("qemu-riscv32") as url:
        yield url
