"""The INA bridge firmware stays buildable (it is not run here: no STM32 emulator)."""

import struct
import subprocess
from pathlib import Path

import pytest

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware" / "bridge-ina"


@pytest.mark.parametrize("chip", ["INA226", "INA219"])
def test_bridge_firmware_builds_with_a_valid_vector_table(tmp_path, chip):
    subprocess.run(["make", "-C", str(FIRMWARE), f"CHIP={chip}", f"BUILD={tmp_path}"],
                   check=True, capture_output=True)
    image = (tmp_path / "bridge-ina.bin").read_bytes()
    stack_top, reset = struct.unpack_from("<II", image)
    assert stack_top == 0x20000000 + 20 * 1024  # top of the F103C8's 20 KiB SRAM
    assert reset & 1 and 0x08000000 <= reset - 1 < 0x08000000 + len(image)  # Thumb, in flash
    assert len(image) < 64 * 1024
