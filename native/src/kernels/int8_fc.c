/* TFLite int8 FULLY_CONNECTED: acc = bias + sum w * (x - zp_in); the zero-point term is
 * folded into input 3 (bias_zp) by the importer, leaving contiguous int8 dot products. */
#include <stddef.h>
#include "ert_kernels.h"
#include "tflite_common.h"

typedef struct {
    int32_t batches, units, depth;
    tfl_requant q;
    const int8_t *x, *w;
    const int32_t *bias_zp;
    int8_t *y;
} fc_args;

static ert_status fc_args_get(ert_ctx *ctx, uint32_t node, fc_args *a)
{
    ert_tensor x, w, y;
    ert_status s;
    a->x = ert_input(ctx, node, 0, &x);
    a->w = ert_input(ctx, node, 1, &w);
    a->y = ert_output(ctx, node, 0, &y);
    if (!a->x || !a->w || x.dtype != ERT_INT8 || w.dtype != ERT_INT8 || y.dtype != ERT_INT8 || w.rank != 2)
        return ert_fail(ctx, node, ERT_E_SHAPE, "FULLY_CONNECTED needs int8 input, int8 [units, depth] weights, int8 output");
    a->units = w.shape[0];
    a->depth = w.shape[1];
    if (a->units < 1 || a->depth < 1 || x.nbytes % (uint32_t)a->depth)
        return ert_fail(ctx, node, ERT_E_SHAPE, "input size is not a multiple of the weights' depth");
    a->batches = (int32_t)(x.nbytes / (uint32_t)a->depth);
    if ((uint64_t)a->batches * (uint64_t)a->units != y.nbytes)
        return ert_fail(ctx, node, ERT_E_SHAPE, "output size != batches x units");
    if ((s = tfl_requant_get(ctx, node, (uint32_t)a->units, &a->q)) != ERT_OK) return s;
    a->bias_zp = tfl_bias(ctx, node, 3, (uint32_t)a->units, a->depth);
    if (!a->bias_zp)
        return ert_fail(ctx, node, ERT_E_SHAPE, "input 3 (bias_zp) must be int32[units], small enough "
                        "that the products cannot overflow the int32 accumulator");
    return ERT_OK;
}

ert_status ert_check_int8_fc(ert_ctx *ctx, uint32_t node)
{
    fc_args a = {0};
    return fc_args_get(ctx, node, &a);
}

#define UNIT_BLOCK 64   /* accumulators requantized together */

/* Four units at a time share each input load (dot products the compiler vectorises); blocks
 * of UNIT_BLOCK accumulators are requantized in one call. */
TFL_HOT static void fc_rows(const fc_args *a, const int8_t *restrict x, int8_t *restrict y)
{
    int32_t acc[UNIT_BLOCK];
    for (int32_t u0 = 0; u0 < a->units; u0 += UNIT_BLOCK) {
        const int32_t nb = a->units - u0 < UNIT_BLOCK ? a->units - u0 : UNIT_BLOCK;
        int32_t i = 0;
        for (; i + 4 <= nb; i += 4) {
            const int8_t *restrict w0 = a->w + (size_t)(u0 + i) * a->depth, *restrict w1 = w0 + a->depth;
            const int8_t *restrict w2 = w1 + a->depth, *restrict w3 = w2 + a->depth;
            int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (int32_t k = 0; k < a->depth; k++) {
                int32_t xv = x[k];
                s0 += w0[k] * xv;
                s1 += w1[k] * xv;
                s2 += w2[k] * xv;
                s3 += w3[k] * xv;
            }
            acc[i] = s0;
            acc[i + 1] = s1;
            acc[i + 2] = s2;
            acc[i + 3] = s3;
        }
        for (; i < nb; i++) {
            const int8_t *restrict w = a->w + (size_t)(u0 + i) * a->depth;
            int32_t s = 0;
            for (int32_t k = 0; k < a->depth; k++) s += w[k] * x[k];
            acc[i] = s;
        }
        for (i = 0; i < nb; i++) acc[i] += a->bias_zp[u0 + i];
        tfl_requant_row(acc, y + u0, nb, a->q.mult + u0, a->q.shift + u0, a->q.zp_out, a->q.act_min, a->q.act_max);
    }
}

#if defined(TFL_X86_VNNI)
/* sum_k (w[k] + 128) * x[k] of one unit over 64-byte chunks: vpdpbusd multiplies unsigned by
 * signed bytes, so weights are loaded flipped (w ^ 0x80 = w + 128) and the 128 * sum(x) this
 * adds, the same for every unit, is taken off once per block. Masked-off bytes are 0 in x. */
