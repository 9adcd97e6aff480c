/* ONNX 2-D pooling, NCHW: ONNX_AVERAGE_POOL_F32, ONNX_QLINEAR_AVERAGE_POOL, ONNX_MAX_POOL_F32,
 * ONNX_QMAX_POOL (reference: runtime/kernels/onnx_pool.py). Only in-bounds taps are read.
 * The quantized average requantizes its integer sum with m = x_scale / (y_scale * n). */
#include "onnx_common.h"

enum { AVG_F32, AVG_Q, MAX_F32, MAX_Q };

static ert_status pool_check(ert_ctx *ctx, uint32_t node, int mode)
{
    onnx_geom g;
    ert_tensor x, y;
    ert_status s = onnx_geom_get(ctx, node, 0, &g);
    if (s != ERT_OK) return s;
    ert_input(ctx, node, 0, &x);
    ert_output(ctx, node, 0, &y);
    if (mode == AVG_F32 || mode == MAX_F32) {
        if (x.dtype != ERT_FLOAT32 || y.dtype != ERT_FLOAT32) ONNX_FAIL("onnx pool f32: dtypes");
    } else if (!onnx_is_q8(x.dtype) || !onnx_is_q8(y.dtype) || !onnx_zps_ok(ctx, node, "x_zero_point") ||
               !onnx_zps_ok(ctx, node, "y_zero_point")) {
        ONNX_FAIL("onnx quantized pool: dtypes or zero points");
    }
    return ERT_OK;
}

ert_status ert_check_onnx_average_pool_f32(ert_ctx *ctx, uint32_t node) { return pool_check(ctx, node, AVG_F32); }
ert_status ert_check_onnx_qlinear_average_pool(ert_ctx *ctx, uint32_t node) { return pool_check(ctx, node, AVG_Q); }
ert_status ert_check_onnx_max_pool_f32(ert_ctx *ctx, uint32_t node) { return pool_check(ctx, node, MAX_F32); }
ert_status ert_check_onnx_qmax_pool(ert_ctx *ctx, uint32_t node) { return pool_check(ctx, node, MAX_Q); }

static ert_status pool(ert_ctx *ctx, uint32_t node, int mode)
{
    onnx_geom g;
    ert_tensor tx, ty;
    ert_status s = onnx_geom_get(ctx, node, 0, &g);
    if (s != ERT_OK) return s;
    const void *x = ert_input(ctx, node, 0, &tx);
    void *y = ert_output(ctx, node, 0, &ty);
    int include_pad = ert_attr_i32(ctx, node, "count_include_pad", 0) != 0;
    float xzp = (float)ert_attr_i32(ctx, node, "x_zero_point", 0), yzp = (float)ert_attr_i32(ctx, node, "y_zero_point", 0);
    float xs = ert_attr_f32(ctx, node, "x_scale", 1.0f), ys = ert_attr_f32(ctx, node, "y_scale", 1.0f);
    int32_t ixzp = ert_attr_i32(ctx, node, "x_zero_point", 0), iyzp = ert_attr_i32(ctx, node, "y_zero_point", 0);
    int32_t lo = 0, hi = 0;
    if (mode == AVG_Q || mode == MAX_Q) onnx_out_range(ctx, node, ty.dtype, &lo, &hi);
    uint32_t i = 0;
    for (int32_t b = 0; b < g.n; b++)
        for (int32_t c = 0; c < g.c; c++) {
            uint32_t plane = ((uint32_t)b * (uint32_t)g.c + (uint32_t)c) * (uint32_t)(g.h * g.w);
            for (int32_t oy = 0; oy < g.oh; oy++)
                for (int32_t ox = 0; ox < g.ow; ox++, i++) {
                    float fsum = 0.0f, fmax = -(float)ert_inf();
                    uint32_t isum = 0;
                    int32_t imax = INT32_MIN, count = 0;
                    for (int32_t ky = 0; ky < g.kh; ky++) {
                        int64_t iy = (int64_t)oy * g.sh - g.pt + (int64_t)ky * g.dh;
                        if (iy < 0 || iy >= g.h) continue;
                        for (int32_t kx = 0; kx < g.kw; kx++) {
                            int64_t ix = (int64_t)ox * g.sw - g.pl + (int64_t)kx * g.dw;
                            if (ix < 0 || ix >= g.w) continue;
                            uint32_t at = plane + (uint32_t)(iy * g.w + ix);
                            count++;
                            if (mode == AVG_F32) fsum += ((const float *)x)[at];
                            else if (mode == MAX_F32) { float v = ((const float *)x)[at]; if (v > fmax) fmax = v; }
                            else if (mode == AVG_Q) isum += (uint32_t)(onnx_get(x, tx.dtype, at) - ixzp);
                            else { int32_t v = onnx_get(x, tx.dtype, at); if (v > imax) imax = v; }
                        }
                    }
                    if (include_pad) count = g.kh * g.kw;
                    if (mode == AVG_F32) ((float *)y)[i] = fsum / (float)count;
                    else if (mode == MAX_F32) ((float *)y)[i] = fmax;
                    else if (mode == AVG_Q) /* m = 0 for a window wholly in the padding */
                        onnx_put_q8(y, ty.dtype, i, onnx_requant(onnx_wrap32(isum), count ? xs / (ys * (float)count) : 0.0f,
                                                                 iyzp, lo, hi));
                    else
                        onnx_put_q8(y, ty.dtype, i, onnx_quantize(((float)imax - xzp) * xs / ys, yzp, lo, hi));
                }
        }
    return ERT_OK;
}

ert_status ert_k_onnx_average_pool_f32(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{ (void)activity; return pool(ctx, node, AVG_F32); }
ert_status ert_k_onnx_qlinear_average_pool(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{ (void)activity; return pool(ctx, node, AVG_Q); }
ert_status ert_k_onnx_max_pool_f32(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{ (void)activity; return pool(ctx, node, MAX_F32); }
ert_status ert_k_onnx_qmax_pool(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{ (void)activity; return pool(ctx, node, MAX_Q); }
