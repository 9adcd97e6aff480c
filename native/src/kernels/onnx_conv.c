/* ONNX 2-D convolution, NCHW: ONNX_QLINEAR_CONV, ONNX_CONV_INTEGER, ONNX_CONV_F32
 * (reference: runtime/kernels/onnx_conv.py). Out-of-bounds taps are skipped: padding holds
 * the zero point, which contributes nothing. Float sums run in the order (channel, ky, kx)
 * from +0.0 and add the bias last, as the reference does. Each output channel is accumulated
 * as a plane (QLinearConv: in the node's int32 scratch, OH * OW * 4 bytes). */
#include <string.h>
#include "onnx_common.h"

static ert_status conv_check(ert_ctx *ctx, uint32_t node, int kind /* 0 qlinear, 1 integer, 2 f32 */)
{
    onnx_geom g;
    ert_tensor x, w, b, y;
    uint32_t nw, nm;
    ert_status s = onnx_geom_get(ctx, node, 1, &g);
    if (s != ERT_OK) return s;
    ert_input(ctx, node, 0, &x);
    ert_input(ctx, node, 1, &w);
    ert_output(ctx, node, 0, &y);
    int has_bias = ert_input(ctx, node, 2, &b) != NULL;
    if (kind == 2) {
        if (x.dtype != ERT_FLOAT32 || w.dtype != ERT_FLOAT32 || y.dtype != ERT_FLOAT32) ONNX_FAIL("onnx conv f32: dtypes");
        if (has_bias && (b.dtype != ERT_FLOAT32 || onnx_numel(&b) != (uint32_t)g.m)) ONNX_FAIL("onnx conv f32: bias");
        return ERT_OK;
    }
    if (!onnx_is_q8(x.dtype) || !onnx_is_q8(w.dtype)) ONNX_FAIL("onnx conv: x and w must be int8/uint8");
    if (!onnx_zps_ok(ctx, node, "x_zero_point") || !onnx_zps_ok(ctx, node, "w_zero_point") ||
        !onnx_zps_ok(ctx, node, "y_zero_point"))
        ONNX_FAIL("onnx conv: zero point out of range");
    if (!ert_attr_i32s(ctx, node, "w_zero_point", &nw) || !onnx_vec_ok(nw, (uint32_t)g.m))
        ONNX_FAIL("onnx conv: w_zero_point count");
    if (kind == 1) {
        if (y.dtype != ERT_INT32 || has_bias) ONNX_FAIL("onnx conv integer: output must be int32, no bias");
        return ERT_OK;
    }
    if (!onnx_is_q8(y.dtype)) ONNX_FAIL("onnx qlinear conv: output must be int8/uint8");
    uint32_t scratch_size = 0;
    if (!ert_scratch(ctx, node, &scratch_size) || scratch_size / 4 < (uint32_t)(g.oh * g.ow))
        ONNX_FAIL("onnx qlinear conv: scratch smaller than an output plane");
    if (!ert_attr_f32s(ctx, node, "multiplier", &nm) || !onnx_vec_ok(nm, (uint32_t)g.m))
        ONNX_FAIL("onnx qlinear conv: multiplier count");
    if (has_bias && (b.dtype != ERT_INT32 || onnx_numel(&b) != (uint32_t)g.m)) ONNX_FAIL("onnx qlinear conv: bias");
    return ERT_OK;
}

ert_status ert_check_onnx_qlinear_conv(ert_ctx *ctx, uint32_t node) { return conv_check(ctx, node, 0); }
ert_status ert_check_onnx_conv_integer(ert_ctx *ctx, uint32_t node) { return conv_check(ctx, node, 1); }
ert_status ert_check_onnx_conv_f32(ert_ctx *ctx, uint32_t node) { return conv_check(ctx, node, 2); }

/* Output positions o in [*lo, *hi) whose input position o * s - p + kd lies in [0, size). */
static void tap_span(int32_t out, int32_t s, int32_t p, int64_t kd, int32_t size, int32_t *lo, int32_t *hi)
{
    int64_t first = (int64_t)p - kd, last = (int64_t)size - 1 + p - kd;
    int64_t a = first <= 0 ? 0 : (first + s - 1) / s, b = last < 0 ? 0 : last / s + 1;
    if (b > out) b = out;
    if (a > b) a = b;
    *lo = (int32_t)a;
    *hi = (int32_t)b;
}

