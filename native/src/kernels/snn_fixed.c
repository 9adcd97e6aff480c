/* Spiking-network ops, fixed point (mode="fixed"; scheme in runtime/importers/snn_fixed.py,
 * numpy reference in runtime/kernels/snn_fixed.py): int32 activations, int16 weights, int64
 * sums saturated to int32, products rounded half up by an arithmetic right shift (what gcc
 * and clang do for signed >> on every target edgert builds for). No float anywhere. */
#include <string.h>
#include "ert_kernels.h"
#include "snn_common.h"
#include "snn_loops.h"

#define DECAY_SHIFT 30

static int32_t sat32(int64_t a)
{
    return a > INT32_MAX ? INT32_MAX : a < INT32_MIN ? INT32_MIN : (int32_t)a;
}

static int64_t rshr(int64_t a, int32_t s)
{
    return s == 0 ? a : (a + ((int64_t)1 << (s - 1))) >> s;
}

/* ---- SNN_LINEAR_FX (dense) and SNN_LINEAR_EVENT_FX (event-driven); W int16 transposed, in x
 * out; 64-bit sums of the whole batch in the node's scratch ---- */

ert_status ert_check_snn_linear_fx(ert_ctx *ctx, uint32_t node)
{
    ert_tensor y;
    uint32_t size, batch, nout;
    ert_status s = linear_check(ctx, node, 1, ERT_INT32, ERT_INT16, ERT_INT32);
    if (s != ERT_OK) return s;
    ert_output(ctx, node, 0, &y);
    act(&y, ERT_INT32, &batch, &nout);
    if (!ert_scratch(ctx, node, &size) || size / sizeof(int64_t) / batch < nout) FAIL("snn linear fx: scratch too small");
    return ERT_OK;
}

static ert_status linear_fx(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY], int skip)
{
    uint32_t batch, nin, nout, events = 0;
    const int32_t *x = (const int32_t *)ert_input(ctx, node, 0, NULL);
    const int16_t *wt = (const int16_t *)ert_input(ctx, node, 1, NULL);
    const int32_t *bias = (const int32_t *)ert_input(ctx, node, 2, NULL);
    int32_t *y = (int32_t *)ert_output(ctx, node, 0, NULL);
    int64_t *acc = (int64_t *)ert_scratch(ctx, node, NULL);
    linear_sizes(ctx, node, ERT_INT32, &batch, &nin, &nout);
    SNN_LINEAR_ROWS(int32_t, int16_t, int64_t, sat32, skip, acc + b_ * nout, x, wt, bias, y, batch, nin, nout, events);
    activity[0] = events;
    activity[1] = events * nout;
    return ERT_OK;
}