#define FC_VNNI_CHUNK(u) d##u = _mm512_dpbusd_epi32(d##u, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, w##u + k), flip), xv)

/* Sums of the 16 lanes of e0 .. e3 (four units) as one vector of 4 int32. */
TFL_VNNI static inline __m128i reduce4(__m512i e0, __m512i e1, __m512i e2, __m512i e3)
{
    const __m512i a = _mm512_add_epi32(_mm512_unpacklo_epi32(e0, e1), _mm512_unpackhi_epi32(e0, e1));
    const __m512i b = _mm512_add_epi32(_mm512_unpacklo_epi32(e2, e3), _mm512_unpackhi_epi32(e2, e3));
    const __m512i c = _mm512_add_epi32(_mm512_unpacklo_epi64(a, b), _mm512_unpackhi_epi64(a, b));
    const __m256i d = _mm256_add_epi32(_mm512_castsi512_si256(c), _mm512_extracti64x4_epi64(c, 1));
    return _mm_add_epi32(_mm256_castsi256_si128(d), _mm256_extracti128_si256(d, 1));
}

/* The flipped dot products of units u .. u+3 (`left` of them exist; missing ones repeat the
 * last, and their lanes are masked off by the caller). */
TFL_VNNI static inline __m128i fc_dot4(const fc_args *a, const int8_t *x, int32_t u, int32_t left)
{
    const int32_t depth = a->depth;
    const int8_t *w0 = a->w + (size_t)u * depth;
    const int8_t *w1 = left > 1 ? w0 + depth : w0, *w2 = left > 2 ? w1 + depth : w1, *w3 = left > 3 ? w2 + depth : w2;
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    __m512i d0 = _mm512_setzero_si512(), d1 = d0, d2 = d0, d3 = d0;
    for (int32_t k = 0; k < depth; k += 64) {
        const __mmask64 m = depth - k >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (depth - k)) - 1);
        const __m512i xv = _mm512_maskz_loadu_epi8(m, x + k);
        FC_VNNI_CHUNK(0);
        FC_VNNI_CHUNK(1);
        FC_VNNI_CHUNK(2);
        FC_VNNI_CHUNK(3);
    }
    return reduce4(d0, d1, d2, d3);
}

#define FC_PASS(j) \
    if (4 * (j) < nb) acc = _mm512_inserti32x4(acc, fc_dot4(a, x, u0 + 4 * (j), nb - 4 * (j)), j)

/* fc_rows' integers, 16 units per vector: four passes of four dot products, then the 16
 * accumulators requantized together. int32 sums wrap like TFLM's (the exact result fits:
 * tfl_bias checked the reach), so the 128 * sum(x) correction is exact too. */
TFL_VNNI static void fc_rows_vnni(const fc_args *a, const int8_t *x, int8_t *y)
{
    uint32_t sum_x = 0;
    for (int32_t k = 0; k < a->depth; k++) sum_x += (uint32_t)(int32_t)x[k];
    const __m512i flip_sum = _mm512_set1_epi32((int32_t)(sum_x << 7));
    for (int32_t u0 = 0; u0 < a->units; u0 += 16) {
        const int32_t nb = a->units - u0 < 16 ? a->units - u0 : 16;
        const __mmask16 cm = (__mmask16)(nb == 16 ? 0xFFFFu : (1u << nb) - 1u);
        __m512i acc = _mm512_setzero_si512();
        FC_PASS(0);
        FC_PASS(1);
        FC_PASS(2);
        FC_PASS(3);
        acc = _mm512_add_epi32(_mm512_sub_epi32(acc, flip_sum), _mm512_maskz_loadu_epi32(cm, a->bias_zp + u0));
        const requant16 r = requant16_get(&a->q, u0, cm);
        requant16_store(&r, acc, y + u0);
    }
}
#endif

ert_status ert_k_int8_fc(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    fc_args a = {0};
    ert_status s = fc_args_get(ctx, node, &a);
    (void)activity;
    if (s != ERT_OK) return s;
#if defined(TFL_X86_VNNI)
    if (tfl_has_vnni()) {
        for (int32_t b = 0; b < a.batches; b++)
            fc_rows_vnni(&a, a.x + (size_t)b * a.depth, a.y + (size_t)b * a.units);
        return ERT_OK;
    }
#endif
    for (int32_t b = 0; b < a.batches; b++)
        fc_rows(&a, a.x + (size_t)b * a.depth, a.y + (size_t)b * a.units);
    return ERT_OK;
}
