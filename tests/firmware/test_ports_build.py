"""Every firmware port builds with `make -C firmware PORT=...` (the real-board ports are
build-only here) and its image fits the memory its linker script gives it."""
import subprocess

import pytest

from edgert.devices.launcher import FIRMWARE_DIR, build_firmware

SIZE_TOOL = {"gapuino": "riscv64-unknown-elf-size", "nucleo-l4r5zi": "arm-none-eabi-size"}


@pytest.mark.parametrize("port", ["gapuino", "nucleo-l4r5zi"])
def test_real_board_port_builds(port):
    elf = build_firmware(port)
    out = subprocess.run([SIZE_TOOL[port], str(elf)], capture_output=True, text=True, check=True).stdout
    text, data, bss = (int(v) for v in out.splitlines()[1].split()[:3])
    assert text > 0 and bss > 0
    assert (FIRMWARE_DIR / "ports" / port / "link.ld").exists()
