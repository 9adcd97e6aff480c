/* Shared by the TFLite int8 and float32 kernels: gemmlowp fixed-point primitives (TFLM
 * double-rounding requantization) and the validated geometry of conv / pool nodes.
 * Arithmetic restated in docs/int8.md (from shared/reference/int8-semantics.md). */
#ifndef TFLITE_COMMON_H
#define TFLITE_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include "ert.h"

/* Hot loops are compiled three times on x86-64 Linux with GCC (AVX-512, AVX2, baseline) and
 * picked at load time by the CPU; elsewhere (firmware, other compilers) this is empty. The
 * loops are plain C either way and give identical results. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define TFL_HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TFL_HOT
#endif

/* x86-64 host only (never the firmware): int8 dot products with AVX-512 VNNI (vpdpbusd: 64
 * multiply-adds per instruction), used when the CPU has it (checked at run time). The
 * portable loops stay the path everywhere else and give the same integers. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define TFL_X86_VNNI 1
#define TFL_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
static inline int tfl_has_vnni(void)
{
    return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl");
}

#include <immintrin.h>

/* round(x * m / 2^31) of the 64-bit lanes' low halves, ties toward +inf, as int64 lanes */
TFL_VNNI static inline __m512i tfl_srdhm_lanes(__m512i x, __m512i m)
{
    const __m512i ab = _mm512_mul_epi32(x, m);
    const __mmask8 neg = _mm512_cmplt_epi64_mask(ab, _mm512_setzero_si512());
    const __m512i t = _mm512_add_epi64(ab, _mm512_mask_blend_epi64(neg, _mm512_set1_epi64(1 << 30),
                                                                  _mm512_set1_epi64(1 - (1 << 30))));
    /* t / 2^31 truncating toward 0: add 2^31 - 1 to negative t before the shift */
    return _mm512_srai_epi64(_mm512_mask_add_epi64(t, _mm512_cmplt_epi64_mask(t, _mm512_setzero_si512()), t,
                                                   _mm512_set1_epi64(0x7FFFFFFF)), 31);
}

/* tfl_srdhm of 16 int32 lanes, except the saturating case (INT32_MIN x INT32_MIN), which
 * callers that can meet it patch; even and odd lanes form their 64-bit products apart. */
TFL_VNNI static inline __m512i tfl_srdhm16(__m512i x, __m512i m)
{
    const __m512i even = tfl_srdhm_lanes(x, m);
    const __m512i odd = tfl_srdhm_lanes(_mm512_srli_epi64(x, 32), _mm512_srli_epi64(m, 32));
    return _mm512_mask_blend_epi32((__mmask16)0xAAAA, even, _mm512_slli_epi64(odd, 32));
}

/* tfl_rdbpot of 16 lanes by exponents `right`, with mask = 2^right - 1 and half = mask >> 1 */
TFL_VNNI static inline __m512i tfl_rdbpot16(__m512i x, __m512i right, __m512i mask, __m512i half)
{
    const __mmask16 neg = _mm512_cmplt_epi32_mask(x, _mm512_setzero_si512());
    const __m512i threshold = _mm512_mask_add_epi32(half, neg, half, _mm512_set1_epi32(1));
    const __mmask16 up = _mm512_cmpgt_epi32_mask(_mm512_and_si512(x, mask), threshold);
    const __m512i y = _mm512_srav_epi32(x, right);
    return _mm512_mask_add_epi32(y, up, y, _mm512_set1_epi32(1));
}
#endif

/* Force inlining where a constant argument must reach the loop (vector tile widths). */
#if defined(__GNUC__)
#define TFL_INLINE static inline __attribute__((always_inline))
#else
#define TFL_INLINE static inline
#endif

/* round(a*b / 2^31), ties toward +inf, saturating the single overflow case */
static inline int32_t tfl_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));   /* C division truncates toward 0 */
}

/* round(x / 2^e), ties away from zero; 0 <= e <= 31 */
static inline int32_t tfl_rdbpot(int32_t x, int32_t e)
{
    int32_t mask = (int32_t)(((int64_t)1 << e) - 1);
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> e) + ((x & mask) > threshold ? 1 : 0);
}

/* MultiplyByQuantizedMultiplier; shift in [-31, 31] (checked at load time) */
static inline int32_t tfl_mbqm(int32_t x, int32_t m, int32_t shift)
{
    int32_t left = shift > 0 ? shift : 0, right = shift < 0 ? -shift : 0;
    return tfl_rdbpot(tfl_srdhm((int32_t)((uint32_t)x << left), m), right);
}

/* Requantize n int32 accumulators of consecutive channels (per-channel M, shift) to int8:
 * the same arithmetic as tfl_mbqm, written branch-free so that it vectorises. */
void tfl_requant_row(const int32_t *acc, int8_t *out, int32_t n, const int32_t *mult, const int32_t *shift,
                     int32_t zp_out, int32_t act_min, int32_t act_max);

