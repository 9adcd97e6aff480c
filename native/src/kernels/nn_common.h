/* Shared helpers of the non-neural kernels (nn_*.c): shape checks, feature reads, and the
 * integer arithmetic of fixed mode, mirrored by runtime/kernels/nonneural_intmath.py. */
#ifndef NN_COMMON_H
#define NN_COMMON_H

#include <string.h>
#include "ert_kernels.h"
#include "ert_math.h"

#define NN_FAIL(msg) return ert_fail(ctx, node, ERT_E_SHAPE, msg)

/* Force inlining where a constant argument (a dtype, a mode) must reach the loop. */
#if defined(__GNUC__)
#define NN_INLINE static inline __attribute__((always_inline))
#else
#define NN_INLINE static inline
#endif

static inline uint32_t nn_numel(const ert_tensor *t)
{
    uint32_t n = 1;
    for (uint32_t k = 0; k < t->rank; k++) n *= (uint32_t)t->shape[k];
    return n;
}

/* A rank-2 tensor of `dtype` (0: any) whose dims equal d0, d1 where those are >= 0. */
static inline int nn_mat(const ert_tensor *t, uint8_t dtype, int32_t d0, int32_t d1)
{
    return t->rank == 2 && (!dtype || t->dtype == dtype) && (d0 < 0 || t->shape[0] == d0) &&
           (d1 < 0 || t->shape[1] == d1);
}

/* A batch-first tensor: rank 1 (batch) or 2 (batch, cols); sets rows and cols. */
static inline int nn_rows(const ert_tensor *t, uint8_t dtype, uint32_t *rows, uint32_t *cols)
{
    if ((dtype && t->dtype != dtype) || t->rank < 1 || t->rank > 2) return 0;
    *rows = (uint32_t)t->shape[0];
    *cols = t->rank == 2 ? (uint32_t)t->shape[1] : 1u;
    return 1;
}

static inline int nn_is_float(const ert_tensor *t) { return t->dtype == ERT_FLOAT32 || t->dtype == ERT_FLOAT64; }

/* Element i of a float32 or float64 tensor as a double. */
static inline double nn_real(const void *p, uint8_t dtype, uint32_t i)
{
    return dtype == ERT_FLOAT32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}

/* floor(v / 2**s): an arithmetic right shift that does not rely on implementation-defined >>. */
static inline int64_t nn_asr(int64_t v, uint32_t s)
{
    if (s > 62) return v < 0 ? -1 : 0;
    return v >= 0 ? v >> s : -((-(v + 1)) >> s) - 1;
}

static inline int64_t nn_round_shift(int64_t v, uint32_t s)
{
    return s ? nn_asr(v + ((int64_t)1 << (s - 1)), s) : v;
}

int64_t nn_exp_q24(int64_t z);   /* round(2**24 e**-z), z >= 0 in Q16 */
int64_t nn_tanh_q24(int64_t u);  /* 2**24 tanh(u), u in Q16 */
int64_t nn_isqrt(int64_t n);     /* floor(sqrt(n)), n >= 0 */

#endif
