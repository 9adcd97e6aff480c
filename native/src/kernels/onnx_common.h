/* Helpers shared by the ONNX kernels (onnx_*.c). ONNX arithmetic, not TFLite's: int32 sums
 * wrap modulo 2^32, one float32 requantization, round half to even (docs/onnx.md; the numpy
 * reference is runtime/kernels/onnx_*.py). Everything here is static inline: no globals. */
#ifndef ONNX_COMMON_H
#define ONNX_COMMON_H

#include "ert_kernels.h"
#include "ert_math.h"

#define ONNX_FAIL(msg) return ert_fail(ctx, node, ERT_E_SHAPE, msg)
#define ONNX_MAX_GEOM 65536 /* bound on strides, pads, dilations, kernel sizes in a file */

static inline uint32_t onnx_numel(const ert_tensor *t)
{
    uint32_t n = 1;
    for (uint32_t k = 0; k < t->rank; k++) n *= (uint32_t)t->shape[k];
    return n;
}

static inline int onnx_is_q8(uint8_t dtype) { return dtype == ERT_INT8 || dtype == ERT_UINT8; }

/* Element i of an int8 / uint8 / int32 tensor as int32. */
static inline int32_t onnx_get(const void *p, uint8_t dtype, uint32_t i)
{
    if (dtype == ERT_INT8) return ((const int8_t *)p)[i];
    if (dtype == ERT_UINT8) return ((const uint8_t *)p)[i];
    return ((const int32_t *)p)[i];
}

static inline void onnx_put_q8(void *p, uint8_t dtype, uint32_t i, int32_t v)
{
    if (dtype == ERT_INT8) ((int8_t *)p)[i] = (int8_t)v;
    else ((uint8_t *)p)[i] = (uint8_t)v;
}

static inline int32_t onnx_qmin(uint8_t dtype) { return dtype == ERT_INT8 ? -128 : 0; }
static inline int32_t onnx_qmax(uint8_t dtype) { return dtype == ERT_INT8 ? 127 : 255; }

/* Output range of a quantized op: the dtype's, narrowed by a fused Relu/Clip. */
static inline void onnx_out_range(ert_ctx *ctx, uint32_t node, uint8_t dtype, int32_t *lo, int32_t *hi)
{
    int32_t qmin = onnx_qmin(dtype), qmax = onnx_qmax(dtype);
    int32_t a = ert_attr_i32(ctx, node, "out_min", qmin), b = ert_attr_i32(ctx, node, "out_max", qmax);
    *lo = a < qmin ? qmin : (a > qmax ? qmax : a);
    *hi = b < qmin ? qmin : (b > qmax ? qmax : b);
}

/* Two's-complement int32 of a sum kept in uint32 (wrapping modulo 2^32, no UB). */
static inline int32_t onnx_wrap32(uint32_t u)
{
    return u < 0x80000000u ? (int32_t)u : -(int32_t)(0xFFFFFFFFu - u) - 1;
}

/* saturate(rint(float32(acc) * m) + zp) into [lo, hi]; a NaN product (only from a hostile or
 * overflowing multiplier) gives zp. */
static inline int32_t onnx_requant(int32_t acc, float m, int32_t zp, int32_t lo, int32_t hi)
{
    float r = ert_rintf((float)acc * m);
    if (r != r) r = 0.0f;
    if (r < (float)(lo - zp)) r = (float)(lo - zp);
    if (r > (float)(hi - zp)) r = (float)(hi - zp);
    return (int32_t)r + zp;
}

/* saturate(rint(f) + zp) into [lo, hi]; NaN gives zp. */
static inline int32_t onnx_quantize(float f, float zp, int32_t lo, int32_t hi)
{
    if (f != f) f = 0.0f;
    float r = ert_rintf(f) + zp;
    if (r < (float)lo) r = (float)lo;
    if (r > (float)hi) r = (float)hi;
    return (int32_t)r;
}

/* Zero points stay in [-128, 255] so that (q - zp) products cannot overflow int32. */
static inline int onnx_zp_ok(int32_t zp) { return zp >= -128 && zp <= 255; }

/* Every value of the i32 array attribute `name` (absent: the scalar `def`) is a valid zero point. */
static inline int onnx_zps_ok(ert_ctx *ctx, uint32_t node, const char *name)
{
    uint32_t n;
    const int32_t *v = ert_attr_i32s(ctx, node, name, &n);
    for (uint32_t i = 0; v && i < n; i++)
        if (!onnx_zp_ok(v[i])) return 0;
    return 1;
}

/* An i32 / f32 array attribute with exactly 1 or `n` values (0 when absent or otherwise). */
static inline int onnx_vec_ok(uint32_t count, uint32_t n) { return count == 1 || count == n; }

