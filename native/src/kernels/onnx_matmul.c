/* ONNX matrix products: ONNX_QLINEAR_MATMUL, ONNX_MATMUL_INTEGER, ONNX_MATMUL_F32
 * (reference: runtime/kernels/onnx_matmul.py). a is (..., M, K), b (..., K, N), y (..., M, N);
 * each operand's batch is the output's or 1. Float sums run over k from +0.0. */
#include "onnx_common.h"

typedef struct { uint32_t batch, ba, bb, m, k, n; } mm_dims;

static uint32_t batch_of(const ert_tensor *t)
{
    uint32_t b = 1;
    for (uint32_t i = 0; i + 2 < t->rank; i++) b *= (uint32_t)t->shape[i];
    return b;
}

static ert_status mm_get(ert_ctx *ctx, uint32_t node, mm_dims *d, ert_tensor *a, ert_tensor *b, ert_tensor *y)
{
    if (!ert_input(ctx, node, 0, a) || !ert_input(ctx, node, 1, b) || !ert_output(ctx, node, 0, y))
        ONNX_FAIL("onnx matmul: operand absent");
    if (a->rank < 2 || b->rank < 2 || y->rank < 2) ONNX_FAIL("onnx matmul: operands must be rank >= 2");
    d->m = (uint32_t)a->shape[a->rank - 2];
    d->k = (uint32_t)a->shape[a->rank - 1];
    d->n = (uint32_t)b->shape[b->rank - 1];
    d->batch = batch_of(y);
    d->ba = batch_of(a);
    d->bb = batch_of(b);
    if ((uint32_t)b->shape[b->rank - 2] != d->k || (uint32_t)y->shape[y->rank - 2] != d->m ||
        (uint32_t)y->shape[y->rank - 1] != d->n)
        ONNX_FAIL("onnx matmul: shapes do not chain");
    if ((d->ba != 1 && d->ba != d->batch) || (d->bb != 1 && d->bb != d->batch)) ONNX_FAIL("onnx matmul: batch mismatch");
    return ERT_OK;
}

static ert_status mm_check(ert_ctx *ctx, uint32_t node, int kind /* 0 qlinear, 1 integer, 2 f32 */)
{
    mm_dims d;
    ert_tensor a, b, y, c;
    uint32_t nz, nm;
    ert_status s = mm_get(ctx, node, &d, &a, &b, &y);
    if (s != ERT_OK) return s;
    int has_c = ert_input(ctx, node, 2, &c) != NULL;
    if (kind == 2) {
        if (a.dtype != ERT_FLOAT32 || b.dtype != ERT_FLOAT32 || y.dtype != ERT_FLOAT32) ONNX_FAIL("onnx matmul f32: dtypes");
        if (has_c && (c.dtype != ERT_FLOAT32 || !(onnx_numel(&c) == 1 || onnx_numel(&c) == d.n ||
                                                   onnx_numel(&c) == d.m * d.n)))
            ONNX_FAIL("onnx matmul f32: C size");
        return ERT_OK;
    }
    if (!onnx_is_q8(a.dtype) || !onnx_is_q8(b.dtype)) ONNX_FAIL("onnx matmul: a and b must be int8/uint8");
    if (!ert_attr_i32s(ctx, node, "b_zero_point", &nz) || !onnx_vec_ok(nz, d.n)) ONNX_FAIL("onnx matmul: b_zero_point count");
    if (!onnx_zps_ok(ctx, node, "a_zero_point") || !onnx_zps_ok(ctx, node, "b_zero_point") ||
        !onnx_zps_ok(ctx, node, "y_zero_point"))
        ONNX_FAIL("onnx matmul: zero point out of range");
    if (kind == 1) {
        if (y.dtype != ERT_INT32 || has_c) ONNX_FAIL("onnx matmul integer: output must be int32, no bias");
        return ERT_OK;
    }
    if (!onnx_is_q8(y.dtype)) ONNX_FAIL("onnx qlinear matmul: output must be int8/uint8");
    if (!ert_attr_f32s(ctx, node, "multiplier", &nm) || !onnx_vec_ok(nm, d.n)) ONNX_FAIL("onnx qlinear matmul: multiplier count");
    if (has_c && (c.dtype != ERT_INT32 || onnx_numel(&c) != d.n)) ONNX_FAIL("onnx qlinear matmul: bias");
    uint32_t scratch_size = 0;
    if (!ert_scratch(ctx, node, &scratch_size) || scratch_size / 4 < d.n)
        ONNX_FAIL("onnx qlinear matmul: scratch smaller than an output row");
    return ERT_OK;
}

ert_status ert_check_onnx_qlinear_matmul(ert_ctx *ctx, uint32_t node) { return mm_check(ctx, node, 0); }
ert_status ert_check_onnx_matmul_integer(ert_ctx *ctx, uint32_t node) { return mm_check(ctx, node, 1); }
ert_status ert_check_onnx_matmul_f32(ert_ctx *ctx, uint32_t node) { return mm_check(ctx, node, 2); }

/* acc[col] += av * (b[col] - b_zp[col]) over one row of b, wrapping modulo 2^32; a per-tensor
 * zero point gets its own loop so that the compiler vectorises it. */
#define MM_ROW(T)                                                                                      \
    static void mm_row_##T(uint32_t *acc, const T *b, uint32_t n, int32_t av, const int32_t *bzp,      \
                           uint32_t nz)                                                                \
    {                                                                                                  \
        if (nz == 1)                                                                                   \
            for (uint32_t col = 0; col < n; col++) acc[col] += (uint32_t)(av * (b[col] - bzp[0]));    \
        else                                                                                           \
            for (uint32_t col = 0; col < n; col++) acc[col] += (uint32_t)(av * (b[col] - bzp[col]));  \
    }