/* One tap on one output row: acc[o] += (xr[o * sw + shift] - xzp) * wv for o in [lo, hi); the
 * unit-stride case is its own loop so that the compiler vectorises it. */
#define ROW_ACC(T)                                                                                     \
    static void row_##T(uint32_t *acc, const T *xr, int32_t lo, int32_t hi, int32_t sw, int32_t shift, \
                        int32_t xzp, int32_t wv)                                                       \
    {                                                                                                  \
        if (sw == 1)                                                                                   \
            for (int32_t o = lo; o < hi; o++) acc[o] += (uint32_t)((xr[o + shift] - xzp) * wv);        \
        else                                                                                           \
            for (int32_t o = lo; o < hi; o++) acc[o] += (uint32_t)((xr[o * sw + shift] - xzp) * wv);   \
    }
ROW_ACC(int8_t)
ROW_ACC(uint8_t)

/* Accumulate output channel oc of batch b into the plane acc (OH x OW), tap by tap in the order
 * (channel, ky, kx): acc += (x - xzp)(w - wz), wrapping modulo 2^32. A zero weight adds nothing. */
static void int_plane(const onnx_geom *g, const void *x, uint8_t xt, int32_t xzp, const void *w, uint8_t wt,
                      int32_t wz, int32_t b, int32_t oc, uint32_t *acc)
{
    int32_t cg = g->c / g->group, ic0 = (oc / (g->m / g->group)) * cg;
    memset(acc, 0, (size_t)g->oh * (size_t)g->ow * sizeof *acc);
    for (int32_t ci = 0; ci < cg; ci++) {
        uint32_t xplane = ((uint32_t)b * (uint32_t)g->c + (uint32_t)(ic0 + ci)) * (uint32_t)(g->h * g->w);
        uint32_t wbase = ((uint32_t)oc * (uint32_t)cg + (uint32_t)ci) * (uint32_t)(g->kh * g->kw);
        for (int32_t ky = 0; ky < g->kh; ky++) {
            int32_t ylo, yhi;
            tap_span(g->oh, g->sh, g->pt, (int64_t)ky * g->dh, g->h, &ylo, &yhi);
            for (int32_t kx = 0; kx < g->kw; kx++) {
                int32_t xlo, xhi, wv = onnx_get(w, wt, wbase + (uint32_t)(ky * g->kw + kx)) - wz;
                int64_t kd = (int64_t)kx * g->dw;
                tap_span(g->ow, g->sw, g->pl, kd, g->w, &xlo, &xhi);
                if (!wv || xlo >= xhi) continue;
                int32_t shift = (int32_t)(kd - g->pl); /* input column = ox * sw + shift, >= 0 on the span */
                for (int32_t oy = ylo; oy < yhi; oy++) {
                    uint32_t row = xplane + (uint32_t)((oy * g->sh - g->pt + ky * g->dh) * g->w);
                    uint32_t *arow = acc + (uint32_t)oy * (uint32_t)g->ow;
                    if (xt == ERT_INT8) row_int8_t(arow, (const int8_t *)x + row, xlo, xhi, g->sw, shift, xzp, wv);
                    else row_uint8_t(arow, (const uint8_t *)x + row, xlo, xhi, g->sw, shift, xzp, wv);
                }
            }
        }
    }
}

