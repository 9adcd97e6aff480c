/* TFLite int8 SOFTMAX (TFLM reference): gemmlowp fixed-point exp on Q5.26 differences from
 * the row maximum, a Q12.19 sum, and a fixed-point reciprocal; output scale 1/256, zp -128. */
#include <stddef.h>
#include "ert_kernels.h"
#include "tflite_common.h"

static inline int32_t sat_shl(int32_t x, int k)
{
    int64_t v = (int64_t)x * ((int64_t)1 << k);
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

/* exp(x) for x in [-1/4, 0), Q0.31 */
static int32_t exp_on_interval(int32_t a)
{
    int32_t x = a + (1 << 28);
    int32_t x2 = tfl_srdhm(x, x), x3 = tfl_srdhm(x2, x);
    int32_t x4_4 = tfl_rdbpot(tfl_srdhm(x2, x2), 2);
    int32_t t = tfl_rdbpot(tfl_srdhm(x4_4 + x3, 715827883) + x2, 1);
    return 1895147668 + tfl_srdhm(1895147668, x + t);
}

/* exp(a) for a Q5.26 value a <= 0, Q0.31 */
static int32_t exp_on_negative_values(int32_t a)
{
    static const int32_t k_exp[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t quarter = 1 << 24;
    if (a == 0) return INT32_MAX;
    int32_t amq = (a & (quarter - 1)) - quarter;
    int32_t result = exp_on_interval(sat_shl(amq, 5));
    int32_t rem = amq - a;
    for (int k = 0; k < 7; k++)
        if ((rem >> (24 + k)) & 1) result = tfl_srdhm(result, k_exp[k]);
    return result;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 */
static int32_t one_over_one_plus_x(int32_t a)
{
    int64_t sum = (int64_t)a + INT32_MAX;
    int32_t h = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t x = 1515870810 + tfl_srdhm(h, -1010580540);
    for (int i = 0; i < 3; i++)
        x = x + sat_shl(tfl_srdhm(x, (1 << 29) - tfl_srdhm(h, x)), 2);
    return sat_shl(x, 1);
}

static int clz32(uint32_t v)
{
    int n = 0;
    if (!v) return 32;
    while (!(v & 0x80000000u)) { v <<= 1; n++; }
    return n;
}

ert_status ert_check_int8_softmax(ert_ctx *ctx, uint32_t node)
{
    ert_tensor x, y;
    if (!ert_input(ctx, node, 0, &x) || !ert_output(ctx, node, 0, &y) || x.dtype != ERT_INT8 ||
        y.dtype != ERT_INT8 || x.nbytes != y.nbytes || x.rank < 1 || x.shape[x.rank - 1] < 1)
        return ert_fail(ctx, node, ERT_E_SHAPE, "SOFTMAX needs int8 input and output of one non-empty shape");
    int32_t left = ert_attr_i32(ctx, node, "shift", -1);
    if (left < 0 || left > 31) return ert_fail(ctx, node, ERT_E_ATTR, "SOFTMAX shift outside [0, 31]");
    /* the row's largest input always counts (diff 0 >= diff_min), so the sum of up to 4095
     * terms of at most 2^19 is positive and fits int32 */
    if (ert_attr_i32(ctx, node, "diff_min", 1) > 0)
        return ert_fail(ctx, node, ERT_E_ATTR, "SOFTMAX diff_min must be <= 0");
    if (x.shape[x.rank - 1] > 4095)
        return ert_fail(ctx, node, ERT_E_SHAPE, "SOFTMAX rows longer than 4095 would overflow the int32 sum");
    return ERT_OK;
}

ert_status ert_k_int8_softmax(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor xt, yt;
    const int8_t *x = ert_input(ctx, node, 0, &xt);
    int8_t *y = ert_output(ctx, node, 0, &yt);
    ert_status s = ert_check_int8_softmax(ctx, node);
    int32_t m = ert_attr_i32(ctx, node, "multiplier", 0), left = ert_attr_i32(ctx, node, "shift", 0);
    int32_t diff_min = ert_attr_i32(ctx, node, "diff_min", 0);
    (void)activity;
    if (s != ERT_OK) return s;
    const size_t depth = (size_t)xt.shape[xt.rank - 1], rows = xt.nbytes / depth;
    for (size_t r = 0; r < rows; r++) {
        const int8_t *in = x + r * depth;
        int8_t *out = y + r * depth;
        int32_t mx = -128, total = 0;
        for (size_t i = 0; i < depth; i++) mx = in[i] > mx ? in[i] : mx;
        for (size_t i = 0; i < depth; i++) {
            int32_t d = in[i] - mx;
            if (d >= diff_min)
                total += tfl_rdbpot(exp_on_negative_values(tfl_srdhm((int32_t)((uint32_t)d << left), m)), 12);
        }
        int h = clz32((uint32_t)total);
        int32_t inv = one_over_one_plus_x((int32_t)(((uint32_t)total << h) - 0x80000000u));
        int32_t exponent = (12 - h) + 31 - 8;
        if (exponent < 0 || exponent > 31) return ert_fail(ctx, node, ERT_E_KERNEL, "SOFTMAX sum out of range");
        for (size_t i = 0; i < depth; i++) {
            int32_t d = in[i] - mx;
            out[i] = -128;
            if (d >= diff_min) {
                int32_t e = exp_on_negative_values(tfl_srdhm((int32_t)((uint32_t)d << left), m));
                out[i] = (int8_t)tfl_clamp(tfl_rdbpot(tfl_srdhm(inv, e), exponent) - 128, -128, 127);
            }
        }
    }
    return ERT_OK;
}
