"""Inputs the libFuzzer harnesses (fuzz/) once crashed on, replayed through the host build:
each must load and run, or be rejected with an edgert error."""
import struct
import zlib
from pathlib import Path

import pytest

from edgert.errors import EdgertError
from edgert.native import NativeModel

CASES = sorted((Path(__file__).resolve().parents[2] / "fuzz" / "regressions" / "ert_loader").glob("*"))


def repair_header(raw: bytes) -> bytes:
    """What fuzz/ert_loader.c does before parsing: fix file_size and the CRC."""
    buf = bytearray(raw)
    if len(buf) >= 16:
        struct.pack_into("<II", buf, 8, len(buf), 0)
        struct.pack_into("<I", buf, 12, zlib.crc32(buf))
    return bytes(buf)


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_fuzz_regression(path):
    try:
        model = NativeModel(repair_header(path.read_bytes()))
    except EdgertError:
        return
    try:
        model.invoke()
    except EdgertError:
        pass
