/* TFLite int8 AVERAGE_POOL_2D and MAX_POOL_2D: windows clipped to the image; the average
 * rounds half away from zero (C truncating division with +-count/2), no rescale. */
#include <stddef.h>
#include "ert_kernels.h"
#include "tflite_common.h"

#define POOL_BLOCK 64

typedef struct {
    tfl_geom g;
    int32_t act_min, act_max;
    const int8_t *x;
    int8_t *y;
} pool_args;

static ert_status pool_args_get(ert_ctx *ctx, uint32_t node, pool_args *a)
{
    ert_tensor t;
    ert_status s = tfl_geom_get(ctx, node, TFL_POOL, ERT_INT8, &a->g);
    if (s != ERT_OK) return s;
    a->act_min = ert_attr_i32(ctx, node, "act_min", -128);
    a->act_max = ert_attr_i32(ctx, node, "act_max", 127);
    if (a->act_min < -128 || a->act_max > 127 || a->act_min > a->act_max)
        return ert_fail(ctx, node, ERT_E_SHAPE, "activation range outside int8");
    a->x = ert_input(ctx, node, 0, &t);
    a->y = ert_output(ctx, node, 0, &t);
    return ERT_OK;
}

ert_status ert_check_int8_pool(ert_ctx *ctx, uint32_t node)
{
    pool_args a = {0};
    return pool_args_get(ctx, node, &a);
}

static ert_status pool(ert_ctx *ctx, uint32_t node, int average)
{
    pool_args a = {0};
    ert_status s = pool_args_get(ctx, node, &a);
    const tfl_geom *g = &a.g;
    int32_t acc[POOL_BLOCK];
    if (s != ERT_OK) return s;
    for (int32_t n = 0; n < g->n; n++)
    for (int32_t oy = 0; oy < g->oh; oy++)
    for (int32_t ox = 0; ox < g->ow; ox++) {
        int32_t iy0 = oy * g->sh - g->ph, ix0 = ox * g->sw - g->pw;
        int32_t y_lo = iy0 < 0 ? 0 : iy0, y_hi = iy0 + g->kh > g->h ? g->h : iy0 + g->kh;
        int32_t x_lo = ix0 < 0 ? 0 : ix0, x_hi = ix0 + g->kw > g->w ? g->w : ix0 + g->kw;
        int32_t count = (y_hi - y_lo) * (x_hi - x_lo);
        int8_t *out = a.y + (((size_t)n * g->oh + oy) * g->ow + ox) * g->cout;
        if (y_hi <= y_lo || x_hi <= x_lo)
            return ert_fail(ctx, node, ERT_E_KERNEL, "pooling window lies entirely outside the image");
        for (int32_t c0 = 0; c0 < g->cin; c0 += POOL_BLOCK) {
            int32_t nb = g->cin - c0 < POOL_BLOCK ? g->cin - c0 : POOL_BLOCK;
            for (int32_t i = 0; i < nb; i++) acc[i] = average ? 0 : -128;
            for (int32_t iy = y_lo; iy < y_hi; iy++)
                for (int32_t ix = x_lo; ix < x_hi; ix++) {
                    const int8_t *px = a.x + (((size_t)n * g->h + iy) * g->w + ix) * g->cin + c0;
                    if (average)
                        for (int32_t i = 0; i < nb; i++) acc[i] += px[i];
                    else
                        for (int32_t i = 0; i < nb; i++) acc[i] = px[i] > acc[i] ? px[i] : acc[i];
                }
            for (int32_t i = 0; i < nb; i++) {
                int32_t v = acc[i];
                if (average) v = v > 0 ? (v + count / 2) / count : (v - count / 2) / count;
                out[c0 + i] = (int8_t)tfl_clamp(v, a.act_min, a.act_max);
            }
        }
    }
    return ERT_OK;
}

ert_status ert_k_int8_avgpool(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    (void)activity;
    return pool(ctx, node, 1);
}

ert_status ert_k_int8_maxpool(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    (void)activity;
    return pool(ctx, node, 0);
}
