"""Seed corpora for the fuzzers: valid .ert files and protocol sessions (framed requests)."""
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from native.models import padded_model, reshape_chain, rich_model  # noqa: E402

from edgert.devices import protocol as P  # noqa: E402
from edgert.devices.board import fnv1a64  # noqa: E402

MARK = b"\xff\xfe"


def session(ert: bytes) -> bytes:
    """A deploy + run conversation in the firmware harness's input format."""
    msgs = [bytes([P.HELLO]), bytes([P.MODEL_BEGIN]) + struct.pack("<IQ", len(ert), fnv1a64(ert))]
    msgs += [bytes([P.MODEL_CHUNK]) + struct.pack("<I", o) + ert[o:o + 1024] for o in range(0, len(ert), 1024)]
    msgs += [bytes([P.MODEL_COMMIT]), bytes([P.SET_INPUT]) + struct.pack("<HHII", 0, 0, 16, 0) + bytes(16),
             bytes([P.INVOKE]), bytes([P.GET_OUTPUT]) + struct.pack("<HHI", 0, 64, 0),
             bytes([P.GET_COUNTERS]) + struct.pack("<II", 0, 8), bytes([P.OPS]) + struct.pack("<IH", 0, 200)]
    out = b""
    for m in msgs:
        out += b"name%db load 4%db 01020304%" + MARK + m + MARK   # raw text piece, then a framed one
    return out


ROOT = Path(__file__).resolve().parents[1]


def _kws() -> bytes:
    import edgert
    return edgert.compile(ROOT / "models/mlperf_tiny/kws_ref_model.tflite").ert


def _forest() -> bytes:
    import edgert
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    X, y = load_iris(return_X_y=True)
    return edgert.compile(RandomForestClassifier(3, max_depth=3, random_state=0).fit(X, y)).ert


def _lif() -> bytes:
    import edgert
    return edgert.compile(ROOT / "models/nir/lif_norse.nir").ert


def main(root: Path) -> None:
    models = {"reshape": reshape_chain(3), "rich": rich_model(), "padded": padded_model(64)}
    for name, make in [("kws", _kws), ("forest", _forest), ("lif", _lif)]:
        try:
            models[name] = make()
        except Exception as e:  # the structural seeds are enough to start
            print(f"make_corpus: no {name} seed ({e})", file=sys.stderr)
    (root / "ert").mkdir(parents=True, exist_ok=True)
    (root / "frames").mkdir(parents=True, exist_ok=True)
    for name, ert in models.items():
        (root / "ert" / f"{name}.ert").write_bytes(ert)
        if len(ert) < 4096:
            (root / "frames" / f"{name}.bin").write_bytes(session(ert))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
