"""Print the coverage matrix as a Markdown table: latency in microseconds of one run of each
model family (all, or those named) on each device profile, or why the device refuses it.

    .venv/bin/python tests/emulators_coverage/print_matrix.py [FAMILY ...]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from coverage_models import FAMILIES  # noqa: E402
from edgert.devices.profiles import load_all  # noqa: E402
from edgert.emulators import Emulator  # noqa: E402
from edgert.errors import EdgertError  # noqa: E402


def cell(model, x, profile) -> str:
    try:
        _, report = Emulator(model, profile, backend="numpy").run(x)
    except EdgertError as e:
        return str(e).split(":")[0]  # "unsupported op", "does not fit", ...
    late = "" if report.summary.get("real_time", True) else " (misses real time)"
    return f"{report.latency_s * 1e6:.3g}{late}"


def main(names):
    built = {name: FAMILIES[name]() for name in names or FAMILIES}
    print("| device | " + " | ".join(built) + " |")
    print("|---" * (len(built) + 1) + "|")
    for profile in sorted(load_all(), key=lambda p: p.name):
        print(f"| {profile.name} | " + " | ".join(cell(m, x, profile) for m, x in built.values()) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
