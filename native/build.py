"""cffi API-mode builder for the C runtime: one extension, `edgert.native._ert`, compiled from
every native/src/**/*.c (the same sources the firmware builds). setup.py registers it with
`cffi_modules`, so `pip install` compiles it; `python native/build.py` builds it in place."""
from __future__ import annotations

import os
import shlex
import shutil
import sysconfig
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
# -ffp-contract=off: no fused multiply-add, so float kernels give the same bits as on the boards.
CFLAGS = ["-O3", "-std=c99", "-ffp-contract=off", "-fno-strict-aliasing"]

CDEF = """
typedef int ert_status;
typedef struct {
    uint32_t size; uint32_t arena_size;
    uint32_t n_tensors; uint32_t n_nodes; uint32_t n_attrs; uint32_t n_indices;
    uint32_t data_size; uint32_t meta_size; const uint8_t *meta;
    uint32_t inputs_first, n_inputs, outputs_first, n_outputs;
    ...;
} ert_model;
typedef struct {
    const char *name;
    uint8_t dtype, rank, storage;
    int32_t shape[6];
    uint32_t offset, nbytes, quant_count;
    int32_t quant_axis;
    uint32_t scales, zero_points, init;
} ert_tensor;
typedef struct {
    const char *op; const char *name;
    uint32_t inputs_first, n_inputs, outputs_first, n_outputs, attrs_first, n_attrs;
    uint32_t scratch_offset, scratch_size;
} ert_node;
typedef struct ert_ctx {
    ert_model model;
    uint32_t error_node;
    const char *error_detail;
    ...;
} ert_ctx;

uint32_t ert_crc32(uint32_t crc, const uint8_t *p, uint32_t n);
ert_status ert_model_parse(ert_model *m, const uint8_t *buf, uint32_t size, const char **detail);
ert_status ert_tensor_get(const ert_model *m, uint32_t i, ert_tensor *t);
ert_status ert_node_get(const ert_model *m, uint32_t i, ert_node *n);
int32_t ert_index(const ert_model *m, uint32_t i);
const char *ert_status_name(ert_status s);
ert_status ert_init(ert_ctx *ctx, const uint8_t *buf, uint32_t size, uint8_t *arena, uint32_t arena_size);
void ert_reset(ert_ctx *ctx);
ert_status ert_invoke_node(ert_ctx *ctx, uint32_t node, uint32_t activity[4]);
ert_status ert_invoke(ert_ctx *ctx, uint32_t *activity);
uint32_t ert_op_count(void);
const void *ert_find_op(const char *name);
int32_t ert_input_index(ert_ctx *ctx, uint32_t node, uint32_t k);
int32_t ert_output_index(ert_ctx *ctx, uint32_t node, uint32_t k);
const void *ert_input(ert_ctx *ctx, uint32_t node, uint32_t k, ert_tensor *t);
void *ert_output(ert_ctx *ctx, uint32_t node, uint32_t k, ert_tensor *t);
void *ert_scratch(ert_ctx *ctx, uint32_t node, uint32_t *size);
float ert_scale(ert_ctx *ctx, const ert_tensor *t, uint32_t c);
int32_t ert_zero_point(ert_ctx *ctx, const ert_tensor *t, uint32_t c);
int32_t ert_attr_i32(ert_ctx *ctx, uint32_t node, const char *name, int32_t def);
float ert_attr_f32(ert_ctx *ctx, uint32_t node, const char *name, float def);
double ert_attr_f64(ert_ctx *ctx, uint32_t node, const char *name, double def);
const int32_t *ert_attr_i32s(ert_ctx *ctx, uint32_t node, const char *name, uint32_t *count);
const char *ert_attr_str(ert_ctx *ctx, uint32_t node, const char *name);
const char *ert_op_name(uint32_t i);

double ert_exp(double x); double ert_log(double x); double ert_sqrt(double x);
double ert_tanh(double x); double ert_rint(double x); double ert_round(double x);
double ert_floor(double x); double ert_pow(double x, double y);
float ert_expf(float x); float ert_logf(float x); float ert_sqrtf(float x);
float ert_tanhf(float x); float ert_logisticf(float x);
"""


def sources() -> list[str]:
    return sorted(str(p.relative_to(HERE.parent)) for p in (HERE / "src").rglob("*.c"))


def _require_compiler() -> None:
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    exe = shlex.split(cc)[0]
    if not shutil.which(exe):
        raise RuntimeError(
            f"edgert needs a C compiler to build its native kernels, and '{exe}' (from "
            f"{'$CC' if os.environ.get('CC') else 'Python build config'}) was not found. "
            "Install one (Debian/Ubuntu: apt-get install gcc) or point CC at it, then reinstall.")


def make_ffibuilder(absolute: bool = False) -> FFI:
    _require_compiler()
    ffi = FFI()
    ffi.cdef(CDEF)
    include = HERE / "include"
    ffi.set_source(
        "edgert.native._ert",
        '#include "ert.h"\n#include "ert_math.h"\n#include "ert_kernels.h"\n',
        # setuptools (pip install) wants paths relative to the project root it runs in;
        # ffi.compile() changes directory, so the in-place build passes absolute ones
        sources=[str(HERE.parent / s) if absolute else os.path.relpath(HERE.parent / s) for s in sources()],
        include_dirs=[str(include) if absolute else os.path.relpath(include)],
        extra_compile_args=CFLAGS,
    )
    return ffi


ffibuilder = make_ffibuilder()

if __name__ == "__main__":
    # In-place build for development: writes native/_ert.*.so next to this file.
    out = make_ffibuilder(absolute=True).compile(tmpdir=str(HERE.parent / "build" / "cffi"), verbose=False)
    target = HERE / Path(out).name
    # copy then rename: a process that has the old library mapped keeps its inode intact
    staged = target.with_suffix(".tmp")
    shutil.copy2(out, staged)
    os.replace(staged, target)
    print(target)
