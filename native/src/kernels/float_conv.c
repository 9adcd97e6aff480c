/* TFLite float32 CONV_2D_F32 and DEPTHWISE_CONV_2D_F32: taps outside the image are skipped,
 * sum then bias then the fused-activation clamp [act_min, act_max], as TFLM's reference (each
 * output channel sums its taps in TFLM's order; the loops run over channels innermost). */
#include <stddef.h>
#include "ert_kernels.h"
#include "tflite_common.h"

typedef struct {
    tfl_geom g;
    const float *x, *w, *bias;
    float *y;
    float lo, hi;
} convf_args;

static ert_status convf_args_get(ert_ctx *ctx, uint32_t node, int kind, convf_args *a)
{
    ert_tensor t;
    ert_status s = tfl_geom_get(ctx, node, kind, ERT_FLOAT32, &a->g);
    if (s != ERT_OK) return s;
    a->x = ert_input(ctx, node, 0, &t);
    a->w = ert_input(ctx, node, 1, &t);
    a->y = ert_output(ctx, node, 0, &t);
    a->bias = tfl_vector(ctx, node, 2, ERT_FLOAT32, (uint32_t)a->g.cout);
    if (!a->bias) return ert_fail(ctx, node, ERT_E_SHAPE, "input 2 (bias) must be float32[C_out]");
    a->lo = ert_attr_f32(ctx, node, "act_min", -3.4e38f);
    a->hi = ert_attr_f32(ctx, node, "act_max", 3.4e38f);
    return ERT_OK;
}

ert_status ert_check_float_conv2d(ert_ctx *ctx, uint32_t node)
{
    convf_args a = {0};
    return convf_args_get(ctx, node, TFL_CONV, &a);
}

ert_status ert_check_float_depthwise(ert_ctx *ctx, uint32_t node)
{
    convf_args a = {0};
    return convf_args_get(ctx, node, TFL_DEPTHWISE, &a);
}

/* Shared by both ops: per output pixel, zero, accumulate the in-image taps, add bias, clamp. */
static ert_status convf(ert_ctx *ctx, uint32_t node, int kind)
{
    convf_args a = {0};
    ert_status s = convf_args_get(ctx, node, kind, &a);
    const tfl_geom *g = &a.g;
    if (s != ERT_OK) return s;
    for (int32_t n = 0; n < g->n; n++)
    for (int32_t oy = 0; oy < g->oh; oy++)
    for (int32_t ox = 0; ox < g->ow; ox++) {
        int32_t iy0 = oy * g->sh - g->ph, ix0 = ox * g->sw - g->pw;
        float *out = a.y + (((size_t)n * g->oh + oy) * g->ow + ox) * g->cout;
        for (int32_t oc = 0; oc < g->cout; oc++) out[oc] = 0.0f;
        for (int32_t ky = 0; ky < g->kh; ky++) {
            int32_t iy = iy0 + ky * g->dh;
            if (iy < 0 || iy >= g->h) continue;
            for (int32_t kx = 0; kx < g->kw; kx++) {
                int32_t ix = ix0 + kx * g->dw;
                if (ix < 0 || ix >= g->w) continue;
                const float *px = a.x + (((size_t)n * g->h + iy) * g->w + ix) * g->cin;
                if (kind == TFL_DEPTHWISE) {   /* filter [1, KH, KW, C_out] */
                    const float *wt = a.w + ((size_t)ky * g->kw + kx) * g->cout;
                    for (int32_t oc = 0; oc < g->cout; oc++) out[oc] += px[oc / g->mult] * wt[oc];
                } else {                       /* filter [KH, KW, C_in, C_out] */
                    const float *wt = a.w + ((size_t)ky * g->kw + kx) * g->cin * g->cout;
                    for (int32_t ic = 0; ic < g->cin; ic++)
                        for (int32_t oc = 0; oc < g->cout; oc++) out[oc] += px[ic] * wt[(size_t)ic * g->cout + oc];
                }
            }
        }
        for (int32_t oc = 0; oc < g->cout; oc++) out[oc] = tfl_clampf(out[oc] + a.bias[oc], a.lo, a.hi);
    }
    return ERT_OK;
}

ert_status ert_k_float_conv2d(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    (void)activity;
    return convf(ctx, node, TFL_CONV);
}

ert_status ert_k_float_depthwise(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    (void)activity;
    return convf(ctx, node, TFL_DEPTHWISE);
}
