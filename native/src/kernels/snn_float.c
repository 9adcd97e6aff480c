/* Spiking-network ops, float32 (the numpy reference is runtime/kernels/snn_ops.py).
 *
 * Sums accumulate in float32 in one fixed order (input index; for convolutions input channel,
 * kernel row, kernel column), starting from the bias, so host, Numba and boards agree bit for
 * bit. A zero input is skipped: that leaves the sum unchanged, so the event-driven and dense
 * paths agree too. Every shape is checked once at load time (the *_check functions); the
 * kernels then only index inside those shapes. Tensors carry the batch first. */
#include <string.h>
#include "ert_kernels.h"

#define FAIL(msg) return ert_fail(ctx, node, ERT_E_SHAPE, msg)

static uint32_t numel(const ert_tensor *t)
{
    uint32_t n = 1;
    for (uint32_t k = 0; k < t->rank; k++) n *= (uint32_t)t->shape[k];
    return n;
}

/* Batch and per-sample size of a float32 activation (rank >= 2, batch first). */
static int activation(const ert_tensor *t, uint32_t *batch, uint32_t *per)
{
    *batch = *per = 0;
    if (t->dtype != ERT_FLOAT32 || t->rank < 2 || t->shape[0] < 1) return 0;
    *batch = (uint32_t)t->shape[0];
    *per = numel(t) / *batch;
    return 1;
}

/* ---- SNN_LINEAR (W: out x in) and SNN_LINEAR_EVENT (W transposed: in x out) ---- */

static ert_status linear_check(ert_ctx *ctx, uint32_t node, int transposed)
{
    ert_tensor x, w, b, y;
    uint32_t bx, nin, by, nout;
    if (!ert_input(ctx, node, 0, &x) || !ert_input(ctx, node, 1, &w) || !ert_output(ctx, node, 0, &y))
        FAIL("snn linear: input, weight or output absent");
    if (!activation(&x, &bx, &nin) || !activation(&y, &by, &nout) || bx != by) FAIL("snn linear: bad activations");
    if (w.dtype != ERT_FLOAT32 || w.rank != 2) FAIL("snn linear: weight must be a float32 matrix");
    if ((uint32_t)w.shape[transposed ? 0 : 1] != nin || (uint32_t)w.shape[transposed ? 1 : 0] != nout)
        FAIL("snn linear: weight shape does not match input/output");
    if (ert_input(ctx, node, 2, &b) && (b.dtype != ERT_FLOAT32 || numel(&b) != nout)) FAIL("snn linear: bad bias");
    return ERT_OK;
}

ert_status ert_check_snn_linear(ert_ctx *ctx, uint32_t node) { return linear_check(ctx, node, 0); }
ert_status ert_check_snn_linear_event(ert_ctx *ctx, uint32_t node) { return linear_check(ctx, node, 1); }

/* Starts every output row at the bias (or zero); returns the sizes. */
static void linear_io(ert_ctx *ctx, uint32_t node, const float **x, const float **w, float **y,
                      uint32_t *batch, uint32_t *nin, uint32_t *nout)
{
    ert_tensor tx, ty, tb;
    *x = (const float *)ert_input(ctx, node, 0, &tx);
    *w = (const float *)ert_input(ctx, node, 1, NULL);
    *y = (float *)ert_output(ctx, node, 0, &ty);
    const float *bias = (const float *)ert_input(ctx, node, 2, &tb);
    activation(&tx, batch, nin);
    activation(&ty, batch, nout);
    for (uint32_t b = 0; b < *batch; b++)
        for (uint32_t o = 0; o < *nout; o++) (*y)[b * *nout + o] = bias ? bias[o] : 0.0f;
}

ert_status ert_k_snn_linear(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    const float *x, *w;
    float *y;
    uint32_t batch, nin, nout, events = 0;
    linear_io(ctx, node, &x, &w, &y, &batch, &nin, &nout);
    for (uint32_t b = 0; b < batch; b++) {
        const float *xb = x + b * nin;
        for (uint32_t i = 0; i < nin; i++) events += xb[i] != 0.0f;
        for (uint32_t o = 0; o < nout; o++) {
            const float *row = w + o * nin;
            float acc = y[b * nout + o];
            for (uint32_t i = 0; i < nin; i++) acc += xb[i] * row[i];
            y[b * nout + o] = acc;
        }
    }
    activity[0] = events;
    activity[1] = events * nout;
    return ERT_OK;
}

