/* x86-64 hosts only (never the firmware): AVX2 helpers of the non-neural kernels that give the
 * portable loops' exact bits. Four table rows (support vectors, training points) sit in the
 * four lanes; each lane adds its features in the portable order, so only independent rows run
 * side by side, and no FMA is used. Callers test NN_X86 and nn_avx2() (nn_avx512()) before using them. */
#ifndef NN_X86_H
#define NN_X86_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define NN_X86 1
#include <immintrin.h>
#include "ert_math.h"

#define NN_AVX2 __attribute__((target("avx2")))

static inline int nn_avx2(void) { return __builtin_cpu_supports("avx2"); }

/* AVX-512F: eight lanes (k-means' and nearest centroid's small tables in one vector) */
#define NN_AVX512 __attribute__((target("avx512f")))
static inline int nn_avx512(void) { return __builtin_cpu_supports("avx512f"); }

enum { NN_SUM_SQ, NN_SUM_ABS, NN_SUM_DOT };

/* One step of a lane's sum: A += f(XJ, V), f = (x - t)^2, |x - t| or x * t by `op`. */
#define NN_STEP(A, V, XJ)                                                                         \
    do {                                                                                          \
        __m256d xv = _mm256_set1_pd(XJ), t;                                                       \
        if (op == NN_SUM_DOT) t = _mm256_mul_pd(xv, V);                                           \
        else {                                                                                    \
            t = _mm256_sub_pd(xv, V);                                                             \
            t = op == NN_SUM_SQ ? _mm256_mul_pd(t, t) : _mm256_andnot_pd(_mm256_set1_pd(-0.0), t); \
        }                                                                                         \
        A = _mm256_add_pd(A, t);                                                                  \
    } while (0)

/* acc[r nb + b] lane i: the portable loop `acc += f(x_r[j], t[j])` over j, for query row
 * x_r = x + r xstride (r < nr) and table row t = rows + (4 b + i) stride (b < nb); f is
 * (x - t)^2, |x - t| or x * t. Features come in pairs: two 128-bit loads per table row and one
 * unpack give feature j of four rows, used by all nr query rows. The nr nb chains run side by
 * side because each lane's sum is one dependent chain of adds. */
NN_AVX2 __attribute__((always_inline)) static inline void nn_sums(const double *x, size_t xstride, int nr, const double *rows,
                                                                   size_t stride, uint32_t n, int op, int nb, __m256d *acc)
{
    uint32_t j = 0;
    for (int a = 0; a < nr * nb; a++) acc[a] = _mm256_setzero_pd();
    for (; j + 2 <= n; j += 2) {
        for (int b = 0; b < nb; b++) {
            const double *r0 = rows + (size_t)(4 * b) * stride + j;
            __m256d lo = _mm256_insertf128_pd(_mm256_castpd128_pd256(_mm_loadu_pd(r0)), _mm_loadu_pd(r0 + 2 * stride), 1);
            __m256d hi = _mm256_insertf128_pd(_mm256_castpd128_pd256(_mm_loadu_pd(r0 + stride)), _mm_loadu_pd(r0 + 3 * stride), 1);
            __m256d even = _mm256_unpacklo_pd(lo, hi), odd = _mm256_unpackhi_pd(lo, hi);
            for (int r = 0; r < nr; r++) {
                NN_STEP(acc[r * nb + b], even, x[r * xstride + j]);
                NN_STEP(acc[r * nb + b], odd, x[r * xstride + j + 1]);
            }
        }
    }
    if (j < n)
        for (int b = 0; b < nb; b++) {
            const double *r0 = rows + (size_t)(4 * b) * stride + j;
            __m256d v = _mm256_set_pd(r0[3 * stride], r0[2 * stride], r0[stride], r0[0]);
            for (int r = 0; r < nr; r++) NN_STEP(acc[r * nb + b], v, x[r * xstride + j]);
        }
}

/* nn_sums over a table stored transposed (a small one, transposed once per call): feature j of
 * table rows 4 b .. 4 b + 3 is t[j ld + 4 b ..], one load instead of loads and shuffles. */
NN_AVX2 __attribute__((always_inline)) static inline void nn_sums_t(const double *x, size_t xstride, int nr, const double *t,
                                                                     size_t ld, uint32_t n, int op, int nb, __m256d *acc)
{
    for (int a = 0; a < nr * nb; a++) acc[a] = _mm256_setzero_pd();
    for (uint32_t j = 0; j < n; j++)
        for (int b = 0; b < nb; b++) {
            __m256d v = _mm256_loadu_pd(t + j * ld + 4 * (size_t)b);
            for (int r = 0; r < nr; r++) NN_STEP(acc[r * nb + b], v, x[r * xstride + j]);
        }
}

/* ert_exp of four lanes, the same operations as ert_math.c's general case; 0 when a lane is
 * outside [-708, -3.7e-9] (there ert_exp takes another branch: the caller uses it per lane). */
NN_AVX2 static inline int nn_exp4_neg(__m256d x, __m256d *out)
{
    __m256d ok = _mm256_and_pd(_mm256_cmp_pd(x, _mm256_set1_pd(-708.0), _CMP_GE_OQ),
                               _mm256_cmp_pd(x, _mm256_set1_pd(-3.7252902984e-09), _CMP_LE_OQ));
    if (_mm256_movemask_pd(ok) != 15) return 0;
    const __m256d P1 = _mm256_set1_pd(1.66666666666666019037e-01), P2 = _mm256_set1_pd(-2.77777777770155933842e-03),
                  P3 = _mm256_set1_pd(6.61375632143793436117e-05), P4 = _mm256_set1_pd(-1.65339022054652515390e-06),
                  P5 = _mm256_set1_pd(4.13813679705723846039e-08);
    __m128i k = _mm256_cvttpd_epi32(_mm256_add_pd(_mm256_mul_pd(x, _mm256_set1_pd(1.44269504088896338700e+00)),
                                                  _mm256_set1_pd(-0.5)));   /* (int) truncates */
    __m256d kd = _mm256_cvtepi32_pd(k);
    __m256d hi = _mm256_sub_pd(x, _mm256_mul_pd(kd, _mm256_set1_pd(6.93147180369123816490e-01)));
    __m256d lo = _mm256_mul_pd(kd, _mm256_set1_pd(1.90821492927058770002e-10));
    __m256d r = _mm256_sub_pd(hi, lo), t = _mm256_mul_pd(r, r);
    __m256d p = _mm256_add_pd(P4, _mm256_mul_pd(t, P5));
    p = _mm256_add_pd(P3, _mm256_mul_pd(t, p));
    p = _mm256_add_pd(P2, _mm256_mul_pd(t, p));
    p = _mm256_add_pd(P1, _mm256_mul_pd(t, p));
    __m256d c = _mm256_sub_pd(r, _mm256_mul_pd(t, p));
    __m256d q = _mm256_div_pd(_mm256_mul_pd(r, c), _mm256_sub_pd(_mm256_set1_pd(2.0), c));
    __m256d y = _mm256_sub_pd(_mm256_set1_pd(1.0), _mm256_sub_pd(_mm256_sub_pd(lo, q), hi));
    __m256i e = _mm256_slli_epi64(_mm256_add_epi64(_mm256_cvtepi32_epi64(k), _mm256_set1_epi64x(1023)), 52);
    *out = _mm256_mul_pd(y, _mm256_castsi256_pd(e));
    return 1;
}

#else
#define NN_X86 0
#endif

#endif
