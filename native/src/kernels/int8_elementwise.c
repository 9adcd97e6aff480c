/* TFLite int8 element-wise ops: ADD (left_shift = 20 rescale, NumPy broadcasting up to 6-D),
 * QUANTIZE float -> int8, REQUANTIZE int8 -> int8, DEQUANTIZE int8 -> float. */
#include <stddef.h>
#include <string.h>
#include "ert_kernels.h"
#include "ert_math.h"
#include "tflite_common.h"

/* ---- ADD --------------------------------------------------------------------------- */

typedef struct {
    tfl_broadcast bc;
    const int32_t *zp, *mult, *shift;
    int32_t left, act_min, act_max;
    const int8_t *a, *b;
    int8_t *y;
} add_args;

static ert_status add_args_get(ert_ctx *ctx, uint32_t node, add_args *p)
{
    ert_tensor a, b, y;
    uint32_t nz, nm, ns;
    p->a = ert_input(ctx, node, 0, &a);
    p->b = ert_input(ctx, node, 1, &b);
    p->y = ert_output(ctx, node, 0, &y);
    if (!p->a || !p->b || a.dtype != ERT_INT8 || b.dtype != ERT_INT8 || y.dtype != ERT_INT8)
        return ert_fail(ctx, node, ERT_E_SHAPE, "ADD needs two int8 inputs and an int8 output");
    if (!tfl_broadcast_get(&a, &b, &y, &p->bc))
        return ert_fail(ctx, node, ERT_E_SHAPE, "ADD input shapes do not broadcast to the output shape");
    p->zp = ert_attr_i32s(ctx, node, "zp", &nz);
    p->mult = ert_attr_i32s(ctx, node, "multiplier", &nm);
    p->shift = ert_attr_i32s(ctx, node, "shift", &ns);
    if (!p->zp || !p->mult || !p->shift || nz != 3 || nm != 3 || ns != 3)
        return ert_fail(ctx, node, ERT_E_ATTR, "ADD needs attrs zp, multiplier, shift of 3 values");
    for (int k = 0; k < 3; k++)
        if (p->shift[k] > 0 || p->shift[k] < -31 || p->zp[k] < -128 || p->zp[k] > 127 || p->mult[k] < 0)
            return ert_fail(ctx, node, ERT_E_ATTR, "ADD shift outside [-31, 0], negative multiplier or zero point outside int8");
    p->left = ert_attr_i32(ctx, node, "left_shift", 20);
    p->act_min = ert_attr_i32(ctx, node, "act_min", -128);
    p->act_max = ert_attr_i32(ctx, node, "act_max", 127);
    if (p->left < 0 || p->left > 23 || p->act_min < -128 || p->act_max > 127 || p->act_min > p->act_max)
        return ert_fail(ctx, node, ERT_E_ATTR, "ADD left_shift outside [0, 23] or activation range outside int8");
    return ERT_OK;
}

ert_status ert_check_int8_add(ert_ctx *ctx, uint32_t node)
{
    add_args p = {0};
    return add_args_get(ctx, node, &p);
}

/* round(a * m / 2^31) then round(. / 2^e): SRDHM + RDBPOT, branch-free so that it vectorises
 * (m > 0 and 0 <= e <= 31 are checked at load time, so the saturating case cannot occur). */
static inline int32_t add_scale(int32_t a, int32_t m, int32_t e)
{
    int64_t ab = (int64_t)a * m;
    int64_t t = ab + (ab >= 0 ? (1 << 30) : (1 - (1 << 30)));
    int32_t hi = (int32_t)((t + ((t >> 63) & 0x7FFFFFFF)) >> 31);
    int32_t mask = (int32_t)(((uint32_t)1 << e) - 1u);
    int32_t threshold = (mask >> 1) + (hi < 0 ? 1 : 0);
    return (hi >> e) + ((hi & mask) > threshold ? 1 : 0);
}

static inline int8_t add_one(const add_args *p, int32_t qa, int32_t qb)
{
    int32_t s1 = add_scale((qa - p->zp[0]) * (1 << p->left), p->mult[0], -p->shift[0]);
    int32_t s2 = add_scale((qb - p->zp[1]) * (1 << p->left), p->mult[1], -p->shift[1]);
    return (int8_t)tfl_clamp(add_scale(s1 + s2, p->mult[2], -p->shift[2]) + p->zp[2], p->act_min, p->act_max);
}

#define ADD_BLOCK 256

