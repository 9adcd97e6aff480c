/* TFLite int8 CONV_2D and DEPTHWISE_CONV_2D (TFLM reference arithmetic, bit-exact).
 *
 * acc = bias + sum w * (x - zp_in) over the taps inside the image. The importer folds the
 * zero-point term into input 3, bias_zp = bias - zp_in * sum(w), so acc = bias_zp + sum w * v
 * where v is the input, or zp_in for a tap outside the image (TFLM skips those taps: same
 * value). CONV_2D is a matrix product [pixels x K] . [C_out x K]^T with K = KH*KW*C_in, the
 * filter's own OHWI layout: a 1x1 unpadded conv reads its K values straight from the input,
 * any other gathers each pixel's window into a buffer of 4 pixels x K bytes: on the stack up to
 * K = GATHER_STACK (no arena cost), else in node scratch (the importer asks for it). Four pixels
 * share each filter row load; accumulators are requantized a row of channels at a time. */
#include <stddef.h>
#include "ert_kernels.h"
#include "tflite_common.h"

#define OC_BLOCK 64   /* output channels accumulated at once (stack buffers) */
#define PIX_BLOCK 4   /* output pixels sharing each filter row */
#define GATHER_STACK 512  /* largest window gathered on the stack (keep in step with the importer) */

typedef struct {
    tfl_geom g;
    tfl_requant q;
    const int8_t *x, *w;
    const int32_t *bias_zp;
    int8_t *y;
    int8_t *scratch;       /* CONV_2D window gather buffer in node scratch, NULL if on the stack or not needed */
} conv_args;

/* A 1x1 conv without padding reads each pixel's C_in values in place. */
static int conv_direct(const tfl_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->ph == 0 && g->pw == 0 &&
           (int64_t)(g->oh - 1) * g->sh < g->h && (int64_t)(g->ow - 1) * g->sw < g->w;
}

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
    a->scratch = NULL;
    if (kind == TFL_CONV && !conv_direct(&a->g) && (int64_t)a->g.kh * a->g.kw * a->g.cin > GATHER_STACK) {
        uint32_t size;
        a->scratch = ert_scratch(ctx, node, &size);
        if (!a->scratch || (uint64_t)size < (uint64_t)PIX_BLOCK * a->g.kh * a->g.kw * a->g.cin)
            return ert_fail(ctx, node, ERT_E_SHAPE, "CONV_2D with KH x KW x C_in > 512 needs 4 x that many bytes of node scratch");
    }
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

/* The K = KH*KW*C_in window of output pixel (n, oy, ox), taps outside the image = zp_in. */
static void gather_window(const conv_args *a, size_t pixel, int8_t *dst)
{
    const tfl_geom *g = &a->g;
    const int32_t ox = (int32_t)(pixel % (size_t)g->ow), oy = (int32_t)(pixel / (size_t)g->ow % (size_t)g->oh);
    const size_t n = pixel / ((size_t)g->ow * g->oh);
    const int32_t iy0 = oy * g->sh - g->ph, ix0 = ox * g->sw - g->pw;
    for (int32_t ky = 0; ky < g->kh; ky++) {
        int32_t iy = iy0 + ky * g->dh;
        for (int32_t kx = 0; kx < g->kw; kx++, dst += g->cin) {
            int32_t ix = ix0 + kx * g->dw;
            if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) {
                for (int32_t c = 0; c < g->cin; c++) dst[c] = (int8_t)a->q.zp_in;
            } else {
                const int8_t *src = a->x + ((n * g->h + iy) * g->w + ix) * g->cin;
                for (int32_t c = 0; c < g->cin; c++) dst[c] = src[c];
            }
        }
    }
}

/* acc[j][oc] = bias_zp[oc] + dot(w[oc], p_j) for 4 pixels j and nb channels. */
TFL_HOT static void dot_4xn(const int8_t *restrict p0, const int8_t *restrict p1, const int8_t *restrict p2,
                            const int8_t *restrict p3, const int8_t *restrict w, const int32_t *restrict bias_zp,
                            int32_t k_len, int32_t nb,
                            int32_t acc[PIX_BLOCK][OC_BLOCK])
{
    for (int32_t oc = 0; oc < nb; oc++) {
        const int8_t *wt = w + (size_t)oc * k_len;
        int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int32_t k = 0; k < k_len; k++) {
            int32_t wv = wt[k];
            s0 += wv * p0[k];
            s1 += wv * p1[k];
            s2 += wv * p2[k];
            s3 += wv * p3[k];
        }
        acc[0][oc] = s0 + bias_zp[oc];
        acc[1][oc] = s1 + bias_zp[oc];
        acc[2][oc] = s2 + bias_zp[oc];
        acc[3][oc] = s3 + bias_zp[oc];
    }
}