MM_ROW(int8_t)
MM_ROW(uint8_t)

/* Each output row accumulates over k (QLinearMatMul: in the node's int32 scratch row, N * 4
 * bytes; MatMulInteger: in its own int32 output row). A zero (a - a_zp) adds nothing. */
static ert_status int_matmul(ert_ctx *ctx, uint32_t node, int requantize)
{
    mm_dims d;
    ert_tensor a, b, y, tc;
    uint32_t nz, nm = 0, scratch_size = 0;
    ert_status s = mm_get(ctx, node, &d, &a, &b, &y);
    if (s != ERT_OK) return s;
    const void *pa = ert_input(ctx, node, 0, NULL), *pb = ert_input(ctx, node, 1, NULL);
    const int32_t *bias = (const int32_t *)ert_input(ctx, node, 2, &tc);
    void *py = ert_output(ctx, node, 0, NULL);
    uint32_t *scratch = (uint32_t *)ert_scratch(ctx, node, &scratch_size);
    const int32_t *bzp = ert_attr_i32s(ctx, node, "b_zero_point", &nz);
    const float *mult = ert_attr_f32s(ctx, node, "multiplier", &nm);
    int32_t azp = ert_attr_i32(ctx, node, "a_zero_point", 0), yzp = ert_attr_i32(ctx, node, "y_zero_point", 0);
    int32_t lo = 0, hi = 0;
    if (!bzp || !onnx_vec_ok(nz, d.n) || (requantize && (!mult || !onnx_vec_ok(nm, d.n))))
        ONNX_FAIL("onnx matmul: per-column attrs malformed");
    if (requantize && (!scratch || scratch_size / 4 < d.n)) ONNX_FAIL("onnx qlinear matmul: scratch smaller than an output row");
    if (requantize) onnx_out_range(ctx, node, y.dtype, &lo, &hi);
    for (uint32_t i = 0; i < d.batch; i++) {
        uint32_t oa = (d.ba > 1 ? i : 0) * d.m * d.k, ob = (d.bb > 1 ? i : 0) * d.k * d.n;
        for (uint32_t r = 0; r < d.m; r++) {
            uint32_t first = (i * d.m + r) * d.n;
            uint32_t *acc = requantize ? scratch : (uint32_t *)py + first;
            for (uint32_t col = 0; col < d.n; col++) acc[col] = 0;
            for (uint32_t k = 0; k < d.k; k++) {
                int32_t av = onnx_get(pa, a.dtype, oa + r * d.k + k) - azp;
                if (!av) continue;
                if (b.dtype == ERT_INT8) mm_row_int8_t(acc, (const int8_t *)pb + ob + k * d.n, d.n, av, bzp, nz);
                else mm_row_uint8_t(acc, (const uint8_t *)pb + ob + k * d.n, d.n, av, bzp, nz);
            }
            if (!requantize) continue;
            for (uint32_t col = 0; col < d.n; col++) {
                uint32_t sum = acc[col] + (bias ? (uint32_t)bias[col] : 0u);
                onnx_put_q8(py, y.dtype, first + col, onnx_requant(onnx_wrap32(sum), mult[nm > 1 ? col : 0], yzp, lo, hi));
            }
        }
    }
    return ERT_OK;
}

ert_status ert_k_onnx_qlinear_matmul(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    (void)activity;
    return int_matmul(ctx, node, 1);
}

ert_status ert_k_onnx_matmul_integer(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    (void)activity;
    return int_matmul(ctx, node, 0);
}

ert_status ert_k_onnx_matmul_f32(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    mm_dims d;
    ert_tensor a, b, y, tc;
    ert_status s = mm_get(ctx, node, &d, &a, &b, &y);
    (void)activity;
    if (s != ERT_OK) return s;
    const float *pa = (const float *)ert_input(ctx, node, 0, NULL), *pb = (const float *)ert_input(ctx, node, 1, NULL);
    const float *c = (const float *)ert_input(ctx, node, 2, &tc);
    float *py = (float *)ert_output(ctx, node, 0, NULL);
    uint32_t nc = c ? onnx_numel(&tc) : 0;
    float alpha = ert_attr_f32(ctx, node, "alpha", 1.0f), beta = ert_attr_f32(ctx, node, "beta", 1.0f);
    /* each output row accumulates over k in order from +0.0 in place, as the reference sums */
    for (uint32_t i = 0; i < d.batch; i++) {
        const float *ab = pa + (d.ba > 1 ? i : 0) * d.m * d.k, *bb = pb + (d.bb > 1 ? i : 0) * d.k * d.n;
        for (uint32_t r = 0; r < d.m; r++) {
            float *yr = py + (i * d.m + r) * d.n;
            for (uint32_t col = 0; col < d.n; col++) yr[col] = 0.0f;
            for (uint32_t k = 0; k < d.k; k++) {
                float av = ab[r * d.k + k];
                const float *br = bb + k * d.n;
                for (uint32_t col = 0; col < d.n; col++) yr[col] += av * br[col];
            }
            for (uint32_t col = 0; col < d.n; col++) {
                float v = yr[col] * alpha;
                if (c) v = v + beta * c[nc == 1 ? 0 : (nc == d.n ? col : r * d.n + col)];
                yr[col] = v;
            }
        }
    }
    return ERT_OK;
}