/* The same-shape case, in blocks copied to the stack: the output may be the very buffer of
 * an input (the planner runs ADD in place), and local copies let the loop vectorise. */
TFL_HOT static void add_same(const add_args *p, const int8_t *a, const int8_t *b, int8_t *y, size_t n)
{
    const int32_t zp1 = p->zp[0], zp2 = p->zp[1], zpo = p->zp[2], left = p->left;
    const int32_t m1 = p->mult[0], m2 = p->mult[1], mo = p->mult[2];
    const int32_t e1 = -p->shift[0], e2 = -p->shift[1], eo = -p->shift[2];
    const int32_t lo = p->act_min, hi = p->act_max;
    int8_t ba[ADD_BLOCK], bb[ADD_BLOCK], by[ADD_BLOCK];
    for (size_t i0 = 0; i0 < n; i0 += ADD_BLOCK) {
        size_t len = n - i0 < ADD_BLOCK ? n - i0 : ADD_BLOCK;
        memcpy(ba, a + i0, len);
        memcpy(bb, b + i0, len);
        for (size_t i = 0; i < len; i++) {
            int32_t s1 = add_scale((ba[i] - zp1) * (1 << left), m1, e1);
            int32_t s2 = add_scale((bb[i] - zp2) * (1 << left), m2, e2);
            int32_t r = add_scale(s1 + s2, mo, eo) + zpo;
            by[i] = (int8_t)(r < lo ? lo : r > hi ? hi : r);
        }
        memcpy(y + i0, by, len);
    }
}

#if defined(TFL_X86_VNNI)
/* add_scale of 16 lanes: multiplier m >= 0 (load-time check), so no saturating case. */
TFL_VNNI static inline __m512i add_scale16(__m512i x, int32_t m, int32_t e)
{
    const int32_t mask = (int32_t)(((uint32_t)1 << e) - 1u);
    return tfl_rdbpot16(tfl_srdhm16(x, _mm512_set1_epi32(m)), _mm512_set1_epi32(e), _mm512_set1_epi32(mask),
                        _mm512_set1_epi32(mask >> 1));
}

/* add_same, 16 elements per step with AVX-512 (x86-64 hosts): the same integers. Every
 * block is loaded before its result is stored, so running in place is fine. */
TFL_VNNI static void add_same_avx512(const add_args *p, const int8_t *a, const int8_t *b, int8_t *y, size_t n)
{
    const __m512i zp1 = _mm512_set1_epi32(p->zp[0]), zp2 = _mm512_set1_epi32(p->zp[1]);
    const __m512i zpo = _mm512_set1_epi32(p->zp[2]), lo = _mm512_set1_epi32(p->act_min), hi = _mm512_set1_epi32(p->act_max);
    const __m128i left = _mm_cvtsi32_si128(p->left);
    for (size_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
        const __m512i va = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, a + i));
        const __m512i vb = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, b + i));
        const __m512i s1 = add_scale16(_mm512_sll_epi32(_mm512_sub_epi32(va, zp1), left), p->mult[0], -p->shift[0]);
        const __m512i s2 = add_scale16(_mm512_sll_epi32(_mm512_sub_epi32(vb, zp2), left), p->mult[1], -p->shift[1]);
        __m512i r = _mm512_add_epi32(add_scale16(_mm512_add_epi32(s1, s2), p->mult[2], -p->shift[2]), zpo);
        r = _mm512_min_epi32(_mm512_max_epi32(r, lo), hi);
        _mm_mask_storeu_epi8(y + i, m, _mm512_cvtepi32_epi8(r));
    }
}
#endif

ert_status ert_k_int8_add(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    add_args p = {0};
    ert_status s = add_args_get(ctx, node, &p);
    (void)activity;
    if (s != ERT_OK) return s;
    if (p.bc.same) {
#if defined(TFL_X86_VNNI)
        if (tfl_has_vnni()) {
            add_same_avx512(&p, p.a, p.b, p.y, p.bc.total);
            return ERT_OK;
        }
#endif
        add_same(&p, p.a, p.b, p.y, p.bc.total);
    } else {
        for (size_t i = 0; i < p.bc.total; i++) {
            size_t oa, ob;
            tfl_broadcast_offsets(&p.bc, i, &oa, &ob);
            p.y[i] = add_one(&p, p.a[oa], p.b[ob]);
        }
    }
    return ERT_OK;
}

