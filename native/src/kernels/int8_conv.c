/* TFLite int8 CONV_2D and DEPTHWISE_CONV_2D (TFLM reference arithmetic, bit-exact).
 *
 * acc = bias + sum w * (x - zp_in) over the taps inside the image. The importer folds the
 * zero-point term into input 3, bias_zp = bias - zp_in * sum(w), so a window that lies fully
 * inside the image needs only sum(w * x): contiguous int8 dot products that the compiler
 * vectorises. A tap outside the image reads zp_in instead (its correction then cancels),
 * which is the same as TFLM skipping it. */
#include <stddef.h>
#include "ert_kernels.h"
#include "tflite_common.h"

#define DW_BLOCK 64   /* depthwise channels accumulated at once (stack buffer) */

static inline int32_t dot_i8(const int8_t *a, const int8_t *b, int32_t n)
{
    int32_t s = 0;
    for (int32_t i = 0; i < n; i++) s += (int32_t)a[i] * (int32_t)b[i];
    return s;
}

static inline int32_t sum_i8(const int8_t *a, int32_t n)
{
    int32_t s = 0;
    for (int32_t i = 0; i < n; i++) s += a[i];
    return s;
}

typedef struct {
    tfl_geom g;
    tfl_requant q;
    const int8_t *x, *w;
    const int32_t *bias_zp;
    int8_t *y;
} conv_args;

static ert_status conv_args_get(ert_ctx *ctx, uint32_t node, int kind, conv_args *a)
{
    ert_status s;
    ert_tensor t;
    if ((s = tfl_geom_get(ctx, node, kind, ERT_INT8, &a->g)) != ERT_OK) return s;
    if ((s = tfl_requant_get(ctx, node, (uint32_t)a->g.cout, &a->q)) != ERT_OK) return s;
    a->x = ert_input(ctx, node, 0, &t);
    a->w = ert_input(ctx, node, 1, &t);
    a->y = ert_output(ctx, node, 0, &t);
    a->bias_zp = tfl_vector(ctx, node, 3, ERT_INT32, (uint32_t)a->g.cout);
    if (!a->bias_zp) return ert_fail(ctx, node, ERT_E_SHAPE, "input 3 (bias_zp) must be int32[C_out]");
    return ERT_OK;
}

ert_status ert_check_int8_conv2d(ert_ctx *ctx, uint32_t node)
{
    conv_args a = {0};
    return conv_args_get(ctx, node, TFL_CONV, &a);
}

ert_status ert_check_int8_depthwise(ert_ctx *ctx, uint32_t node)
{
    conv_args a = {0};
    return conv_args_get(ctx, node, TFL_DEPTHWISE, &a);
}

static inline int8_t requant(int32_t acc, const tfl_requant *q, int32_t c)
{
    return (int8_t)tfl_clamp(tfl_mbqm(acc, q->mult[c], q->shift[c]) + q->zp_out, q->act_min, q->act_max);
}

/* One output pixel of a window that may cross the border: tap by tap. */
static void conv_pixel_border(const conv_args *a, const int8_t *img, int32_t iy0, int32_t ix0, int8_t *out)
{
    const tfl_geom *g = &a->g;
    for (int32_t oc = 0; oc < g->cout; oc++) {
        int32_t acc = a->bias_zp[oc];
        for (int32_t ky = 0; ky < g->kh; ky++) {
            int32_t iy = iy0 + ky * g->dh;
            for (int32_t kx = 0; kx < g->kw; kx++) {
                int32_t ix = ix0 + kx * g->dw;
                const int8_t *wt = a->w + (((size_t)oc * g->kh + ky) * g->kw + kx) * g->cin;
                if (iy >= 0 && iy < g->h && ix >= 0 && ix < g->w)
                    acc += dot_i8(wt, img + ((size_t)iy * g->w + ix) * g->cin, g->cin);
                else
                    acc += a->q.zp_in * sum_i8(wt, g->cin);
            }
        }
        out[oc] = requant(acc, &a->q, oc);
    }
}

/* One output pixel whose window lies inside the image, dilation_w == 1: a filter row
 * (kw * cin values) is contiguous in both the filter and the image. */
static void conv_pixel_inside(const conv_args *a, const int8_t *img, int32_t iy0, int32_t ix0, int8_t *out)
{
    const tfl_geom *g = &a->g;
    const int32_t row = g->kw * g->cin;
    for (int32_t oc = 0; oc < g->cout; oc++) {
        const int8_t *wt = a->w + (size_t)oc * g->kh * row;
        int32_t acc = a->bias_zp[oc];
        for (int32_t ky = 0; ky < g->kh; ky++)
            acc += dot_i8(wt + (size_t)ky * row, img + ((size_t)(iy0 + ky * g->dh) * g->w + ix0) * g->cin, row);
        out[oc] = requant(acc, &a->q, oc);
    }
}

/* 1x1 stride-1 unpadded convolution: a [pixels x cin] by [cout x cin]^T matrix product,
 * four pixels at a time so each filter row is loaded once per four outputs. */