ert_status ert_k_snn_linear_fx(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{ return linear_fx(ctx, node, activity, 0); }

ert_status ert_k_snn_linear_event_fx(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{ return linear_fx(ctx, node, activity, 1); }

/* ---- SNN_CONV2D_FX ---- */

ert_status ert_check_snn_conv2d_fx(ert_ctx *ctx, uint32_t node)
{
    conv_geom g;
    return conv_geometry(ctx, node, &g, ERT_INT32, ERT_INT16, ERT_INT32);
}

ert_status ert_k_snn_conv2d_fx(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    conv_geom g;
    uint32_t in_events = 0, events = 0;
    ert_status s = conv_geometry(ctx, node, &g, ERT_INT32, ERT_INT16, ERT_INT32);
    if (s != ERT_OK) return s;
    const int32_t *x = (const int32_t *)ert_input(ctx, node, 0, NULL);
    const int16_t *w = (const int16_t *)ert_input(ctx, node, 1, NULL);
    const int32_t *bias = (const int32_t *)ert_input(ctx, node, 2, NULL);
    int32_t *y = (int32_t *)ert_output(ctx, node, 0, NULL);
    SNN_CONV_DENSE(int32_t, int16_t, int64_t, sat32, g, x, w, bias, y, in_events, events);
    activity[0] = in_events;
    activity[1] = events;
    return ERT_OK;
}

/* ---- SNN_SUMPOOL2D_FX: window sums (an average pool's 1/window is folded into the scale) ---- */

ert_status ert_check_snn_sumpool2d_fx(ert_ctx *ctx, uint32_t node) { return pool_check(ctx, node, ERT_INT32); }

ert_status ert_k_snn_sumpool2d_fx(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor tx, ty;
    int32_t kh, kw, sh, sw, ph, pw;
    const int32_t *x = (const int32_t *)ert_input(ctx, node, 0, &tx);
    int32_t *y = (int32_t *)ert_output(ctx, node, 0, &ty);
    (void)activity;
    if (!pool_attrs(ctx, node, &kh, &kw, &sh, &sw, &ph, &pw))
        return ert_fail(ctx, node, ERT_E_ATTR, "snn pool: bad kernel, stride or padding");
    SNN_POOL_SUMS(int32_t, int64_t, sat32, x, y, tx, ty, kh, kw, sh, sw, ph, pw)
    return ERT_OK;
}

/* ---- elementwise: SNN_ADD_FX (inputs aligned by left shifts), SNN_SCALE_FX, SNN_THRESHOLD_FX ---- */

ert_status ert_check_snn_add_fx(ert_ctx *ctx, uint32_t node)
{
    ert_tensor x, y;
    uint32_t b, n, by, ny, count, k;
    const int32_t *shifts = ert_attr_i32s(ctx, node, "shifts", &count);
    if (!ert_output(ctx, node, 0, &y) || !act(&y, ERT_INT32, &by, &ny)) FAIL("snn add fx: bad output");
    for (k = 0; ert_input_index(ctx, node, k) >= 0; k++)
        if (!ert_input(ctx, node, k, &x) || !act(&x, ERT_INT32, &b, &n) || b != by || n != ny)
            FAIL("snn add fx: inputs differ from output");
    if (!shifts || count != k || k == 0) return ert_fail(ctx, node, ERT_E_ATTR, "snn add fx: one shift per input");
    for (uint32_t j = 0; j < count; j++)
        if (shifts[j] < 0 || shifts[j] > 31) return ert_fail(ctx, node, ERT_E_ATTR, "snn add fx: shift out of 0..31");
    return ERT_OK;
}

ert_status ert_k_snn_add_fx(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor ty;
    uint32_t count;
    int32_t *y = (int32_t *)ert_output(ctx, node, 0, &ty);
    const int32_t *shifts = ert_attr_i32s(ctx, node, "shifts", &count);
    (void)activity;
    for (uint32_t i = 0; i < numel(&ty); i++) {
        int64_t acc = 0;
        for (uint32_t k = 0; k < count; k++)
            acc += (int64_t)((const int32_t *)ert_input(ctx, node, k, NULL))[i] * ((int64_t)1 << shifts[k]);
        y[i] = sat32(acc);
    }
    return ERT_OK;
}

static ert_status per_element_fx(ert_ctx *ctx, uint32_t node, uint32_t const_t)
{
    ert_tensor x, c, y;
    uint32_t b, n, by, ny;
    if (!ert_input(ctx, node, 0, &x) || !ert_input(ctx, node, 1, &c) || !ert_output(ctx, node, 0, &y))
        FAIL("snn elementwise fx: input, constant or output absent");
    if (!act(&x, ERT_INT32, &b, &n) || !act(&y, ERT_INT32, &by, &ny) || b != by || n != ny
        || c.dtype != const_t || numel(&c) != n)
        FAIL("snn elementwise fx: shapes or dtypes do not match");
    return ERT_OK;
}

ert_status ert_check_snn_scale_fx(ert_ctx *ctx, uint32_t node) { return per_element_fx(ctx, node, ERT_INT16); }
ert_status ert_check_snn_threshold_fx(ert_ctx *ctx, uint32_t node) { return per_element_fx(ctx, node, ERT_INT32); }

ert_status ert_k_snn_scale_fx(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor tx;
    uint32_t batch, n;
    const int32_t *x = (const int32_t *)ert_input(ctx, node, 0, &tx);
    const int16_t *s = (const int16_t *)ert_input(ctx, node, 1, NULL);
    int32_t *y = (int32_t *)ert_output(ctx, node, 0, NULL);
    (void)activity;
    act(&tx, ERT_INT32, &batch, &n);
    for (uint32_t b = 0; b < batch; b++)
        for (uint32_t i = 0; i < n; i++) y[b * n + i] = sat32((int64_t)x[b * n + i] * s[i]);
    return ERT_OK;
}

ert_status ert_k_snn_threshold_fx(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor tx;
    uint32_t batch, n, spikes = 0;
    const int32_t *x = (const int32_t *)ert_input(ctx, node, 0, &tx);
    const int32_t *th = (const int32_t *)ert_input(ctx, node, 1, NULL);
    int32_t *y = (int32_t *)ert_output(ctx, node, 0, NULL);
    act(&tx, ERT_INT32, &batch, &n);
    for (uint32_t b = 0; b < batch; b++)
        for (uint32_t i = 0; i < n; i++) {
            int32_t z = x[b * n + i] > th[i];
            y[b * n + i] = z;
            spikes += (uint32_t)z;
        }
    activity[0] = spikes;
    return ERT_OK;
}

/* ---- SNN_NEURON_FX: params int32 rows (decay Q30, input gain, leak, threshold, v_reset,
 * synaptic decay Q30, w_in gain); attrs shift_in / shift_syn for the gains ---- */

enum { ALPHA, BETA, GAMMA, THRESHOLD, V_RESET, ALPHA_SYN, BETA_SYN };

ert_status ert_check_snn_neuron_fx(ert_ctx *ctx, uint32_t node)
{
    ert_tensor x, p, t;
    uint32_t b, n, bb, nn;
    int synapse = ert_attr_i32(ctx, node, "synapse", 0) != 0;
    int32_t shift_in = ert_attr_i32(ctx, node, "shift_in", -1), shift_syn = ert_attr_i32(ctx, node, "shift_syn", 0);
    if (!ert_input(ctx, node, 0, &x) || !ert_input(ctx, node, 1, &p) || !act(&x, ERT_INT32, &b, &n))
        FAIL("snn neuron fx: input or params absent");
    int32_t tensors[] = {ert_input_index(ctx, node, 2), ert_output_index(ctx, node, 0), ert_output_index(ctx, node, 1),
                         ert_input_index(ctx, node, 3), ert_output_index(ctx, node, 2)};
    for (int k = 0; k < (synapse ? 5 : 3); k++) {
        if (tensors[k] < 0 || ert_tensor_get(&ctx->model, (uint32_t)tensors[k], &t) != ERT_OK
            || !act(&t, ERT_INT32, &bb, &nn) || bb != b || nn != n)
            FAIL("snn neuron fx: state or output missing or misshaped");
    }
    if (p.dtype != ERT_INT32 || p.rank != 2 || (uint32_t)p.shape[1] != n || p.shape[0] < (synapse ? 7 : 5))
        FAIL("snn neuron fx: params must be int32 (rows, neurons)");
    if (shift_in < 0 || shift_in > 62 || shift_syn < 0 || shift_syn > 62)
        return ert_fail(ctx, node, ERT_E_ATTR, "snn neuron fx: shifts must be 0..62");
    return ERT_OK;
}

ert_status ert_k_snn_neuron_fx(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor tx;
    uint32_t batch, n, spikes = 0;
    const int32_t *x = (const int32_t *)ert_input(ctx, node, 0, &tx);
    const int32_t *p = (const int32_t *)ert_input(ctx, node, 1, NULL);
    const int32_t *v_in = (const int32_t *)ert_input(ctx, node, 2, NULL);
    int32_t *out = (int32_t *)ert_output(ctx, node, 0, NULL);
    int32_t *v_out = (int32_t *)ert_output(ctx, node, 1, NULL);
    int synapse = ert_attr_i32(ctx, node, "synapse", 0) != 0;
    int spiking = ert_attr_i32(ctx, node, "spiking", 0) != 0;
    int subtract = ert_attr_i32(ctx, node, "reset", 0) == 1;
    int late = ert_attr_i32(ctx, node, "reset_next", 0) != 0;
    int cuba_new = ert_attr_i32(ctx, node, "cuba_new", 0) != 0;
    int32_t shift_in = ert_attr_i32(ctx, node, "shift_in", 0), shift_syn = ert_attr_i32(ctx, node, "shift_syn", 0);
    const int32_t *i_in = synapse ? (const int32_t *)ert_input(ctx, node, 3, NULL) : NULL;
    int32_t *i_out = synapse ? (int32_t *)ert_output(ctx, node, 2, NULL) : NULL;
    act(&tx, ERT_INT32, &batch, &n);
    for (uint32_t b = 0; b < batch; b++)
        for (uint32_t k = 0; k < n; k++) {
            uint32_t e = b * n + k;
            int64_t th = p[THRESHOLD * n + k], v = v_in[e], drive = x[e];
            int fired = spiking && late && v > th;
            if (fired && !subtract) v = p[V_RESET * n + k];
            if (synapse) {
                int32_t i_new = sat32(rshr((int64_t)p[ALPHA_SYN * n + k] * i_in[e], DECAY_SHIFT)
                                      + rshr((int64_t)p[BETA_SYN * n + k] * x[e], shift_syn));
                drive = cuba_new ? i_new : i_in[e];
                i_out[e] = i_new;
            }
            v = sat32(rshr(p[ALPHA * n + k] * v, DECAY_SHIFT) + rshr(p[BETA * n + k] * drive, shift_in) + p[GAMMA * n + k]);
            if (fired && subtract) v -= th;
            if (spiking) {
                int z = v > th;
                if (z && !late) v = subtract ? v - th : p[V_RESET * n + k];
                out[e] = z;
                spikes += (uint32_t)z;
            } else {
                out[e] = sat32(v);
            }
            v_out[e] = sat32(v);
        }
    activity[0] = batch * n;
    activity[1] = spikes;
    return ERT_OK;
}