/* ---- QUANTIZE / REQUANTIZE / DEQUANTIZE -------------------------------------------- */

static ert_status unary(ert_ctx *ctx, uint32_t node, uint32_t in_type, uint32_t out_type,
                        const void **x, void **y, uint32_t *count)
{
    ert_tensor a, b;
    *x = ert_input(ctx, node, 0, &a);
    *y = ert_output(ctx, node, 0, &b);
    if (!*x || a.dtype != in_type || b.dtype != out_type || a.nbytes / ert_dtype_size(in_type) != b.nbytes / ert_dtype_size(out_type))
        return ert_fail(ctx, node, ERT_E_SHAPE, "input / output types or sizes do not fit the op");
    *count = b.nbytes / ert_dtype_size(out_type);
    return ERT_OK;
}

ert_status ert_check_int8_quantize(ert_ctx *ctx, uint32_t node)
{
    const void *x; void *y; uint32_t n;
    float scale = ert_attr_f32(ctx, node, "scale", 0.0f);
    if (!(scale > 0.0f)) return ert_fail(ctx, node, ERT_E_ATTR, "QUANTIZE scale must be positive");
    return unary(ctx, node, ERT_FLOAT32, ERT_INT8, &x, &y, &n);
}

ert_status ert_k_int8_quantize(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    const void *xv; void *yv; uint32_t n;
    ert_status s = unary(ctx, node, ERT_FLOAT32, ERT_INT8, &xv, &yv, &n);
    const float *x = xv;
    int8_t *y = yv;
    float scale = ert_attr_f32(ctx, node, "scale", 1.0f);
    int32_t zp = ert_attr_i32(ctx, node, "zp_out", 0);
    (void)activity;
    if (s != ERT_OK) return s;
    for (uint32_t i = 0; i < n; i++) {
        float v = ert_roundf(x[i] / scale);   /* float32 division, half away from zero */
        v = v != v ? 0.0f : tfl_clampf(v, -1e6f, 1e6f);
        y[i] = (int8_t)tfl_clamp((int32_t)v + zp, -128, 127);
    }
    return ERT_OK;
}

ert_status ert_check_int8_requantize(ert_ctx *ctx, uint32_t node)
{
    const void *x; void *y; uint32_t n;
    int32_t shift = ert_attr_i32(ctx, node, "shift", 99);
    if (shift < -31 || shift > 31) return ert_fail(ctx, node, ERT_E_ATTR, "REQUANTIZE shift outside [-31, 31]");
    return unary(ctx, node, ERT_INT8, ERT_INT8, &x, &y, &n);
}

ert_status ert_k_int8_requantize(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    const void *xv; void *yv; uint32_t n;
    ert_status s = unary(ctx, node, ERT_INT8, ERT_INT8, &xv, &yv, &n);
    const int8_t *x = xv;
    int8_t *y = yv;
    int32_t m = ert_attr_i32(ctx, node, "multiplier", 0), shift = ert_attr_i32(ctx, node, "shift", 0);
    int32_t zp_in = ert_attr_i32(ctx, node, "zp_in", 0), zp_out = ert_attr_i32(ctx, node, "zp_out", 0);
    (void)activity;
    if (s != ERT_OK) return s;
    if (shift < -31 || shift > 31) return ert_fail(ctx, node, ERT_E_ATTR, "REQUANTIZE shift outside [-31, 31]");
    for (uint32_t i = 0; i < n; i++)
        y[i] = (int8_t)tfl_clamp(tfl_mbqm(x[i] - zp_in, m, shift) + zp_out, -128, 127);
    return ERT_OK;
}

ert_status ert_check_int8_dequantize(ert_ctx *ctx, uint32_t node)
{
    const void *x; void *y; uint32_t n;
    return unary(ctx, node, ERT_INT8, ERT_FLOAT32, &x, &y, &n);
}

ert_status ert_k_int8_dequantize(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    const void *xv; void *yv; uint32_t n;
    ert_status s = unary(ctx, node, ERT_INT8, ERT_FLOAT32, &xv, &yv, &n);
    const int8_t *x = xv;
    float *y = yv;
    double scale = ert_attr_f64(ctx, node, "scale", 1.0);
    int32_t zp = ert_attr_i32(ctx, node, "zp_in", 0);
    (void)activity;
    if (s != ERT_OK) return s;
    for (uint32_t i = 0; i < n; i++) y[i] = (float)(scale * (double)(x[i] - zp));
    return ERT_OK;
}