/* Offset into `in` of output element i under NumPy broadcasting (shapes checked at load). */
static inline uint32_t onnx_bcast(const ert_tensor *in, const ert_tensor *out, uint32_t i)
{
    uint32_t off = 0, stride = 1;
    for (int k = (int)out->rank - 1, j = (int)in->rank - 1; k >= 0 && j >= 0; k--, j--) {
        uint32_t c = i % (uint32_t)out->shape[k];
        i /= (uint32_t)out->shape[k];
        if (in->shape[j] != 1) off += c * stride;
        stride *= (uint32_t)in->shape[j];
    }
    return off;
}

/* Does `in` broadcast to `out` (NumPy rules, in's rank not above out's)? */
static inline int onnx_bcast_ok(const ert_tensor *in, const ert_tensor *out)
{
    if (in->rank > out->rank) return 0;
    for (uint32_t k = 0; k < in->rank; k++) {
        int32_t d = in->shape[in->rank - 1 - k], o = out->shape[out->rank - 1 - k];
        if (d != 1 && d != o) return 0;
    }
    return 1;
}

/* 2-D window geometry of conv / pool nodes (NCHW), validated once by onnx_geom_check. */
typedef struct {
    int32_t n, c, h, w, m, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw, group;
} onnx_geom;

/* Fill g from the node's attrs and tensor shapes: x (rank 4), y (rank 4), kernel kh x kw
 * (from the weight when `weight` is set, else from kernel_shape). Checks that the output size
 * follows from the geometry, so the kernels' index arithmetic stays inside every tensor. */
static inline ert_status onnx_geom_get(ert_ctx *ctx, uint32_t node, int weight, onnx_geom *g)
{
    ert_tensor x, w, y;
    uint32_t ns, np_, nd, nk;
    const int32_t *s = ert_attr_i32s(ctx, node, "strides", &ns);
    const int32_t *p = ert_attr_i32s(ctx, node, "pads", &np_);
    const int32_t *d = ert_attr_i32s(ctx, node, "dilations", &nd);
    const int32_t *k = ert_attr_i32s(ctx, node, "kernel_shape", &nk);
    onnx_geom zero = {0};
    *g = zero;
    if (!ert_input(ctx, node, 0, &x) || !ert_output(ctx, node, 0, &y)) ONNX_FAIL("onnx window op: input or output absent");
    if (x.rank != 4 || y.rank != 4) ONNX_FAIL("onnx window op: tensors must be NCHW (rank 4)");
    if (!s || ns != 2 || !p || np_ != 4 || (d && nd != 2)) ONNX_FAIL("onnx window op: strides/pads/dilations malformed");
    g->n = x.shape[0]; g->c = x.shape[1]; g->h = x.shape[2]; g->w = x.shape[3];
    g->oh = y.shape[2]; g->ow = y.shape[3];
    g->sh = s[0]; g->sw = s[1]; g->pt = p[0]; g->pl = p[1];
    g->dh = d ? d[0] : 1; g->dw = d ? d[1] : 1;
    g->group = ert_attr_i32(ctx, node, "group", 1);
    if (weight) {
        if (!ert_input(ctx, node, 1, &w) || w.rank != 4) ONNX_FAIL("onnx conv: weight must be rank 4");
        g->m = w.shape[0]; g->kh = w.shape[2]; g->kw = w.shape[3];
        if (g->group < 1 || g->m % g->group || w.shape[1] * g->group != g->c) ONNX_FAIL("onnx conv: group/channels mismatch");
    } else {
        if (!k || nk != 2) ONNX_FAIL("onnx pool: kernel_shape malformed");
        g->m = g->c; g->kh = k[0]; g->kw = k[1]; g->group = 1;
    }
    if (y.shape[0] != g->n || y.shape[1] != g->m) ONNX_FAIL("onnx window op: output batch/channels mismatch");
    int32_t v[] = {g->sh, g->sw, g->dh, g->dw, g->kh, g->kw};
    for (int i = 0; i < 6; i++)
        if (v[i] < 1 || v[i] > ONNX_MAX_GEOM) ONNX_FAIL("onnx window op: stride/dilation/kernel out of range");
    for (int i = 0; i < 4; i++)
        if (p[i] < 0 || p[i] > ONNX_MAX_GEOM) ONNX_FAIL("onnx window op: pads out of range");
    int64_t eh = ((int64_t)g->h + p[0] + p[2] - (int64_t)g->dh * (g->kh - 1) - 1) / g->sh + 1;
    int64_t ew = ((int64_t)g->w + p[1] + p[3] - (int64_t)g->dw * (g->kw - 1) - 1) / g->sw + 1;
    if (eh != g->oh || ew != g->ow) ONNX_FAIL("onnx window op: output size does not follow from the geometry");
    return ERT_OK;
}

#endif
