/* Validation shared by the TFLite kernels: node geometry and requantization parameters.
 * Everything a kernel indexes with is checked here against the tensor shapes, so a hostile
 * .ert cannot make a kernel read or write outside its tensors. */
#include <stddef.h>
#include "tflite_common.h"

#define FAIL(msg) return ert_fail(ctx, node, ERT_E_SHAPE, msg)
#define GEOM_MAX 65535

static int pair(ert_ctx *ctx, uint32_t node, const char *name, int32_t def, int32_t lo, int32_t *a, int32_t *b)
{
    uint32_t count;
    const int32_t *v = ert_attr_i32s(ctx, node, name, &count);
    if (!v) { *a = *b = def; return def >= lo; }
    if (count != 2) return 0;
    *a = v[0]; *b = v[1];
    return *a >= lo && *b >= lo && *a <= GEOM_MAX && *b <= GEOM_MAX;
}

ert_status tfl_geom_get(ert_ctx *ctx, uint32_t node, int kind, uint32_t dtype, tfl_geom *g)
{
    ert_tensor in, out, w;
    if (!ert_input(ctx, node, 0, &in) || in.rank != 4 || in.dtype != dtype) FAIL("input 0 must be a rank-4 NHWC tensor of the op's type");
    if (!ert_output(ctx, node, 0, &out) || out.rank != 4 || out.dtype != dtype) FAIL("output 0 must be a rank-4 NHWC tensor of the op's type");
    g->n = in.shape[0]; g->h = in.shape[1]; g->w = in.shape[2]; g->cin = in.shape[3];
    g->oh = out.shape[1]; g->ow = out.shape[2]; g->cout = out.shape[3];
    if (out.shape[0] != g->n) FAIL("input and output batch differ");
    if (!pair(ctx, node, "stride", -1, 1, &g->sh, &g->sw)) FAIL("attr stride must be 2 values in [1, 65535]");
    if (!pair(ctx, node, "dilation", 1, 1, &g->dh, &g->dw)) FAIL("attr dilation must be 2 values in [1, 65535]");
    if (!pair(ctx, node, "pad", -1, 0, &g->ph, &g->pw)) FAIL("attr pad must be 2 values in [0, 65535]");
    g->mult = 1;
    if (kind == TFL_POOL) {
        if (!pair(ctx, node, "filter", -1, 1, &g->kh, &g->kw)) FAIL("attr filter must be 2 values in [1, 65535]");
        if (g->cout != g->cin) FAIL("pooling changes the channel count");
    } else {
        uint32_t wtype = dtype;
        if (!ert_input(ctx, node, 1, &w) || w.rank != 4 || w.dtype != wtype) FAIL("input 1 (filter) must be rank 4 of the op's type");
        if (kind == TFL_CONV) {
            g->kh = w.shape[0]; g->kw = w.shape[1];
            if (w.shape[3] != g->cout || w.shape[2] != g->cin) FAIL("filter shape does not match [KH, KW, C_in, C_out]");
        } else {
            g->kh = w.shape[1]; g->kw = w.shape[2];
            if (w.shape[0] != 1 || w.shape[3] != g->cout || g->cin == 0 || g->cout % g->cin) FAIL("depthwise filter must be [1, KH, KW, C_in x multiplier]");
            g->mult = g->cout / g->cin;
            if (ert_attr_i32(ctx, node, "depth_multiplier", -1) != g->mult) FAIL("attr depth_multiplier != C_out / C_in");
        }
    }
    if (g->kh < 1 || g->kw < 1 || g->kh > GEOM_MAX || g->kw > GEOM_MAX) FAIL("filter size outside [1, 65535]");
    /* every input coordinate a kernel computes must fit comfortably in int32 */
    if ((int64_t)(g->oh - 1) * g->sh + (int64_t)(g->kh - 1) * g->dh > (1 << 30) ||
        (int64_t)(g->ow - 1) * g->sw + (int64_t)(g->kw - 1) * g->dw > (1 << 30))
        FAIL("output size x stride + filter extent exceeds 2^30");
    return ERT_OK;
}

ert_status tfl_requant_get(ert_ctx *ctx, uint32_t node, uint32_t channels, tfl_requant *q)
{
    uint32_t nm, ns;
    q->mult = ert_attr_i32s(ctx, node, "multiplier", &nm);
    q->shift = ert_attr_i32s(ctx, node, "shift", &ns);
    if (!q->mult || !q->shift || nm != channels || ns != channels) FAIL("attrs multiplier/shift must hold one value per output channel");
    for (uint32_t c = 0; c < channels && !ctx->checked; c++)
        if (q->shift[c] < -31 || q->shift[c] > 31) FAIL("attr shift outside [-31, 31]");
    q->zp_in = ert_attr_i32(ctx, node, "zp_in", 0);
    q->zp_out = ert_attr_i32(ctx, node, "zp_out", 0);
    q->act_min = ert_attr_i32(ctx, node, "act_min", -128);
    q->act_max = ert_attr_i32(ctx, node, "act_max", 127);
    if (q->zp_in < -128 || q->zp_in > 127 || q->zp_out < -128 || q->zp_out > 127) FAIL("zero points outside int8");
    if (q->act_min < -128 || q->act_max > 127 || q->act_min > q->act_max) FAIL("activation range outside int8");
    return ERT_OK;
}