ert_status ert_k_int8_conv2d(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    conv_args a = {0};
    ert_status s = conv_args_get(ctx, node, TFL_CONV, &a);
    const tfl_geom *g = &a.g;
    int32_t acc[PIX_BLOCK][OC_BLOCK];
    int8_t stack_windows[PIX_BLOCK * GATHER_STACK];
    (void)activity;
    if (s != ERT_OK) return s;
    const int32_t k_len = g->kh * g->kw * g->cin;
    const size_t pixels = (size_t)g->n * g->oh * g->ow;
    int8_t *windows = a.scratch ? a.scratch : conv_direct(g) ? NULL : stack_windows;
    for (size_t p0 = 0; p0 < pixels; p0 += PIX_BLOCK) {
        const int8_t *rows[PIX_BLOCK];
        size_t valid = pixels - p0 < PIX_BLOCK ? pixels - p0 : PIX_BLOCK;
        for (size_t j = 0; j < PIX_BLOCK; j++) {
            size_t p = p0 + (j < valid ? j : valid - 1);   /* the tail repeats its last pixel */
            if (windows) {
                gather_window(&a, p, windows + j * (size_t)k_len);
                rows[j] = windows + j * (size_t)k_len;
            } else {
                size_t ox = p % (size_t)g->ow, oy = p / (size_t)g->ow % (size_t)g->oh, n = p / ((size_t)g->ow * g->oh);
                rows[j] = a.x + ((n * g->h + oy * (size_t)g->sh) * g->w + ox * (size_t)g->sw) * g->cin;
            }
        }
        for (int32_t oc0 = 0; oc0 < g->cout; oc0 += OC_BLOCK) {
            int32_t nb = g->cout - oc0 < OC_BLOCK ? g->cout - oc0 : OC_BLOCK;
            dot_4xn(rows[0], rows[1], rows[2], rows[3], a.w + (size_t)oc0 * k_len, a.bias_zp + oc0, k_len, nb, acc);
            for (size_t j = 0; j < valid; j++)
                tfl_requant_row(acc[j], a.y + (p0 + j) * g->cout + oc0, nb, a.q.mult + oc0, a.q.shift + oc0,
                                a.q.zp_out, a.q.act_min, a.q.act_max);
        }
    }
    return ERT_OK;
}

/* One output pixel of a depthwise conv: for each channel block, accumulate the taps (a tap
 * outside the image reads zp_in for every channel), then requantize. */
TFL_HOT static void depthwise_pixel(const conv_args *a, size_t n, int32_t oy, int32_t ox, int8_t *restrict out)
{
    const tfl_geom *g = &a->g;
    const int32_t iy0 = oy * g->sh - g->ph, ix0 = ox * g->sw - g->pw, zp = a->q.zp_in, mult = g->mult;
    int32_t acc[OC_BLOCK];
    for (int32_t c0 = 0; c0 < g->cout; c0 += OC_BLOCK) {
        const int32_t nb = g->cout - c0 < OC_BLOCK ? g->cout - c0 : OC_BLOCK;
        for (int32_t i = 0; i < nb; i++) acc[i] = a->bias_zp[c0 + i];
        for (int32_t ky = 0; ky < g->kh; ky++) {
            const int32_t iy = iy0 + ky * g->dh;
            for (int32_t kx = 0; kx < g->kw; kx++) {
                const int32_t ix = ix0 + kx * g->dw;
                const int8_t *restrict wt = a->w + ((size_t)ky * g->kw + kx) * g->cout + c0;
                if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) {
                    for (int32_t i = 0; i < nb; i++) acc[i] += wt[i] * zp;
                    continue;
                }
                const int8_t *restrict px = a->x + ((n * g->h + iy) * g->w + ix) * g->cin;
                if (mult == 1) {
                    px += c0;
                    for (int32_t i = 0; i < nb; i++) acc[i] += wt[i] * px[i];
                } else {
                    for (int32_t i = 0; i < nb; i++) acc[i] += wt[i] * px[(c0 + i) / mult];
                }
            }
        }
        tfl_requant_row(acc, out + c0, nb, a->q.mult + c0, a->q.shift + c0, a->q.zp_out, a->q.act_min, a->q.act_max);
    }
}

ert_status ert_k_int8_depthwise(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    conv_args a = {0};
    ert_status s = conv_args_get(ctx, node, TFL_DEPTHWISE, &a);
    const tfl_geom *g = &a.g;
    (void)activity;
    if (s != ERT_OK) return s;
    for (int32_t n = 0; n < g->n; n++)
        for (int32_t oy = 0; oy < g->oh; oy++)
            for (int32_t ox = 0; ox < g->ow; ox++)
                depthwise_pixel(&a, (size_t)n, oy, ox, a.y + (((size_t)n * g->oh + oy) * g->ow + ox) * g->cout);
    return ERT_OK;
}
