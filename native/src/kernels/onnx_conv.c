/* ONNX 2-D convolution, NCHW: ONNX_QLINEAR_CONV, ONNX_CONV_INTEGER, ONNX_CONV_F32
 * (reference: runtime/kernels/onnx_conv.py). Out-of-bounds taps are skipped: padding holds
 * the zero point, which contributes nothing. Float sums run in the order (channel, ky, kx)
 * from +0.0 and add the bias last, as the reference does. */
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
    if (!ert_attr_f32s(ctx, node, "multiplier", &nm) || !onnx_vec_ok(nm, (uint32_t)g.m))
        ONNX_FAIL("onnx qlinear conv: multiplier count");
    if (has_bias && (b.dtype != ERT_INT32 || onnx_numel(&b) != (uint32_t)g.m)) ONNX_FAIL("onnx qlinear conv: bias");
    return ERT_OK;
}

ert_status ert_check_onnx_qlinear_conv(ert_ctx *ctx, uint32_t node) { return conv_check(ctx, node, 0); }
ert_status ert_check_onnx_conv_integer(ert_ctx *ctx, uint32_t node) { return conv_check(ctx, node, 1); }
ert_status ert_check_onnx_conv_f32(ert_ctx *ctx, uint32_t node) { return conv_check(ctx, node, 2); }

/* Sum over one output position's window of (x - xzp)(w - wzp), wrapping modulo 2^32. */
static uint32_t int_window(const onnx_geom *g, const void *x, uint8_t xt, int32_t xzp, const void *w, uint8_t wt,
                           int32_t wzp, int32_t b, int32_t oc, int32_t oy, int32_t ox)
{
    int32_t cg = g->c / g->group, ic0 = (oc / (g->m / g->group)) * cg;
    uint32_t acc = 0;
    for (int32_t ci = 0; ci < cg; ci++) {
        uint32_t xplane = ((uint32_t)b * (uint32_t)g->c + (uint32_t)(ic0 + ci)) * (uint32_t)(g->h * g->w);
        uint32_t wbase = ((uint32_t)oc * (uint32_t)cg + (uint32_t)ci) * (uint32_t)(g->kh * g->kw);
        for (int32_t ky = 0; ky < g->kh; ky++) {
            int64_t iy = (int64_t)oy * g->sh - g->pt + (int64_t)ky * g->dh;
            if (iy < 0 || iy >= g->h) continue;
            for (int32_t kx = 0; kx < g->kw; kx++) {
                int64_t ix = (int64_t)ox * g->sw - g->pl + (int64_t)kx * g->dw;
                if (ix < 0 || ix >= g->w) continue;
                int32_t xv = onnx_get(x, xt, xplane + (uint32_t)(iy * g->w + ix)) - xzp;
                int32_t wv = onnx_get(w, wt, wbase + (uint32_t)(ky * g->kw + kx)) - wzp;
                acc += (uint32_t)(xv * wv);
            }
        }
    }
    return acc;
}

static ert_status int_conv(ert_ctx *ctx, uint32_t node, int requantize)
{
    onnx_geom g;
    ert_tensor tx, tw, tb, ty;
    uint32_t nw, nm = 0;
    ert_status s = onnx_geom_get(ctx, node, 1, &g);
    if (s != ERT_OK) return s;
    const void *x = ert_input(ctx, node, 0, &tx);
    const void *w = ert_input(ctx, node, 1, &tw);
    const int32_t *bias = (const int32_t *)ert_input(ctx, node, 2, &tb);
    void *y = ert_output(ctx, node, 0, &ty);
    const int32_t *wzp = ert_attr_i32s(ctx, node, "w_zero_point", &nw);
    const float *mult = ert_attr_f32s(ctx, node, "multiplier", &nm);
    int32_t xzp = ert_attr_i32(ctx, node, "x_zero_point", 0), yzp = ert_attr_i32(ctx, node, "y_zero_point", 0);
    int32_t lo = 0, hi = 0;
    if (!wzp || !onnx_vec_ok(nw, (uint32_t)g.m) || (requantize && (!mult || !onnx_vec_ok(nm, (uint32_t)g.m))))
        ONNX_FAIL("onnx conv: per-channel attrs malformed");
    if (requantize) onnx_out_range(ctx, node, ty.dtype, &lo, &hi);
    uint32_t i = 0;
    for (int32_t b = 0; b < g.n; b++)
        for (int32_t oc = 0; oc < g.m; oc++) {
            int32_t wz = wzp[nw > 1 ? oc : 0];
            for (int32_t oy = 0; oy < g.oh; oy++)
                for (int32_t ox = 0; ox < g.ow; ox++, i++) {
                    uint32_t acc = int_window(&g, x, tx.dtype, xzp, w, tw.dtype, wz, b, oc, oy, ox);
                    if (!requantize) {
                        ((int32_t *)y)[i] = onnx_wrap32(acc);
                        continue;
                    }
                    if (bias) acc += (uint32_t)bias[oc];
                    onnx_put_q8(y, ty.dtype, i, onnx_requant(onnx_wrap32(acc), mult[nm > 1 ? oc : 0], yzp, lo, hi));
                }
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
    uint32_t i = 0;
    for (int32_t b = 0; b < g.n; b++)
        for (int32_t oc = 0; oc < g.m; oc++)
            for (int32_t oy = 0; oy < g.oh; oy++)
                for (int32_t ox = 0; ox < g.ow; ox++, i++) {
                    float acc = 0.0f;
                    for (int32_t ci = 0; ci < cg; ci++) {
                        const float *xp = x + ((uint32_t)b * (uint32_t)g.c + (uint32_t)((oc / mg) * cg + ci)) * (uint32_t)(g.h * g.w);
                        const float *wp = w + ((uint32_t)oc * (uint32_t)cg + (uint32_t)ci) * (uint32_t)(g.kh * g.kw);
                        for (int32_t ky = 0; ky < g.kh; ky++) {
                            int64_t iy = (int64_t)oy * g.sh - g.pt + (int64_t)ky * g.dh;
                            if (iy < 0 || iy >= g.h) continue;
                            for (int32_t kx = 0; kx < g.kw; kx++) {
                                int64_t ix = (int64_t)ox * g.sw - g.pl + (int64_t)kx * g.dw;
                                if (ix < 0 || ix >= g.w) continue;
                                acc += xp[iy * g.w + ix] * wp[ky * g.kw + kx];
                            }
                        }
                    }
                    y[i] = bias ? acc + bias[oc] : acc;
                }
    return ERT_OK;
}