const void *tfl_vector(ert_ctx *ctx, uint32_t node, uint32_t k, uint32_t dtype, uint32_t count)
{
    ert_tensor t;
    const void *p = ert_input(ctx, node, k, &t);
    if (!p || t.dtype != dtype || (uint64_t)t.nbytes != (uint64_t)count * ert_dtype_size(dtype)) return 0;
    return p;
}

const int32_t *tfl_bias(ert_ctx *ctx, uint32_t node, uint32_t k, uint32_t count, int64_t taps)
{
    const int32_t *bias = tfl_vector(ctx, node, k, ERT_INT32, count);
    const int64_t reach = taps * 128 * 128;   /* |int8 x int8| <= 2^14 per tap */
    if (!bias || reach > INT32_MAX) return 0;
    for (uint32_t i = 0; i < count && !ctx->checked; i++)
        if (bias[i] > INT32_MAX - reach || bias[i] < INT32_MIN + reach) return 0;
    return bias;
}

TFL_HOT void tfl_requant_row(const int32_t *restrict acc, int8_t *restrict out, int32_t n, const int32_t *restrict mult,
                             const int32_t *restrict shift, int32_t zp_out, int32_t act_min, int32_t act_max)
{
    for (int32_t i = 0; i < n; i++) {
        int32_t left = shift[i] > 0 ? shift[i] : 0, right = shift[i] > 0 ? 0 : -shift[i];
        int32_t x = (int32_t)((uint32_t)acc[i] << left);
        int64_t ab = (int64_t)x * mult[i];
        int64_t t = ab + (ab >= 0 ? (1 << 30) : (1 - (1 << 30)));
        int32_t hi = (int32_t)((t + ((t >> 63) & 0x7FFFFFFF)) >> 31);   /* t / 2^31, truncating */
        hi = (x == INT32_MIN && mult[i] == INT32_MIN) ? INT32_MAX : hi;
        int32_t mask = (int32_t)(((uint32_t)1 << right) - 1u);
        int32_t threshold = (mask >> 1) + (hi < 0 ? 1 : 0);
        int32_t y = (hi >> right) + ((hi & mask) > threshold ? 1 : 0) + zp_out;
        out[i] = (int8_t)(y < act_min ? act_min : y > act_max ? act_max : y);
    }
}

/* ---- NumPy broadcasting over up to 6 dims --------------------------------------- */

static int align_strides(const ert_tensor *t, const int32_t *dims, size_t *stride)
{
    size_t s = 1;
    for (int k = ERT_MAX_RANK - 1; k >= 0; k--) {
        int src = k - (ERT_MAX_RANK - (int)t->rank);
        int32_t d = src >= 0 ? t->shape[src] : 1;
        if (d != dims[k] && d != 1) return 0;
        stride[k] = d == 1 ? 0 : s;
        s *= (size_t)d;
    }
    return 1;
}

int tfl_broadcast_get(const ert_tensor *a, const ert_tensor *b, const ert_tensor *y, tfl_broadcast *bc)
{
    if (a->rank > y->rank || b->rank > y->rank) return 0;
    bc->total = 1;
    for (int k = 0; k < ERT_MAX_RANK; k++) {
        int src = k - (ERT_MAX_RANK - (int)y->rank);
        bc->dims[k] = src >= 0 ? y->shape[src] : 1;
        bc->total *= (size_t)bc->dims[k];
    }
    if (!align_strides(a, bc->dims, bc->stride_a) || !align_strides(b, bc->dims, bc->stride_b)) return 0;
    bc->same = a->nbytes == y->nbytes && b->nbytes == y->nbytes;
    return 1;
}

/* Offsets into a and b of output element i (row-major over dims). */
void tfl_broadcast_offsets(const tfl_broadcast *bc, size_t i, size_t *oa, size_t *ob)
{
    size_t a = 0, b = 0;
    for (int k = ERT_MAX_RANK - 1; k >= 0; k--) {
        size_t idx = i % (size_t)bc->dims[k];
        i /= (size_t)bc->dims[k];
        a += idx * bc->stride_a[k];
        b += idx * bc->stride_b[k];
    }
    *oa = a;
    *ob = b;
}