ert_status ert_k_snn_linear_event(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    const float *x, *wt;
    float *y;
    uint32_t batch, nin, nout, events = 0;
    linear_io(ctx, node, &x, &wt, &y, &batch, &nin, &nout);
    for (uint32_t b = 0; b < batch; b++) {
        float *yb = y + b * nout;
        for (uint32_t i = 0; i < nin; i++) {
            float xv = x[b * nin + i];
            if (xv == 0.0f) continue;
            const float *row = wt + i * nout;
            events++;
            for (uint32_t o = 0; o < nout; o++) yb[o] += xv * row[o];
        }
    }
    activity[0] = events;
    activity[1] = events * nout;
    return ERT_OK;
}

/* ---- SNN_CONV2D: NCHW (rank 4) or NCL (rank 3, the H = 1 case) ---- */

typedef struct {
    uint32_t batch, cin, h, w, cout, cig, kh, kw, ho, wo, groups;
    int32_t sh, sw, ph, pw, dh, dw;
} conv_geom;

/* Spatial dims of a rank-3/4 tensor as (H, W). */
static int spatial(const ert_tensor *t, uint32_t *h, uint32_t *w)
{
    if (t->rank == 4) { *h = (uint32_t)t->shape[2]; *w = (uint32_t)t->shape[3]; return 1; }
    if (t->rank == 3) { *h = 1; *w = (uint32_t)t->shape[2]; return 1; }
    return 0;
}

static int ints2(ert_ctx *ctx, uint32_t node, const char *name, int32_t *a, int32_t *b, int32_t min)
{
    uint32_t n;
    const int32_t *v = ert_attr_i32s(ctx, node, name, &n);
    if (!v || n != 2 || v[0] < min || v[1] < min || v[0] > 65535 || v[1] > 65535) return 0;
    *a = v[0];
    *b = v[1];
    return 1;
}

static ert_status conv_geometry(ert_ctx *ctx, uint32_t node, conv_geom *g)
{
    ert_tensor x, w, y, b;
    if (!ert_input(ctx, node, 0, &x) || !ert_input(ctx, node, 1, &w) || !ert_output(ctx, node, 0, &y))
        FAIL("snn conv: input, weight or output absent");
    if (x.dtype != ERT_FLOAT32 || w.dtype != ERT_FLOAT32 || y.dtype != ERT_FLOAT32 || x.rank != y.rank
        || w.rank != x.rank || !spatial(&x, &g->h, &g->w) || !spatial(&y, &g->ho, &g->wo) || !spatial(&w, &g->kh, &g->kw))
        FAIL("snn conv: tensors must be float32 of rank 3 or 4");
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
    if (ert_input(ctx, node, 2, &b) && (b.dtype != ERT_FLOAT32 || numel(&b) != g->cout)) FAIL("snn conv: bad bias");
    return ERT_OK;
}

ert_status ert_check_snn_conv2d(ert_ctx *ctx, uint32_t node)
{
    conv_geom g;
    return conv_geometry(ctx, node, &g);
}

ert_status ert_k_snn_conv2d(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    conv_geom g;
    ert_status s = conv_geometry(ctx, node, &g);
    if (s != ERT_OK) return s;
    const float *x = (const float *)ert_input(ctx, node, 0, NULL);
    const float *w = (const float *)ert_input(ctx, node, 1, NULL);
    const float *bias = (const float *)ert_input(ctx, node, 2, NULL);
    float *y = (float *)ert_output(ctx, node, 0, NULL);
    uint32_t cog = g.cout / g.groups, in_events = 0, events = 0;
    for (uint32_t i = 0; i < g.batch * g.cin * g.h * g.w; i++) in_events += x[i] != 0.0f;
    for (uint32_t b = 0; b < g.batch; b++)
        for (uint32_t co = 0; co < g.cout; co++) {
            uint32_t c0 = (co / cog) * g.cig;
            const float *wc = w + co * g.cig * g.kh * g.kw;
            for (uint32_t oy = 0; oy < g.ho; oy++)
                for (uint32_t ox = 0; ox < g.wo; ox++) {
                    float acc = bias ? bias[co] : 0.0f;
                    for (uint32_t ci = 0; ci < g.cig; ci++) {
                        const float *xc = x + (b * g.cin + c0 + ci) * g.h * g.w;
                        for (uint32_t ky = 0; ky < g.kh; ky++) {
                            int32_t iy = (int32_t)oy * g.sh - g.ph + (int32_t)ky * g.dh;
                            if (iy < 0 || iy >= (int32_t)g.h) continue;
                            for (uint32_t kx = 0; kx < g.kw; kx++) {
                                int32_t ix = (int32_t)ox * g.sw - g.pw + (int32_t)kx * g.dw;
                                if (ix < 0 || ix >= (int32_t)g.w) continue;
                                float xv = xc[iy * (int32_t)g.w + ix];
                                if (xv == 0.0f) continue;
                                acc += xv * wc[(ci * g.kh + ky) * g.kw + kx];
                                events++;
                            }
                        }
                    }
                    y[((b * g.cout + co) * g.ho + oy) * g.wo + ox] = acc;
                }
        }
    activity[0] = in_events;
    activity[1] = events;
    return ERT_OK;
}