static inline int32_t tfl_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static inline float tfl_clampf(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Geometry of a CONV_2D / DEPTHWISE_CONV_2D / pooling node (NHWC), all validated. */
typedef struct {
    int32_t n, h, w, cin;
    int32_t oh, ow, cout;
    int32_t kh, kw;
    int32_t sh, sw, dh, dw, ph, pw;
    int32_t mult;   /* depthwise channel multiplier */
} tfl_geom;

enum { TFL_CONV, TFL_DEPTHWISE, TFL_POOL };

/* Read and validate the geometry; `dtype` is the activation type (ERT_INT8 / ERT_FLOAT32).
 * Filters: CONV_2D [KH, KW, C_in, C_out], DEPTHWISE_CONV_2D [1, KH, KW, C_in x multiplier].
 * Returns ERT_OK or fails the node with a detail naming the broken check. */
ert_status tfl_geom_get(ert_ctx *ctx, uint32_t node, int kind, uint32_t dtype, tfl_geom *g);

/* Per-channel requantization parameters of a conv / FC node, validated: count == channels,
 * shifts in [-31, 31], activation range inside int8. */
typedef struct {
    const int32_t *mult, *shift;
    int32_t zp_in, zp_out, act_min, act_max;
} tfl_requant;

ert_status tfl_requant_get(ert_ctx *ctx, uint32_t node, uint32_t channels, tfl_requant *q);

#if defined(TFL_X86_VNNI)
/* tfl_requant_row for the 16 channels of one vector (same integers, lane by lane): the
 * 64-bit products of SRDHM are formed for even and odd lanes separately. */
typedef struct {
    __m512i left, right, mult, mask, half, zp_out, lo, hi;
    __mmask16 cm;
} requant16;

TFL_VNNI static inline requant16 requant16_get(const tfl_requant *q, int32_t c0, __mmask16 cm)
{
    requant16 r;
    const __m512i shift = _mm512_maskz_loadu_epi32(cm, q->shift + c0), zero = _mm512_setzero_si512();
    r.left = _mm512_max_epi32(shift, zero);
    r.right = _mm512_max_epi32(_mm512_sub_epi32(zero, shift), zero);
    r.mult = _mm512_maskz_loadu_epi32(cm, q->mult + c0);
    r.mask = _mm512_sub_epi32(_mm512_sllv_epi32(_mm512_set1_epi32(1), r.right), _mm512_set1_epi32(1));
    r.half = _mm512_srai_epi32(r.mask, 1);
    r.zp_out = _mm512_set1_epi32(q->zp_out);
    r.lo = _mm512_set1_epi32(q->act_min);
    r.hi = _mm512_set1_epi32(q->act_max);
    r.cm = cm;
    return r;
}

TFL_VNNI static inline void requant16_store(const requant16 *r, __m512i acc, int8_t *out)
{
    const __m512i x = _mm512_sllv_epi32(acc, r->left);
    __m512i hi = tfl_srdhm16(x, r->mult);
    const __m512i min32 = _mm512_set1_epi32(INT32_MIN);
    const __mmask16 sat = _mm512_cmpeq_epi32_mask(x, min32) & _mm512_cmpeq_epi32_mask(r->mult, min32);
    hi = _mm512_mask_mov_epi32(hi, sat, _mm512_set1_epi32(INT32_MAX));
    __m512i y = _mm512_add_epi32(tfl_rdbpot16(hi, r->right, r->mask, r->half), r->zp_out);
    y = _mm512_min_epi32(_mm512_max_epi32(y, r->lo), r->hi);
    _mm_mask_storeu_epi8(out, r->cm, _mm512_cvtepi32_epi8(y));
}
#endif

/* Constant-or-arena tensor `k` of a node with exactly `count` elements of `dtype`; NULL on mismatch. */
const void *tfl_vector(ert_ctx *ctx, uint32_t node, uint32_t k, uint32_t dtype, uint32_t count);

/* The int32[count] bias of input k, if bias + `taps` int8 x int8 products cannot overflow int32
 * (TFLM accumulates in int32 and assumes it never does: a hostile file must not make it); NULL otherwise. */
const int32_t *tfl_bias(ert_ctx *ctx, uint32_t node, uint32_t k, uint32_t count, int64_t taps);

/* NumPy broadcasting of two inputs to an output shape (element-wise ops). */
typedef struct {
    int32_t dims[ERT_MAX_RANK];             /* output shape, right-aligned to 6 dims */
    size_t stride_a[ERT_MAX_RANK], stride_b[ERT_MAX_RANK];  /* 0 along broadcast dims */
    size_t total;
    int same;                               /* both inputs already have the output shape */
} tfl_broadcast;

/* 0 when a or b does not broadcast to y's shape. */
int tfl_broadcast_get(const ert_tensor *a, const ert_tensor *b, const ert_tensor *y, tfl_broadcast *bc);
/* Offsets into a and b of output element i (row-major). */
void tfl_broadcast_offsets(const tfl_broadcast *bc, size_t i, size_t *oa, size_t *ob);

#endif
