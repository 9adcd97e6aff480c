"""Every firmware port builds with `make -C firmware PORT=...` (the real-board ports are
build-only here) and its image fits the memory its linker script gives it."""
import subprocess

import pytest

from edgert.devices.launcher import FIRMWARE_DIR, build_firmware

SIZE_TOOL = {"gapuino": "riscv64-unknown-elf-size", "nucleo-l4r5zi": "arm-none-eabi-size"}
# RAM each image's RAM-resident sections share with the stack (link.ld), and the stack kept free
RAM = {"gapuino": 480 * 1024, "nucleo-l4r5zi": 640 * 1024}
STACK = 16 * 1024


@pytest.mark.parametrize("port", ["gapuino", "nucleo-l4r5zi"])
def test_real_board_port_builds(port):
    elf = build_firmware(port)
    out = subprocess.run([SIZE_TOOL[port], str(elf)], capture_output=True, text=True, check=True).stdout
    text, data, bss = (int(v) for v in out.splitlines()[1].split()[:3])
    assert text > 0 and bss > 0
    in_ram = data + bss + (text if port == "gapuino" else 0)   # GAP8 runs from L2; STM32 from flash
    assert in_ram <= RAM[port] - STACK, f"{port}: only {RAM[port] - in_ram} bytes left for the stack"
    assert (FIRMWARE_DIR / "ports" / port / "link.ld").exists()