/* ---- SNN_SUMPOOL2D: window sums (zero padding) times attr `scale` ---- */

ert_status ert_check_snn_sumpool2d(ert_ctx *ctx, uint32_t node)
{
    ert_tensor x, y;
    int32_t kh, kw, sh, sw, ph, pw;
    if (!ert_input(ctx, node, 0, &x) || !ert_output(ctx, node, 0, &y)) FAIL("snn pool: input or output absent");
    if (x.dtype != ERT_FLOAT32 || y.dtype != ERT_FLOAT32 || x.rank != 4 || y.rank != 4
        || x.shape[0] != y.shape[0] || x.shape[1] != y.shape[1])
        FAIL("snn pool: tensors must be float32 NCHW with the same N and C");
    if (!ints2(ctx, node, "kernel", &kh, &kw, 1) || !ints2(ctx, node, "stride", &sh, &sw, 1)
        || !ints2(ctx, node, "padding", &ph, &pw, 0))
        return ert_fail(ctx, node, ERT_E_ATTR, "snn pool: bad kernel, stride or padding");
    if ((x.shape[2] + 2 * ph - kh) / sh + 1 != y.shape[2] || (x.shape[3] + 2 * pw - kw) / sw + 1 != y.shape[3]
        || x.shape[2] + 2 * ph < kh || x.shape[3] + 2 * pw < kw)
        FAIL("snn pool: output size does not follow from the window");
    return ERT_OK;
}

ert_status ert_k_snn_sumpool2d(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor tx, ty;
    int32_t kh, kw, sh, sw, ph, pw;
    const float *x = (const float *)ert_input(ctx, node, 0, &tx);
    float *y = (float *)ert_output(ctx, node, 0, &ty);
    (void)activity;
    if (!ints2(ctx, node, "kernel", &kh, &kw, 1) || !ints2(ctx, node, "stride", &sh, &sw, 1)
        || !ints2(ctx, node, "padding", &ph, &pw, 0))
        return ert_fail(ctx, node, ERT_E_ATTR, "snn pool: bad kernel, stride or padding");
    float scale = ert_attr_f32(ctx, node, "scale", 1.0f);
    int32_t h = tx.shape[2], w = tx.shape[3], ho = ty.shape[2], wo = ty.shape[3];
    for (int32_t c = 0; c < tx.shape[0] * tx.shape[1]; c++)
        for (int32_t oy = 0; oy < ho; oy++)
            for (int32_t ox = 0; ox < wo; ox++) {
                float acc = 0.0f;
                for (int32_t ky = 0; ky < kh; ky++) {
                    int32_t iy = oy * sh - ph + ky;
                    if (iy < 0 || iy >= h) continue;
                    for (int32_t kx = 0; kx < kw; kx++) {
                        int32_t ix = ox * sw - pw + kx;
                        if (ix >= 0 && ix < w) acc += x[(c * h + iy) * w + ix];
                    }
                }
                y[(c * ho + oy) * wo + ox] = scale == 1.0f ? acc : acc * scale;
            }
    return ERT_OK;
}

/* ---- elementwise: SNN_ADD (n inputs), SNN_SCALE and SNN_THRESHOLD (per-element constant) ---- */

ert_status ert_check_snn_add(ert_ctx *ctx, uint32_t node)
{
    ert_tensor x, y;
    uint32_t b, n, by, ny;
    if (!ert_output(ctx, node, 0, &y) || !activation(&y, &by, &ny)) FAIL("snn add: bad output");
    for (uint32_t k = 0; ert_input_index(ctx, node, k) >= 0 || k == 0; k++)
        if (!ert_input(ctx, node, k, &x) || !activation(&x, &b, &n) || b != by || n != ny) FAIL("snn add: inputs differ from output");
    return ERT_OK;
}

ert_status ert_k_snn_add(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor ty;
    float *y = (float *)ert_output(ctx, node, 0, &ty);
    uint32_t n = numel(&ty);
    (void)activity;
    const float *x0 = (const float *)ert_input(ctx, node, 0, NULL);
    if (x0 != y) memmove(y, x0, n * sizeof(float));
    for (uint32_t k = 1; ert_input_index(ctx, node, k) >= 0; k++) {
        const float *x = (const float *)ert_input(ctx, node, k, NULL);
        for (uint32_t i = 0; i < n; i++) y[i] += x[i];
    }
    return ERT_OK;
}

