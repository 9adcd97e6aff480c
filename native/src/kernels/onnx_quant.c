/* ONNX QuantizeLinear / DequantizeLinear (reference: runtime/kernels/onnx_quant.py).
 * Attrs: scale (f32, 1 or per channel), zero_point (i32, same count), axis (channel axis). */
#include "onnx_common.h"

/* Element i's channel is (i / inner) % channels; channels = 1 for per-tensor parameters. */
static ert_status axis_layout(ert_ctx *ctx, uint32_t node, const ert_tensor *t, const float **scale,
                              const int32_t **zp, uint32_t *channels, uint32_t *inner)
{
    uint32_t ns, nz;
    *scale = ert_attr_f32s(ctx, node, "scale", &ns);
    *zp = ert_attr_i32s(ctx, node, "zero_point", &nz);
    int32_t axis = ert_attr_i32(ctx, node, "axis", 0);
    if (!*scale || !*zp || ns < 1 || nz != ns) ONNX_FAIL("onnx q/dq: scale / zero_point malformed");
    *channels = ns;
    *inner = 1;
    if (ns == 1) return ERT_OK;
    if (axis < 0 || (uint32_t)axis >= t->rank || (uint32_t)t->shape[axis] != ns) ONNX_FAIL("onnx q/dq: axis does not fit");
    for (uint32_t k = (uint32_t)axis + 1; k < t->rank; k++) *inner *= (uint32_t)t->shape[k];
    return ERT_OK;
}

static ert_status qdq_check(ert_ctx *ctx, uint32_t node, int quantize)
{
    ert_tensor x, y;
    const float *scale;
    const int32_t *zp;
    uint32_t channels, inner;
    if (!ert_input(ctx, node, 0, &x) || !ert_output(ctx, node, 0, &y)) ONNX_FAIL("onnx q/dq: input or output absent");
    if (onnx_numel(&x) != onnx_numel(&y)) ONNX_FAIL("onnx q/dq: input and output sizes differ");
    if (quantize ? (x.dtype != ERT_FLOAT32 || !onnx_is_q8(y.dtype))
                 : (y.dtype != ERT_FLOAT32 || !(onnx_is_q8(x.dtype) || x.dtype == ERT_INT32)))
        ONNX_FAIL("onnx q/dq: dtypes");
    return axis_layout(ctx, node, &x, &scale, &zp, &channels, &inner);
}

ert_status ert_check_onnx_quantize(ert_ctx *ctx, uint32_t node) { return qdq_check(ctx, node, 1); }
ert_status ert_check_onnx_dequantize(ert_ctx *ctx, uint32_t node) { return qdq_check(ctx, node, 0); }

ert_status ert_k_onnx_quantize(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor x, y;
    const float *scale;
    const int32_t *zp;
    uint32_t channels, inner;
    const float *in = (const float *)ert_input(ctx, node, 0, &x);
    void *out = ert_output(ctx, node, 0, &y);
    ert_status s = axis_layout(ctx, node, &x, &scale, &zp, &channels, &inner);
    int32_t lo, hi;
    (void)activity;
    if (s != ERT_OK) return s;
    onnx_out_range(ctx, node, y.dtype, &lo, &hi);
    for (uint32_t i = 0, n = onnx_numel(&x); i < n; i++) {
        uint32_t c = (i / inner) % channels;
        onnx_put_q8(out, y.dtype, i, onnx_quantize(in[i] / scale[c], (float)zp[c], lo, hi));
    }
    return ERT_OK;
}

ert_status ert_k_onnx_dequantize(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor x, y;
    const float *scale;
    const int32_t *zp;
    uint32_t channels, inner;
    const void *in = ert_input(ctx, node, 0, &x);
    float *out = (float *)ert_output(ctx, node, 0, &y);
    ert_status s = axis_layout(ctx, node, &x, &scale, &zp, &channels, &inner);
    (void)activity;
    if (s != ERT_OK) return s;
    for (uint32_t i = 0, n = onnx_numel(&x); i < n; i++) {
        uint32_t c = (i / inner) % channels;
        out[i] = ((float)onnx_get(in, x.dtype, i) - (float)zp[c]) * scale[c];
    }
    return ERT_OK;
}
