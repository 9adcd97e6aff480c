/* TFLite float32 FULLY_CONNECTED_F32, AVERAGE_POOL_2D_F32, MAX_POOL_2D_F32, ADD_F32 and
 * SOFTMAX_F32 (TFLM reference arithmetic; exp from ert_math.h, no libm). */
#include <stddef.h>
#include "ert_kernels.h"
#include "ert_math.h"
#include "tflite_common.h"

static void act_range(ert_ctx *ctx, uint32_t node, float *lo, float *hi)
{
    *lo = ert_attr_f32(ctx, node, "act_min", -3.4e38f);
    *hi = ert_attr_f32(ctx, node, "act_max", 3.4e38f);
}

/* ---- FULLY_CONNECTED_F32 ----------------------------------------------------------- */

typedef struct {
    int32_t batches, units, depth;
    const float *x, *w, *bias;
    float *y;
} fcf_args;

static ert_status fcf_args_get(ert_ctx *ctx, uint32_t node, fcf_args *a)
{
    ert_tensor x, w, y;
    a->x = ert_input(ctx, node, 0, &x);
    a->w = ert_input(ctx, node, 1, &w);
    a->y = ert_output(ctx, node, 0, &y);
    if (!a->x || !a->w || x.dtype != ERT_FLOAT32 || w.dtype != ERT_FLOAT32 || y.dtype != ERT_FLOAT32 || w.rank != 2)
        return ert_fail(ctx, node, ERT_E_SHAPE, "FULLY_CONNECTED_F32 needs float32 input, [units, depth] weights, output");
    a->units = w.shape[0];
    a->depth = w.shape[1];
    if (a->units < 1 || a->depth < 1 || (x.nbytes / 4) % (uint32_t)a->depth)
        return ert_fail(ctx, node, ERT_E_SHAPE, "input size is not a multiple of the weights' depth");
    a->batches = (int32_t)(x.nbytes / 4 / (uint32_t)a->depth);
    if ((uint64_t)a->batches * (uint64_t)a->units * 4u != y.nbytes)
        return ert_fail(ctx, node, ERT_E_SHAPE, "output size != batches x units");
    a->bias = tfl_vector(ctx, node, 2, ERT_FLOAT32, (uint32_t)a->units);
    if (!a->bias) return ert_fail(ctx, node, ERT_E_SHAPE, "input 2 (bias) must be float32[units]");
    return ERT_OK;
}

ert_status ert_check_float_fc(ert_ctx *ctx, uint32_t node)
{
    fcf_args a = {0};
    return fcf_args_get(ctx, node, &a);
}

ert_status ert_k_float_fc(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    fcf_args a = {0};
    float lo, hi;
    ert_status s = fcf_args_get(ctx, node, &a);
    (void)activity;
    if (s != ERT_OK) return s;
    act_range(ctx, node, &lo, &hi);
    for (int32_t b = 0; b < a.batches; b++)
        for (int32_t o = 0; o < a.units; o++) {
            const float *w = a.w + (size_t)o * a.depth, *x = a.x + (size_t)b * a.depth;
            float acc = 0.0f;
            for (int32_t k = 0; k < a.depth; k++) acc += w[k] * x[k];
            a.y[(size_t)b * a.units + o] = tfl_clampf(acc + a.bias[o], lo, hi);
        }
    return ERT_OK;
}

/* ---- pooling ------------------------------------------------------------------------ */

ert_status ert_check_float_pool(ert_ctx *ctx, uint32_t node)
{
    tfl_geom g;
    return tfl_geom_get(ctx, node, TFL_POOL, ERT_FLOAT32, &g);
}