/* Input 0 and output 0 are same-shaped activations; input 1 has one float32 per sample element. */
static ert_status per_element_check(ert_ctx *ctx, uint32_t node)
{
    ert_tensor x, c, y;
    uint32_t b, n, by, ny;
    if (!ert_input(ctx, node, 0, &x) || !ert_input(ctx, node, 1, &c) || !ert_output(ctx, node, 0, &y))
        FAIL("snn elementwise: input, constant or output absent");
    if (!activation(&x, &b, &n) || !activation(&y, &by, &ny) || b != by || n != ny
        || c.dtype != ERT_FLOAT32 || numel(&c) != n)
        FAIL("snn elementwise: shapes do not match");
    return ERT_OK;
}

ert_status ert_check_snn_elementwise(ert_ctx *ctx, uint32_t node) { return per_element_check(ctx, node); }

ert_status ert_k_snn_scale(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor tx;
    uint32_t batch, n;
    const float *x = (const float *)ert_input(ctx, node, 0, &tx);
    const float *s = (const float *)ert_input(ctx, node, 1, NULL);
    float *y = (float *)ert_output(ctx, node, 0, NULL);
    (void)activity;
    activation(&tx, &batch, &n);
    for (uint32_t b = 0; b < batch; b++)
        for (uint32_t i = 0; i < n; i++) y[b * n + i] = x[b * n + i] * s[i];
    return ERT_OK;
}

ert_status ert_k_snn_threshold(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor tx;
    uint32_t batch, n, spikes = 0;
    const float *x = (const float *)ert_input(ctx, node, 0, &tx);
    const float *th = (const float *)ert_input(ctx, node, 1, NULL);
    float *y = (float *)ert_output(ctx, node, 0, NULL);
    activation(&tx, &batch, &n);
    for (uint32_t b = 0; b < batch; b++)
        for (uint32_t i = 0; i < n; i++) {
            int z = x[b * n + i] > th[i];
            y[b * n + i] = z ? 1.0f : 0.0f;
            spikes += (uint32_t)z;
        }
    activity[0] = spikes;
    return ERT_OK;
}

/* ---- SNN_NEURON: one step of a LIF / IF / LI / I / CubaLIF / CubaLI population ---- */

enum { ALPHA, BETA, GAMMA, THRESHOLD, V_RESET, ALPHA_SYN, BETA_SYN };

ert_status ert_check_snn_neuron(ert_ctx *ctx, uint32_t node)
{
    ert_tensor x, p, v, out, vo, i, io;
    uint32_t b, n, bb, nn;
    int synapse = ert_attr_i32(ctx, node, "synapse", 0) != 0;
    if (!ert_input(ctx, node, 0, &x) || !ert_input(ctx, node, 1, &p) || !ert_input(ctx, node, 2, &v)
        || !ert_output(ctx, node, 0, &out) || !ert_output(ctx, node, 1, &vo))
        FAIL("snn neuron: input, params, state or output absent");
    if (!activation(&x, &b, &n)) FAIL("snn neuron: bad input");
    const ert_tensor *same[] = {&v, &out, &vo};
    for (int k = 0; k < 3; k++)
        if (!activation(same[k], &bb, &nn) || bb != b || nn != n) FAIL("snn neuron: state or output shape differs from input");
    if (p.dtype != ERT_FLOAT32 || p.rank != 2 || (uint32_t)p.shape[1] != n || p.shape[0] < (synapse ? 7 : 5))
        FAIL("snn neuron: params must be float32 (rows, neurons)");
    if (synapse) {
        if (!ert_input(ctx, node, 3, &i) || !ert_output(ctx, node, 2, &io) || !activation(&i, &bb, &nn) || bb != b
            || nn != n || !activation(&io, &bb, &nn) || bb != b || nn != n)
            FAIL("snn neuron: synaptic current state missing or misshaped");
    }
    return ERT_OK;
}

