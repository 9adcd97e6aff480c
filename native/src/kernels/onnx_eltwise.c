/* ONNX element-wise ops: ONNX_QLINEAR_ADD, ONNX_ADD_F32 (NumPy broadcasting), ONNX_RELU_F32,
 * ONNX_CLIP_F32 (reference: runtime/kernels/onnx_eltwise.py). */
#include "onnx_common.h"

static ert_status add_check(ert_ctx *ctx, uint32_t node, int quantized)
{
    ert_tensor a, b, y;
    if (!ert_input(ctx, node, 0, &a) || !ert_input(ctx, node, 1, &b) || !ert_output(ctx, node, 0, &y))
        ONNX_FAIL("onnx add: operand absent");
    if (!onnx_bcast_ok(&a, &y) || !onnx_bcast_ok(&b, &y)) ONNX_FAIL("onnx add: operands do not broadcast to the output");
    if (quantized ? !(onnx_is_q8(a.dtype) && onnx_is_q8(b.dtype) && onnx_is_q8(y.dtype))
                  : (a.dtype != ERT_FLOAT32 || b.dtype != ERT_FLOAT32 || y.dtype != ERT_FLOAT32))
        ONNX_FAIL("onnx add: dtypes");
    return ERT_OK;
}

ert_status ert_check_onnx_qlinear_add(ert_ctx *ctx, uint32_t node) { return add_check(ctx, node, 1); }
ert_status ert_check_onnx_add_f32(ert_ctx *ctx, uint32_t node) { return add_check(ctx, node, 0); }

ert_status ert_k_onnx_qlinear_add(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor ta, tb, ty;
    const void *a = ert_input(ctx, node, 0, &ta), *b = ert_input(ctx, node, 1, &tb);
    void *y = ert_output(ctx, node, 0, &ty);
    float as = ert_attr_f32(ctx, node, "a_scale", 1.0f), bs = ert_attr_f32(ctx, node, "b_scale", 1.0f);
    float ys = ert_attr_f32(ctx, node, "y_scale", 1.0f);
    float azp = (float)ert_attr_i32(ctx, node, "a_zero_point", 0), bzp = (float)ert_attr_i32(ctx, node, "b_zero_point", 0);
    float yzp = (float)ert_attr_i32(ctx, node, "y_zero_point", 0);
    int32_t lo, hi;
    (void)activity;
    onnx_out_range(ctx, node, ty.dtype, &lo, &hi);
    for (uint32_t i = 0, n = onnx_numel(&ty); i < n; i++) {
        float fa = ((float)onnx_get(a, ta.dtype, onnx_bcast(&ta, &ty, i)) - azp) * as;
        float fb = ((float)onnx_get(b, tb.dtype, onnx_bcast(&tb, &ty, i)) - bzp) * bs;
        onnx_put_q8(y, ty.dtype, i, onnx_quantize((fa + fb) / ys, yzp, lo, hi));
    }
    return ERT_OK;
}

ert_status ert_k_onnx_add_f32(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor ta, tb, ty;
    const float *a = (const float *)ert_input(ctx, node, 0, &ta), *b = (const float *)ert_input(ctx, node, 1, &tb);
    float *y = (float *)ert_output(ctx, node, 0, &ty);
    (void)activity;
    for (uint32_t i = 0, n = onnx_numel(&ty); i < n; i++) y[i] = a[onnx_bcast(&ta, &ty, i)] + b[onnx_bcast(&tb, &ty, i)];
    return ERT_OK;
}

ert_status ert_check_onnx_clip_f32(ert_ctx *ctx, uint32_t node)
{
    ert_tensor x, y;
    if (!ert_input(ctx, node, 0, &x) || !ert_output(ctx, node, 0, &y)) ONNX_FAIL("onnx relu/clip: operand absent");
    if (x.dtype != ERT_FLOAT32 || y.dtype != ERT_FLOAT32 || onnx_numel(&x) != onnx_numel(&y)) ONNX_FAIL("onnx relu/clip: dtypes or sizes");
    return ERT_OK;
}

/* Comparisons rather than fmin/fmax: NaN passes through, as in the reference. */
static void clip(ert_ctx *ctx, uint32_t node, float lo, float hi)
{
    ert_tensor tx;
    const float *x = (const float *)ert_input(ctx, node, 0, &tx);
    float *y = (float *)ert_output(ctx, node, 0, NULL);
    for (uint32_t i = 0, n = onnx_numel(&tx); i < n; i++) {
        float v = x[i];
        if (v < lo) v = lo;
        if (v > hi) v = hi;
        y[i] = v;
    }
}

ert_status ert_k_onnx_relu_f32(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    (void)activity;
    clip(ctx, node, 0.0f, (float)ert_inf());
    return ERT_OK;
}

ert_status ert_k_onnx_clip_f32(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    (void)activity;
    clip(ctx, node, ert_attr_f32(ctx, node, "min", -(float)ert_inf()), ert_attr_f32(ctx, node, "max", (float)ert_inf()));
    return ERT_OK;
}
