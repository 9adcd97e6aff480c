/* Spiking-network ops, float32 (the numpy reference is runtime/kernels/snn_ops.py).
 *
 * Sums accumulate in float32 in one fixed order (input index; for convolutions input channel,
 * kernel row, kernel column), starting from the bias, so host, Numba and boards agree bit for
 * bit. A zero input is skipped: that leaves the sum unchanged, so the event-driven and dense
 * paths agree too. Every shape is checked once at load time (the *_check functions); the
 * kernels then only index inside those shapes. Tensors carry the batch first. */
#include <string.h>
#include "ert_kernels.h"
#include "snn_common.h"
#include "snn_loops.h"

#define activation(t, batch, per) act((t), ERT_FLOAT32, (batch), (per))

/* ---- SNN_LINEAR (dense) and SNN_LINEAR_EVENT (event-driven); W transposed: in x out ---- */

ert_status ert_check_snn_linear(ert_ctx *ctx, uint32_t node)
{ return linear_check(ctx, node, 1, ERT_FLOAT32, ERT_FLOAT32, ERT_FLOAT32); }

#define SAME(a) (a)

static ert_status linear(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY], int skip)
{
    uint32_t batch, nin, nout, events = 0;
    const float *x = (const float *)ert_input(ctx, node, 0, NULL);
    const float *wt = (const float *)ert_input(ctx, node, 1, NULL);
    const float *bias = (const float *)ert_input(ctx, node, 2, NULL);
    float *y = (float *)ert_output(ctx, node, 0, NULL);
    linear_sizes(ctx, node, ERT_FLOAT32, &batch, &nin, &nout);
    /* float sums accumulate in the output rows themselves */
    SNN_LINEAR_ROWS(float, float, float, SAME, skip, y + b_ * nout, x, wt, bias, y, batch, nin, nout, events);
    activity[0] = events;
    activity[1] = events * nout;
    return ERT_OK;
}

