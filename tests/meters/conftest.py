import os

import pytest


@pytest.fixture
def silent_port():
    """A serial port where nothing answers (the wrong device, or none)."""
    master, slave = os.openpty()
    yield os.ttyname(slave)
    os.close(master)
    os.close(slave)