static ert_status int_conv(ert_ctx *ctx, uint32_t node, int requantize)
{
    onnx_geom g;
    ert_tensor tx, tw, tb, ty;
    uint32_t nw, nm = 0, scratch_size = 0;
    ert_status s = onnx_geom_get(ctx, node, 1, &g);
    if (s != ERT_OK) return s;
    const void *x = ert_input(ctx, node, 0, &tx);
    const void *w = ert_input(ctx, node, 1, &tw);
    const int32_t *bias = (const int32_t *)ert_input(ctx, node, 2, &tb);
    void *y = ert_output(ctx, node, 0, &ty);
    uint32_t *scratch = (uint32_t *)ert_scratch(ctx, node, &scratch_size);
    const int32_t *wzp = ert_attr_i32s(ctx, node, "w_zero_point", &nw);
    const float *mult = ert_attr_f32s(ctx, node, "multiplier", &nm);
    int32_t xzp = ert_attr_i32(ctx, node, "x_zero_point", 0), yzp = ert_attr_i32(ctx, node, "y_zero_point", 0);
    int32_t lo = 0, hi = 0;
    uint32_t plane = (uint32_t)(g.oh * g.ow);
    if (!wzp || !onnx_vec_ok(nw, (uint32_t)g.m) || (requantize && (!mult || !onnx_vec_ok(nm, (uint32_t)g.m))))
        ONNX_FAIL("onnx conv: per-channel attrs malformed");
    if (requantize && (!scratch || scratch_size / 4 < plane)) ONNX_FAIL("onnx qlinear conv: scratch smaller than an output plane");
    if (requantize) onnx_out_range(ctx, node, ty.dtype, &lo, &hi);
    for (int32_t b = 0; b < g.n; b++)
        for (int32_t oc = 0; oc < g.m; oc++) {
            uint32_t first = ((uint32_t)b * (uint32_t)g.m + (uint32_t)oc) * plane;
            /* ConvInteger sums straight into its int32 output; QLinearConv into the scratch plane */
            uint32_t *acc = requantize ? scratch : (uint32_t *)y + first;
            int_plane(&g, x, tx.dtype, xzp, w, tw.dtype, wzp[nw > 1 ? oc : 0], b, oc, acc);
            if (!requantize) continue;
            uint32_t add = bias ? (uint32_t)bias[oc] : 0u;
            float m = mult[nm > 1 ? oc : 0];
            for (uint32_t i = 0; i < plane; i++)
                onnx_put_q8(y, ty.dtype, first + i, onnx_requant(onnx_wrap32(acc[i] + add), m, yzp, lo, hi));
        }
    return ERT_OK;
}

ert_status ert_k_onnx_qlinear_conv(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    (void)activity;
    return int_conv(ctx, node, 1);
}

ert_status ert_k_onnx_conv_integer(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    (void)activity;
    return int_conv(ctx, node, 0);
}

/* Float: the output plane itself accumulates, tap by tap in the order (channel, ky, kx) from
 * +0.0, then the bias is added: each output sees the same sequence of roundings as the reference. */
ert_status ert_k_onnx_conv_f32(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    onnx_geom g;
    ert_status s = onnx_geom_get(ctx, node, 1, &g);
    (void)activity;
    if (s != ERT_OK) return s;
    const float *x = (const float *)ert_input(ctx, node, 0, NULL);
    const float *w = (const float *)ert_input(ctx, node, 1, NULL);
    const float *bias = (const float *)ert_input(ctx, node, 2, NULL);
    float *y = (float *)ert_output(ctx, node, 0, NULL);
    int32_t cg = g.c / g.group, mg = g.m / g.group;
    uint32_t plane = (uint32_t)(g.oh * g.ow);
    for (int32_t b = 0; b < g.n; b++)
        for (int32_t oc = 0; oc < g.m; oc++) {
            float *acc = y + ((uint32_t)b * (uint32_t)g.m + (uint32_t)oc) * plane;
            for (uint32_t i = 0; i < plane; i++) acc[i] = 0.0f;
            for (int32_t ci = 0; ci < cg; ci++) {
                const float *xp = x + ((uint32_t)b * (uint32_t)g.c + (uint32_t)((oc / mg) * cg + ci)) * (uint32_t)(g.h * g.w);
                const float *wp = w + ((uint32_t)oc * (uint32_t)cg + (uint32_t)ci) * (uint32_t)(g.kh * g.kw);
                for (int32_t ky = 0; ky < g.kh; ky++) {
                    int32_t ylo, yhi;
                    tap_span(g.oh, g.sh, g.pt, (int64_t)ky * g.dh, g.h, &ylo, &yhi);
                    for (int32_t kx = 0; kx < g.kw; kx++) {
                        int32_t xlo, xhi;
                        float wv = wp[ky * g.kw + kx];
                        int64_t kd = (int64_t)kx * g.dw;
                        tap_span(g.ow, g.sw, g.pl, kd, g.w, &xlo, &xhi);
                        if (xlo >= xhi) continue;
                        int32_t shift = (int32_t)(kd - g.pl);
                        for (int32_t oy = ylo; oy < yhi; oy++) {
                            const float *xr = xp + (oy * g.sh - g.pt + ky * g.dh) * g.w;
                            float *arow = acc + (uint32_t)oy * (uint32_t)g.ow;
                            for (int32_t ox = xlo; ox < xhi; ox++) arow[ox] += xr[ox * g.sw + shift] * wv;
                        }
                    }
                }
            }
            if (bias)
                for (uint32_t i = 0; i < plane; i++) acc[i] += bias[oc];
        }
    return ERT_OK;
}