ert_status ert_k_snn_linear(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{ return linear(ctx, node, activity, 0); }

ert_status ert_k_snn_linear_event(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{ return linear(ctx, node, activity, 1); }

/* ---- SNN_CONV2D: NCHW (rank 4) or NCL (rank 3, the H = 1 case) ---- */

ert_status ert_check_snn_conv2d(ert_ctx *ctx, uint32_t node)
{
    conv_geom g;
    return conv_geometry(ctx, node, &g, ERT_FLOAT32, ERT_FLOAT32, ERT_FLOAT32);
}

ert_status ert_k_snn_conv2d(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    conv_geom g;
    uint32_t in_events = 0, events = 0;
    ert_status s = conv_geometry(ctx, node, &g, ERT_FLOAT32, ERT_FLOAT32, ERT_FLOAT32);
    if (s != ERT_OK) return s;
    const float *x = (const float *)ert_input(ctx, node, 0, NULL);
    const float *w = (const float *)ert_input(ctx, node, 1, NULL);
    const float *bias = (const float *)ert_input(ctx, node, 2, NULL);
    float *y = (float *)ert_output(ctx, node, 0, NULL);
    SNN_CONV_DENSE(float, float, float, SAME, g, x, w, bias, y, in_events, events);
    activity[0] = in_events;
    activity[1] = events;
    return ERT_OK;
}

/* SNN_CONV2D_EVENT: every non-zero input adds into the outputs it reaches (cost ~ spikes).
 * Inputs visited in (channel, row, column) order add each output's terms in the dense
 * kernel's (channel, kernel row, kernel column) order: the same bits. */
ert_status ert_k_snn_conv2d_event(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    conv_geom g;
    ert_status s = conv_geometry(ctx, node, &g, ERT_FLOAT32, ERT_FLOAT32, ERT_FLOAT32);
    if (s != ERT_OK) return s;
    const float *x = (const float *)ert_input(ctx, node, 0, NULL);
    const float *w = (const float *)ert_input(ctx, node, 1, NULL);
    const float *bias = (const float *)ert_input(ctx, node, 2, NULL);
    float *y = (float *)ert_output(ctx, node, 0, NULL);
    uint32_t cog = g.cout / g.groups, plane = g.ho * g.wo, in_events = 0, events = 0;
    for (uint32_t b = 0; b < g.batch; b++) {
        float *yb = y + b * g.cout * plane;
        for (uint32_t co = 0; co < g.cout; co++)
            for (uint32_t k = 0; k < plane; k++) yb[co * plane + k] = bias ? bias[co] : 0.0f;
        for (uint32_t ci = 0; ci < g.cin; ci++) {
            uint32_t co0 = (ci / g.cig) * cog, cl = ci % g.cig;
            const float *xc = x + (b * g.cin + ci) * g.h * g.w;
            for (uint32_t iy = 0; iy < g.h; iy++)
                for (uint32_t ix = 0; ix < g.w; ix++) {
                    float xv = xc[iy * g.w + ix];
                    if (xv == 0.0f) continue;
                    in_events++;
                    for (uint32_t ky = 0; ky < g.kh; ky++) {
                        int32_t ny = (int32_t)iy + g.ph - (int32_t)ky * g.dh;
                        if (ny < 0 || ny % g.sh || (uint32_t)(ny / g.sh) >= g.ho) continue;
                        for (uint32_t kx = 0; kx < g.kw; kx++) {
                            int32_t nx = (int32_t)ix + g.pw - (int32_t)kx * g.dw;
                            if (nx < 0 || nx % g.sw || (uint32_t)(nx / g.sw) >= g.wo) continue;
                            uint32_t at = (uint32_t)(ny / g.sh) * g.wo + (uint32_t)(nx / g.sw);
                            for (uint32_t co = co0; co < co0 + cog; co++)
                                yb[co * plane + at] += xv * w[((co * g.cig + cl) * g.kh + ky) * g.kw + kx];
                            events += cog;
                        }
                    }
                }
        }
    }
    activity[0] = in_events;
    activity[1] = events;
    return ERT_OK;
}

/* ---- SNN_SUMPOOL2D: window sums (zero padding) times attr `scale` ---- */

ert_status ert_check_snn_sumpool2d(ert_ctx *ctx, uint32_t node) { return pool_check(ctx, node, ERT_FLOAT32); }

ert_status ert_k_snn_sumpool2d(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor tx, ty;
    int32_t kh, kw, sh, sw, ph, pw;
    const float *x = (const float *)ert_input(ctx, node, 0, &tx);
    float *y = (float *)ert_output(ctx, node, 0, &ty);
    (void)activity;
    if (!pool_attrs(ctx, node, &kh, &kw, &sh, &sw, &ph, &pw))
        return ert_fail(ctx, node, ERT_E_ATTR, "snn pool: bad kernel, stride or padding");
    float scale = ert_attr_f32(ctx, node, "scale", 1.0f);
#define SCALED(a) (scale == 1.0f ? (a) : (a) * scale)
    SNN_POOL_SUMS(float, float, SCALED, x, y, tx, ty, kh, kw, sh, sw, ph, pw)
#undef SCALED
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

/* ---- SNN_DELAY: y(t) = x(t - steps[k]); buffer (D, B, N) holds x(t-1) .. x(t-D). Moves 32-bit
 * words, so it serves float32 and fixed-point (int32) models alike. ---- */

ert_status ert_check_snn_delay(ert_ctx *ctx, uint32_t node)
{
    ert_tensor x, s, buf, y, bo;
    uint32_t b, n, bb, nn;
    if (!ert_input(ctx, node, 0, &x) || !ert_input(ctx, node, 1, &s) || !ert_input(ctx, node, 2, &buf)
        || !ert_output(ctx, node, 0, &y) || !ert_output(ctx, node, 1, &bo))
        FAIL("snn delay: input, steps, buffer or output absent");
    if ((x.dtype != ERT_FLOAT32 && x.dtype != ERT_INT32) || !act(&x, x.dtype, &b, &n) || !act(&y, x.dtype, &bb, &nn)
        || bb != b || nn != n)
        FAIL("snn delay: input/output must be float32 or int32 of one shape");
    if (s.dtype != ERT_INT32 || s.storage != ERT_CONST || numel(&s) != n) FAIL("snn delay: steps must be int32 constants, one per element");
    if (buf.dtype != x.dtype || buf.rank != 3 || (uint32_t)buf.shape[1] != b || (uint32_t)buf.shape[2] != n
        || buf.shape[0] < 1 || bo.nbytes != buf.nbytes)
        FAIL("snn delay: buffer must be (D, batch, elements) of the input dtype");
    const int32_t *steps = (const int32_t *)ert_input(ctx, node, 1, NULL);
    for (uint32_t k = 0; k < n; k++)
        if (steps[k] < 0 || steps[k] > buf.shape[0]) FAIL("snn delay: a delay exceeds the buffer");
    return ERT_OK;
}

ert_status ert_k_snn_delay(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor tx, tb;
    uint32_t batch, n;
    const uint32_t *x = (const uint32_t *)ert_input(ctx, node, 0, &tx);
    const int32_t *steps = (const int32_t *)ert_input(ctx, node, 1, NULL);
    const uint32_t *buf_in = (const uint32_t *)ert_input(ctx, node, 2, &tb);
    uint32_t *y = (uint32_t *)ert_output(ctx, node, 0, NULL);
    uint32_t *buf = (uint32_t *)ert_output(ctx, node, 1, NULL);
    (void)activity;
    act(&tx, tx.dtype, &batch, &n);
    uint32_t plane = batch * n, depth = (uint32_t)tb.shape[0];
    for (uint32_t b = 0; b < batch; b++)
        for (uint32_t k = 0; k < n; k++)
            y[b * n + k] = steps[k] ? buf_in[(uint32_t)(steps[k] - 1) * plane + b * n + k] : x[b * n + k];
    if (buf != buf_in) memmove(buf, buf_in, depth * plane * sizeof(uint32_t));
    memmove(buf + plane, buf, (depth - 1) * plane * sizeof(uint32_t));
    memcpy(buf, x, plane * sizeof(uint32_t));
    return ERT_OK;
}