static void conv_1x1(const conv_args *a)
{
    const tfl_geom *g = &a->g;
    const size_t pixels = (size_t)g->n * g->h * g->w;
    const int32_t cin = g->cin, cout = g->cout;
    size_t p = 0;
    for (; p + 4 <= pixels; p += 4) {
        const int8_t *x0 = a->x + p * cin, *x1 = x0 + cin, *x2 = x1 + cin, *x3 = x2 + cin;
        int8_t *y = a->y + p * cout;
        for (int32_t oc = 0; oc < cout; oc++) {
            const int8_t *wt = a->w + (size_t)oc * cin;
            int32_t s0 = a->bias_zp[oc], s1 = s0, s2 = s0, s3 = s0;
            for (int32_t i = 0; i < cin; i++) {
                int32_t wv = wt[i];
                s0 += wv * x0[i]; s1 += wv * x1[i]; s2 += wv * x2[i]; s3 += wv * x3[i];
            }
            y[oc] = requant(s0, &a->q, oc);
            y[cout + oc] = requant(s1, &a->q, oc);
            y[2 * cout + oc] = requant(s2, &a->q, oc);
            y[3 * cout + oc] = requant(s3, &a->q, oc);
        }
    }
    for (; p < pixels; p++)
        for (int32_t oc = 0; oc < cout; oc++)
            a->y[p * cout + oc] = requant(a->bias_zp[oc] + dot_i8(a->w + (size_t)oc * cin, a->x + p * cin, cin), &a->q, oc);
}

ert_status ert_k_int8_conv2d(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    conv_args a = {0};
    ert_status s = conv_args_get(ctx, node, TFL_CONV, &a);
    const tfl_geom *g = &a.g;
    (void)activity;
    if (s != ERT_OK) return s;
    if (g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0 &&
        g->oh == g->h && g->ow == g->w) {
        conv_1x1(&a);
        return ERT_OK;
    }
    for (int32_t n = 0; n < g->n; n++) {
        const int8_t *img = a.x + (size_t)n * g->h * g->w * g->cin;
        for (int32_t oy = 0; oy < g->oh; oy++) {
            int32_t iy0 = oy * g->sh - g->ph;
            int rows_inside = iy0 >= 0 && iy0 + (g->kh - 1) * g->dh < g->h;
            for (int32_t ox = 0; ox < g->ow; ox++) {
                int32_t ix0 = ox * g->sw - g->pw;
                int8_t *out = a.y + (((size_t)n * g->oh + oy) * g->ow + ox) * g->cout;
                if (rows_inside && g->dw == 1 && ix0 >= 0 && ix0 + g->kw - 1 < g->w)
                    conv_pixel_inside(&a, img, iy0, ix0, out);
                else
                    conv_pixel_border(&a, img, iy0, ix0, out);
            }
        }
    }
    return ERT_OK;
}

ert_status ert_k_int8_depthwise(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    conv_args a = {0};
    ert_status s = conv_args_get(ctx, node, TFL_DEPTHWISE, &a);
    const tfl_geom *g = &a.g;
    int32_t acc[DW_BLOCK];
    (void)activity;
    if (s != ERT_OK) return s;
    for (int32_t n = 0; n < g->n; n++)
    for (int32_t oy = 0; oy < g->oh; oy++)
    for (int32_t ox = 0; ox < g->ow; ox++) {
        int32_t iy0 = oy * g->sh - g->ph, ix0 = ox * g->sw - g->pw;
        int8_t *out = a.y + (((size_t)n * g->oh + oy) * g->ow + ox) * g->cout;
        for (int32_t c0 = 0; c0 < g->cout; c0 += DW_BLOCK) {
            int32_t nb = g->cout - c0 < DW_BLOCK ? g->cout - c0 : DW_BLOCK;
            for (int32_t i = 0; i < nb; i++) acc[i] = a.bias_zp[c0 + i];
            for (int32_t ky = 0; ky < g->kh; ky++) {
                int32_t iy = iy0 + ky * g->dh;
                for (int32_t kx = 0; kx < g->kw; kx++) {
                    int32_t ix = ix0 + kx * g->dw;
                    const int8_t *wt = a.w + ((size_t)ky * g->kw + kx) * g->cout + c0;
                    if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) {
                        for (int32_t i = 0; i < nb; i++) acc[i] += wt[i] * a.q.zp_in;
                        continue;
                    }
                    const int8_t *px = a.x + (((size_t)n * g->h + iy) * g->w + ix) * g->cin;
                    if (g->mult == 1)
                        for (int32_t i = 0; i < nb; i++) acc[i] += wt[i] * px[c0 + i];
                    else
                        for (int32_t i = 0; i < nb; i++) acc[i] += wt[i] * px[(c0 + i) / g->mult];
                }
            }
            for (int32_t i = 0; i < nb; i++) out[c0 + i] = requant(acc[i], &a.q, c0 + i);
        }
    }
    return ERT_OK;
}
