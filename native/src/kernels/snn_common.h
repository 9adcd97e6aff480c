/* Helpers shared by the float and fixed-point spiking kernels (snn_float.c, snn_fixed.c):
 * shape checks and convolution geometry. Header-only (static) so each kernel file stays
 * self-contained for the firmware builds. */
#ifndef SNN_COMMON_H
#define SNN_COMMON_H

#include "ert.h"

#define FAIL(msg) return ert_fail(ctx, node, ERT_E_SHAPE, msg)

static inline uint32_t numel(const ert_tensor *t)
{
    uint32_t n = 1;
    for (uint32_t k = 0; k < t->rank; k++) n *= (uint32_t)t->shape[k];
    return n;
}

/* Batch and per-sample size of an activation of the given dtype (rank >= 2, batch first). */
static inline int act(const ert_tensor *t, uint32_t dtype, uint32_t *batch, uint32_t *per)
{
    *batch = *per = 0;
    if (t->dtype != dtype || t->rank < 2 || t->shape[0] < 1) return 0;
    *batch = (uint32_t)t->shape[0];
    *per = numel(t) / *batch;
    return 1;
}

/* Batch, inputs and outputs per sample of a linear op (shapes checked by linear_check). */
static inline void linear_sizes(ert_ctx *ctx, uint32_t node, uint32_t dtype, uint32_t *batch, uint32_t *nin,
                                uint32_t *nout)
{
    ert_tensor tx, ty;
    ert_input(ctx, node, 0, &tx);
    ert_output(ctx, node, 0, &ty);
    act(&tx, dtype, batch, nin);
    act(&ty, dtype, batch, nout);
}

typedef struct {
    uint32_t batch, cin, h, w, cout, cig, kh, kw, ho, wo, groups;
    int32_t sh, sw, ph, pw, dh, dw;
} conv_geom;

/* Spatial dims of a rank-3/4 tensor as (H, W). */
static inline int spatial(const ert_tensor *t, uint32_t *h, uint32_t *w)
{
    if (t->rank == 4) { *h = (uint32_t)t->shape[2]; *w = (uint32_t)t->shape[3]; return 1; }
    if (t->rank == 3) { *h = 1; *w = (uint32_t)t->shape[2]; return 1; }
    return 0;
}

static inline int ints2(ert_ctx *ctx, uint32_t node, const char *name, int32_t *a, int32_t *b, int32_t min)
{
    uint32_t n;
    const int32_t *v = ert_attr_i32s(ctx, node, name, &n);
    if (!v || n != 2 || v[0] < min || v[1] < min || v[0] > 65535 || v[1] > 65535) return 0;
    *a = v[0];
    *b = v[1];
    return 1;
}

/* Convolution geometry, checked: activations of dtype `act_t`, weight `w_t`, bias `b_t`. */
static inline ert_status conv_geometry(ert_ctx *ctx, uint32_t node, conv_geom *g, uint32_t act_t, uint32_t w_t,
                                       uint32_t b_t)
{
    ert_tensor x, w, y, b;
    if (!ert_input(ctx, node, 0, &x) || !ert_input(ctx, node, 1, &w) || !ert_output(ctx, node, 0, &y))
        FAIL("snn conv: input, weight or output absent");
    if (x.dtype != act_t || w.dtype != w_t || y.dtype != act_t || x.rank != y.rank
        || w.rank != x.rank || !spatial(&x, &g->h, &g->w) || !spatial(&y, &g->ho, &g->wo) || !spatial(&w, &g->kh, &g->kw))
        FAIL("snn conv: tensors have the wrong dtype or a rank other than 3 or 4");
    g->batch = (uint32_t)x.shape[0];
    g->cin = (uint32_t)x.shape[1];
    g->cout = (uint32_t)w.shape[0];
    g->cig = (uint32_t)w.shape[1];
    int32_t groups = ert_attr_i32(ctx, node, "groups", 1);
    if (!ints2(ctx, node, "stride", &g->sh, &g->sw, 1) || !ints2(ctx, node, "padding", &g->ph, &g->pw, 0)
        || !ints2(ctx, node, "dilation", &g->dh, &g->dw, 1) || groups < 1)
        return ert_fail(ctx, node, ERT_E_ATTR, "snn conv: bad stride, padding, dilation or groups");
    g->groups = (uint32_t)groups;
    if ((uint32_t)y.shape[0] != g->batch || (uint32_t)y.shape[1] != g->cout || g->cig * g->groups != g->cin
        || g->cout % g->groups)
        FAIL("snn conv: channels or batch do not match");
    /* every output position must come from the formula, as the numpy reference computes it */
    int64_t ho = ((int64_t)g->h + 2 * g->ph - (int64_t)g->dh * (g->kh - 1) - 1) / g->sh + 1;
    int64_t wo = ((int64_t)g->w + 2 * g->pw - (int64_t)g->dw * (g->kw - 1) - 1) / g->sw + 1;
    if (ho != g->ho || wo != g->wo) FAIL("snn conv: output size does not follow from kernel, stride, padding");
    if (ert_input(ctx, node, 2, &b) && (b.dtype != b_t || numel(&b) != g->cout)) FAIL("snn conv: bad bias");
    return ERT_OK;
}