static ert_status poolf(ert_ctx *ctx, uint32_t node, int average)
{
    tfl_geom g;
    ert_tensor t;
    float lo, hi;
    ert_status s = tfl_geom_get(ctx, node, TFL_POOL, ERT_FLOAT32, &g);
    if (s != ERT_OK) return s;
    const float *x = ert_input(ctx, node, 0, &t);
    float *y = ert_output(ctx, node, 0, &t);
    act_range(ctx, node, &lo, &hi);
    for (int32_t n = 0; n < g.n; n++)
    for (int32_t oy = 0; oy < g.oh; oy++)
    for (int32_t ox = 0; ox < g.ow; ox++) {
        int32_t iy0 = oy * g.sh - g.ph, ix0 = ox * g.sw - g.pw;
        int32_t y_lo = iy0 < 0 ? 0 : iy0, y_hi = iy0 + g.kh > g.h ? g.h : iy0 + g.kh;
        int32_t x_lo = ix0 < 0 ? 0 : ix0, x_hi = ix0 + g.kw > g.w ? g.w : ix0 + g.kw;
        float *out = y + (((size_t)n * g.oh + oy) * g.ow + ox) * g.cout;
        if (y_hi <= y_lo || x_hi <= x_lo)
            return ert_fail(ctx, node, ERT_E_KERNEL, "pooling window lies entirely outside the image");
        for (int32_t c = 0; c < g.cin; c++) out[c] = average ? 0.0f : -3.4e38f;
        for (int32_t iy = y_lo; iy < y_hi; iy++)
            for (int32_t ix = x_lo; ix < x_hi; ix++) {
                const float *px = x + (((size_t)n * g.h + iy) * g.w + ix) * g.cin;
                for (int32_t c = 0; c < g.cin; c++)
                    out[c] = average ? out[c] + px[c] : (px[c] > out[c] ? px[c] : out[c]);
            }
        float count = (float)((y_hi - y_lo) * (x_hi - x_lo));
        for (int32_t c = 0; c < g.cin; c++) out[c] = tfl_clampf(average ? out[c] / count : out[c], lo, hi);
    }
    return ERT_OK;
}

ert_status ert_k_float_avgpool(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    (void)activity;
    return poolf(ctx, node, 1);
}

ert_status ert_k_float_maxpool(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    (void)activity;
    return poolf(ctx, node, 0);
}

/* ---- ADD_F32 ------------------------------------------------------------------------ */

static ert_status addf_get(ert_ctx *ctx, uint32_t node, const float **a, const float **b, float **y, tfl_broadcast *bc)
{
    ert_tensor ta, tb, ty;
    *a = ert_input(ctx, node, 0, &ta);
    *b = ert_input(ctx, node, 1, &tb);
    *y = ert_output(ctx, node, 0, &ty);
    if (!*a || !*b || ta.dtype != ERT_FLOAT32 || tb.dtype != ERT_FLOAT32 || ty.dtype != ERT_FLOAT32 ||
        !tfl_broadcast_get(&ta, &tb, &ty, bc))
        return ert_fail(ctx, node, ERT_E_SHAPE, "ADD_F32 needs float32 inputs that broadcast to the output");
    return ERT_OK;
}

ert_status ert_check_float_add(ert_ctx *ctx, uint32_t node)
{
    const float *a, *b; float *y; tfl_broadcast bc;
    return addf_get(ctx, node, &a, &b, &y, &bc);
}

ert_status ert_k_float_add(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    const float *a, *b; float *y; tfl_broadcast bc;
    float lo, hi;
    ert_status s = addf_get(ctx, node, &a, &b, &y, &bc);
    (void)activity;
    if (s != ERT_OK) return s;
    act_range(ctx, node, &lo, &hi);
    for (size_t i = 0; i < bc.total; i++) {
        size_t oa = i, ob = i;
        if (!bc.same) tfl_broadcast_offsets(&bc, i, &oa, &ob);
        y[i] = tfl_clampf(a[oa] + b[ob], lo, hi);
    }
    return ERT_OK;
}

/* ---- SOFTMAX_F32 -------------------------------------------------------------------- */

ert_status ert_check_float_softmax(ert_ctx *ctx, uint32_t node)
{
    ert_tensor x, y;
    if (!ert_input(ctx, node, 0, &x) || !ert_output(ctx, node, 0, &y) || x.dtype != ERT_FLOAT32 ||
        y.dtype != ERT_FLOAT32 || x.nbytes != y.nbytes || x.rank < 1 || x.shape[x.rank - 1] < 1)
        return ert_fail(ctx, node, ERT_E_SHAPE, "SOFTMAX_F32 needs float32 input and output of one non-empty shape");
    return ERT_OK;
}

ert_status ert_k_float_softmax(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor xt, yt;
    ert_status s = ert_check_float_softmax(ctx, node);
    (void)activity;
    if (s != ERT_OK) return s;
    const float *x = ert_input(ctx, node, 0, &xt);
    float *y = ert_output(ctx, node, 0, &yt);
    float beta = ert_attr_f32(ctx, node, "beta", 1.0f);
    const size_t depth = (size_t)xt.shape[xt.rank - 1], rows = xt.nbytes / 4 / depth;
    for (size_t r = 0; r < rows; r++) {
        const float *in = x + r * depth;
        float *out = y + r * depth;
        float mx = in[0], total = 0.0f;
        for (size_t i = 1; i < depth; i++) mx = in[i] > mx ? in[i] : mx;
        for (size_t i = 0; i < depth; i++) total += out[i] = ert_expf((in[i] - mx) * beta);
        for (size_t i = 0; i < depth; i++) out[i] /= total;
    }
    return ERT_OK;
}
