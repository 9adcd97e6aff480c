"""The C runtime with the ONNX kernels, built with AddressSanitizer + UBSan, loads and runs
hostile .ert files derived from compiled ONNX models (attributes, shapes and dtypes rewritten,
then re-planned): out-of-bounds access, signed overflow or a NaN cast aborts the harness.
Skipped where the compiler cannot build sanitized binaries."""
import copy
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import edgert
from edgert.errors import EdgertError
from edgert.runtime import planner
from edgert.runtime.format import write_ert

import qdq_models as zoo
from test_onnx_float import cnn

NATIVE = Path(__file__).resolve().parents[2] / "native"
HARNESS = r"""
#include <stdio.h>
#include <stdlib.h>
#include "ert.h"
int main(int argc, char **argv) {
    int loaded = 0;
    for (int a = 1; a < argc; a++) {
        FILE *f = fopen(argv[a], "rb");
        if (!f) return 2;
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *buf = aligned_alloc(16, (size_t)(n + 15) / 16 * 16);
        if (fread(buf, 1, (size_t)n, f) != (size_t)n) return 2;
        fclose(f);
        ert_model m;
        const char *detail;
        uint32_t arena_size = ert_model_parse(&m, buf, (uint32_t)n, &detail) == ERT_OK ? m.arena_size : 0;
        if (arena_size > (1u << 26)) { free(buf); continue; }
        uint8_t *arena = aligned_alloc(16, (arena_size + 15) / 16 * 16 + 16 * (arena_size == 0));
        ert_ctx ctx;
        if (ert_init(&ctx, buf, (uint32_t)n, arena, arena_size) == ERT_OK) { loaded++; ert_invoke(&ctx, NULL); }
        free(arena);
        free(buf);
    }
    printf("%d\n", loaded);
    return 0;
}
"""
HOSTILE = [-3, -1, 0, 1, 2, 3, 7, 40, -2**31, 2**31 - 1, 1 << 16, 1 << 20, -129, 256]


def build_harness(tmp: Path) -> Path:
    cc = shutil.which("gcc") or shutil.which("cc")
    assert cc, "the sanitizer harness needs gcc (scripts/setup.sh installs it)"
    (tmp / "harness.c").write_text(HARNESS)
    sources = [str(p) for p in sorted((NATIVE / "src").rglob("*.c"))]
    exe = tmp / "harness"
    r = subprocess.run([cc, "-std=gnu11", "-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                        "-ffp-contract=off", f"-I{NATIVE / 'include'}", str(tmp / "harness.c"), *sources, "-o", str(exe)],
                       capture_output=True, text=True)
    assert r.returncode == 0, f"cannot build the sanitized harness: {r.stderr[-300:]}"
    return exe


def rewrite(graph, rng):
    """Change 1-3 attributes, shapes or dtypes of a compiled graph."""
    for _ in range(rng.integers(1, 4)):
        node = graph.nodes[rng.integers(len(graph.nodes))]
        if rng.random() < 0.6 and node.attrs:
            key = sorted(node.attrs)[rng.integers(len(node.attrs))]
            v = node.attrs[key]
            if isinstance(v, list) and v and rng.random() < 0.7:
                v = list(v)
                v[rng.integers(len(v))] = (int(rng.choice(HOSTILE)) if isinstance(v[0], int)
                                           else float(rng.choice([0.0, -1.0, np.inf, np.nan, 1e30])))
            elif isinstance(v, list):
                v = v + v[:1] if rng.random() < 0.5 else (v[:-1] or [0])
            elif isinstance(v, float):
                v = float(rng.choice([0.0, -1.0, np.inf, np.nan, 1e30]))
            elif isinstance(v, int):
                v = int(rng.choice(HOSTILE))
            node.attrs[key] = v
        else:
            ids = [i for i in node.inputs + node.outputs if i >= 0]
            t = graph.tensors[ids[rng.integers(len(ids))]]
            if t.storage != "arena" or not t.shape:
                continue
            shape = list(t.shape)
            shape[rng.integers(len(shape))] = int(rng.integers(1, 40))
            t.shape = tuple(shape)
            if rng.random() < 0.3:
                t.dtype = str(rng.choice(["int8", "uint8", "int32", "float32"]))


def test_hostile_onnx_ert_files_under_sanitizers(tmp_path):
    exe = build_harness(tmp_path)
    models = [edgert.compile(zoo.chain(np.random.default_rng(0))[0]), edgert.compile(zoo.add(np.random.default_rng(1))[0]),
              edgert.compile(zoo.matmul(np.random.default_rng(2))[0]), edgert.compile(cnn(np.random.default_rng(3))),
              edgert.compile(zoo.pools(np.random.default_rng(4))[0]), edgert.compile(zoo.gemm(np.random.default_rng(5))[0])]
    rng = np.random.default_rng(2026)
    files = []
    for k in range(1500):
        graph = copy.deepcopy(models[k % len(models)].graph)
        rewrite(graph, rng)
        try:
            raw = write_ert(graph, planner.plan(graph), {"family": "onnx"})
        except EdgertError:
            continue
        files.append(tmp_path / f"m{k}.ert")
        files[-1].write_bytes(raw)
    r = subprocess.run([str(exe), *map(str, files)], capture_output=True, text=True, timeout=300,
                       env={"UBSAN_OPTIONS": "print_stacktrace=1", "ASAN_OPTIONS": "detect_leaks=0"})
    assert r.returncode == 0, r.stderr[-3000:]
    assert 0 < int(r.stdout) < len(files)  # some rewrites load and run, the rest are refused
