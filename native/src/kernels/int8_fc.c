/* TFLite int8 FULLY_CONNECTED: acc = bias + sum w * (x - zp_in); the zero-point term is
 * folded into input 3 (bias_zp) by the importer, leaving contiguous int8 dot products. */
#include <stddef.h>
#include "ert_kernels.h"
#include "tflite_common.h"

typedef struct {
    int32_t batches, units, depth;
    tfl_requant q;
    const int8_t *x, *w;
    const int32_t *bias_zp;
    int8_t *y;
} fc_args;

static ert_status fc_args_get(ert_ctx *ctx, uint32_t node, fc_args *a)
{
    ert_tensor x, w, y;
    ert_status s;
    a->x = ert_input(ctx, node, 0, &x);
    a->w = ert_input(ctx, node, 1, &w);
    a->y = ert_output(ctx, node, 0, &y);
    if (!a->x || !a->w || x.dtype != ERT_INT8 || w.dtype != ERT_INT8 || y.dtype != ERT_INT8 || w.rank != 2)
        return ert_fail(ctx, node, ERT_E_SHAPE, "FULLY_CONNECTED needs int8 input, int8 [units, depth] weights, int8 output");
    a->units = w.shape[0];
    a->depth = w.shape[1];
    if (a->units < 1 || a->depth < 1 || x.nbytes % (uint32_t)a->depth)
        return ert_fail(ctx, node, ERT_E_SHAPE, "input size is not a multiple of the weights' depth");
    a->batches = (int32_t)(x.nbytes / (uint32_t)a->depth);
    if ((uint64_t)a->batches * (uint64_t)a->units != y.nbytes)
        return ert_fail(ctx, node, ERT_E_SHAPE, "output size != batches x units");
    if ((s = tfl_requant_get(ctx, node, (uint32_t)a->units, &a->q)) != ERT_OK) return s;
    a->bias_zp = tfl_vector(ctx, node, 3, ERT_INT32, (uint32_t)a->units);
    if (!a->bias_zp) return ert_fail(ctx, node, ERT_E_SHAPE, "input 3 (bias_zp) must be int32[units]");
    return ERT_OK;
}

ert_status ert_check_int8_fc(ert_ctx *ctx, uint32_t node)
{
    fc_args a = {0};
    return fc_args_get(ctx, node, &a);
}

ert_status ert_k_int8_fc(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    fc_args a = {0};
    ert_status s = fc_args_get(ctx, node, &a);
    (void)activity;
    if (s != ERT_OK) return s;
    for (int32_t b = 0; b < a.batches; b++) {
        const int8_t *x = a.x + (size_t)b * a.depth;
        for (int32_t o = 0; o < a.units; o++) {
            const int8_t *w = a.w + (size_t)o * a.depth;
            int32_t acc = 0;
            for (int32_t k = 0; k < a.depth; k++) acc += (int32_t)w[k] * (int32_t)x[k];
            acc += a.bias_zp[o];
            a.y[(size_t)b * a.units + o] = (int8_t)tfl_clamp(
                tfl_mbqm(acc, a.q.mult[o], a.q.shift[o]) + a.q.zp_out, a.q.act_min, a.q.act_max);
        }
    }
    return ERT_OK;
}