ert_status ert_k_snn_neuron(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor tx;
    uint32_t batch, n, spikes = 0;
    const float *x = (const float *)ert_input(ctx, node, 0, &tx);
    const float *p = (const float *)ert_input(ctx, node, 1, NULL);
    const float *v_in = (const float *)ert_input(ctx, node, 2, NULL);
    float *out = (float *)ert_output(ctx, node, 0, NULL);
    float *v_out = (float *)ert_output(ctx, node, 1, NULL);
    int synapse = ert_attr_i32(ctx, node, "synapse", 0) != 0;
    int spiking = ert_attr_i32(ctx, node, "spiking", 0) != 0;
    int subtract = ert_attr_i32(ctx, node, "reset", 0) == 1;
    int late = ert_attr_i32(ctx, node, "reset_next", 0) != 0;
    int cuba_new = ert_attr_i32(ctx, node, "cuba_new", 0) != 0;
    const float *i_in = synapse ? (const float *)ert_input(ctx, node, 3, NULL) : NULL;
    float *i_out = synapse ? (float *)ert_output(ctx, node, 2, NULL) : NULL;
    activation(&tx, &batch, &n);
    const float *alpha = p + ALPHA * n, *beta = p + BETA * n, *gamma = p + GAMMA * n;
    const float *th = p + THRESHOLD * n, *v_reset = p + V_RESET * n;
    for (uint32_t b = 0; b < batch; b++)
        for (uint32_t k = 0; k < n; k++) {
            uint32_t e = b * n + k;
            float v = v_in[e], drive = x[e];
            int fired = spiking && late && v > th[k];
            if (fired && !subtract) v = v_reset[k];
            if (synapse) {
                float i_new = p[ALPHA_SYN * n + k] * i_in[e] + p[BETA_SYN * n + k] * x[e];
                drive = cuba_new ? i_new : i_in[e];
                i_out[e] = i_new;
            }
            v = alpha[k] * v + beta[k] * drive + gamma[k];
            if (fired && subtract) v = v - th[k];
            if (spiking) {
                int z = v > th[k];
                if (z && !late) v = subtract ? v - th[k] : v_reset[k];
                out[e] = z ? 1.0f : 0.0f;
                spikes += (uint32_t)z;
            } else {
                out[e] = v;
            }
            v_out[e] = v;
        }
    activity[0] = batch * n;
    activity[1] = spikes;
    return ERT_OK;
}

/* ---- SNN_DELAY: y(t) = x(t - steps[k]); buffer (D, B, N) holds x(t-1) .. x(t-D) ---- */

ert_status ert_check_snn_delay(ert_ctx *ctx, uint32_t node)
{
    ert_tensor x, s, buf, y, bo;
    uint32_t b, n, bb, nn;
    if (!ert_input(ctx, node, 0, &x) || !ert_input(ctx, node, 1, &s) || !ert_input(ctx, node, 2, &buf)
        || !ert_output(ctx, node, 0, &y) || !ert_output(ctx, node, 1, &bo))
        FAIL("snn delay: input, steps, buffer or output absent");
    if (!activation(&x, &b, &n) || !activation(&y, &bb, &nn) || bb != b || nn != n) FAIL("snn delay: bad input/output");
    if (s.dtype != ERT_INT32 || s.storage != ERT_CONST || numel(&s) != n) FAIL("snn delay: steps must be int32 constants, one per element");
    if (buf.dtype != ERT_FLOAT32 || buf.rank != 3 || (uint32_t)buf.shape[1] != b || (uint32_t)buf.shape[2] != n
        || buf.shape[0] < 1 || bo.nbytes != buf.nbytes)
        FAIL("snn delay: buffer must be float32 (D, batch, elements)");
    const int32_t *steps = (const int32_t *)ert_input(ctx, node, 1, NULL);
    for (uint32_t k = 0; k < n; k++)
        if (steps[k] < 0 || steps[k] > buf.shape[0]) FAIL("snn delay: a delay exceeds the buffer");
    return ERT_OK;
}

ert_status ert_k_snn_delay(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor tx, tb;
    uint32_t batch, n;
    const float *x = (const float *)ert_input(ctx, node, 0, &tx);
    const int32_t *steps = (const int32_t *)ert_input(ctx, node, 1, NULL);
    const float *buf_in = (const float *)ert_input(ctx, node, 2, &tb);
    float *y = (float *)ert_output(ctx, node, 0, NULL);
    float *buf = (float *)ert_output(ctx, node, 1, NULL);
    (void)activity;
    activation(&tx, &batch, &n);
    uint32_t plane = batch * n, depth = (uint32_t)tb.shape[0];
    for (uint32_t b = 0; b < batch; b++)
        for (uint32_t k = 0; k < n; k++)
            y[b * n + k] = steps[k] ? buf_in[(uint32_t)(steps[k] - 1) * plane + b * n + k] : x[b * n + k];
    if (buf != buf_in) memmove(buf, buf_in, depth * plane * sizeof(float));
    memmove(buf + plane, buf, (depth - 1) * plane * sizeof(float));
    memcpy(buf, x, plane * sizeof(float));
    return ERT_OK;
}