/* A pooling node's window attrs: kernel, stride (>= 1) and padding (>= 0), as (H, W) pairs. */
static inline int pool_attrs(ert_ctx *ctx, uint32_t node, int32_t *kh, int32_t *kw, int32_t *sh, int32_t *sw,
                             int32_t *ph, int32_t *pw)
{
    return ints2(ctx, node, "kernel", kh, kw, 1) && ints2(ctx, node, "stride", sh, sw, 1)
           && ints2(ctx, node, "padding", ph, pw, 0);
}

/* Window sum over NCHW activations of dtype `act_t`; attrs kernel, stride, padding. */
static inline ert_status pool_check(ert_ctx *ctx, uint32_t node, uint32_t act_t)
{
    ert_tensor x, y;
    int32_t kh, kw, sh, sw, ph, pw;
    if (!ert_input(ctx, node, 0, &x) || !ert_output(ctx, node, 0, &y)) FAIL("snn pool: input or output absent");
    if (x.dtype != act_t || y.dtype != act_t || x.rank != 4 || y.rank != 4
        || x.shape[0] != y.shape[0] || x.shape[1] != y.shape[1])
        FAIL("snn pool: tensors must be NCHW of one dtype with the same N and C");
    if (!pool_attrs(ctx, node, &kh, &kw, &sh, &sw, &ph, &pw))
        return ert_fail(ctx, node, ERT_E_ATTR, "snn pool: bad kernel, stride or padding");
    if ((x.shape[2] + 2 * ph - kh) / sh + 1 != y.shape[2] || (x.shape[3] + 2 * pw - kw) / sw + 1 != y.shape[3]
        || x.shape[2] + 2 * ph < kh || x.shape[3] + 2 * pw < kw)
        FAIL("snn pool: output size does not follow from the window");
    return ERT_OK;
}

/* y = W x + b: activations `act_t`, W (out, in) or transposed (in, out) of `w_t`, bias `b_t`. */
static inline ert_status linear_check(ert_ctx *ctx, uint32_t node, int transposed, uint32_t act_t, uint32_t w_t,
                                      uint32_t b_t)
{
    ert_tensor x, w, b, y;
    uint32_t bx, nin, by, nout;
    if (!ert_input(ctx, node, 0, &x) || !ert_input(ctx, node, 1, &w) || !ert_output(ctx, node, 0, &y))
        FAIL("snn linear: input, weight or output absent");
    if (!act(&x, act_t, &bx, &nin) || !act(&y, act_t, &by, &nout) || bx != by) FAIL("snn linear: bad activations");
    if (w.dtype != w_t || w.rank != 2) FAIL("snn linear: weight must be a matrix of the op's weight dtype");
    if ((uint32_t)w.shape[transposed ? 0 : 1] != nin || (uint32_t)w.shape[transposed ? 1 : 0] != nout)
        FAIL("snn linear: weight shape does not match input/output");
    if (ert_input(ctx, node, 2, &b) && (b.dtype != b_t || numel(&b) != nout)) FAIL("snn linear: bad bias");
    return ERT_OK;
}

#endif
