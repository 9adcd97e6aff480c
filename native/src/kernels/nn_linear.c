/* Non-neural feature preprocessing, linear scores and Gaussian naive Bayes (the numpy
 * references: runtime/kernels/nonneural_prep.py and nonneural_linear.py). Float sums run in
 * feature order in float64; fixed-point sums in int64. */
#include "nn_common.h"

/* x (batch, F) of any float dtype (or `dtype`), a (rows, F) table, output (batch[, cols]). */
static ert_status bind_rows(ert_ctx *ctx, uint32_t node, uint8_t x_dtype, uint8_t out_dtype,
                            uint32_t *batch, uint32_t *features, uint32_t *cols)
{
    ert_tensor x, y;
    uint32_t rows = 0;
    *batch = *features = *cols = 0;
    if (!ert_input(ctx, node, 0, &x) || !ert_output(ctx, node, 0, &y)) NN_FAIL("nn: input or output absent");
    if (x.rank != 2 || (x_dtype ? x.dtype != x_dtype : !nn_is_float(&x))) NN_FAIL("nn: x must be (batch, features) of the op's dtype");
    *batch = (uint32_t)x.shape[0]; *features = (uint32_t)x.shape[1];
    if (!nn_rows(&y, out_dtype, &rows, cols) || rows != *batch) NN_FAIL("nn: output must be (batch[, n]) of the op's dtype");
    return ERT_OK;
}

/* Input k is a constant of `dtype` with rows x cols elements (cols < 0: rank 1 of `rows`). */
static int table_ok(ert_ctx *ctx, uint32_t node, uint32_t k, uint8_t dtype, uint32_t rows, int64_t cols)
{
    ert_tensor t;
    if (!ert_input(ctx, node, k, &t) || t.dtype != dtype) return 0;
    if (cols < 0) return t.rank == 1 && (uint32_t)t.shape[0] == rows;
    return nn_mat(&t, dtype, (int32_t)rows, (int32_t)cols);
}

/* ---- NN_SCALE: (x - a) / b ("standard") or x * a + b ("minmax"), float64 out ---- */
ert_status ert_check_nn_scale(ert_ctx *ctx, uint32_t node)
{
    uint32_t batch, f, cols;
    ert_status s = bind_rows(ctx, node, 0, ERT_FLOAT64, &batch, &f, &cols);
    if (s != ERT_OK) return s;
    if (cols != f || !table_ok(ctx, node, 1, ERT_FLOAT64, f, -1) || !table_ok(ctx, node, 2, ERT_FLOAT64, f, -1))
        NN_FAIL("NN_SCALE: a, b must be float64 (features,) and the output (batch, features)");
    const char *mode = ert_attr_str(ctx, node, "mode");
    if (!mode || (strcmp(mode, "standard") && strcmp(mode, "minmax"))) NN_FAIL("NN_SCALE: mode must be standard or minmax");
    return ERT_OK;
}

ert_status ert_k_nn_scale(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor tx;
    uint32_t batch, f, cols;
    (void)activity;
    ert_status s = bind_rows(ctx, node, 0, ERT_FLOAT64, &batch, &f, &cols);
    if (s != ERT_OK) return s;
    const void *x = ert_input(ctx, node, 0, &tx);
    const double *a = (const double *)ert_input(ctx, node, 1, NULL), *b = (const double *)ert_input(ctx, node, 2, NULL);
    double *y = (double *)ert_output(ctx, node, 0, NULL);
    int standard = !strcmp(ert_attr_str(ctx, node, "mode"), "standard");
    for (uint32_t r = 0; r < batch; r++)
        for (uint32_t j = 0; j < f; j++) {
            double v = nn_real(x, tx.dtype, r * f + j);
            y[r * f + j] = standard ? (v - a[j]) / b[j] : v * a[j] + b[j];
        }
    return ERT_OK;
}

/* ---- NN_QUANTIZE: clamp(round_half_away((x - center) * inv_step), +-32767) -> int16 ---- */
ert_status ert_check_nn_quantize(ert_ctx *ctx, uint32_t node)
{
    uint32_t batch, f, cols, nc, ni;
    ert_status s = bind_rows(ctx, node, 0, ERT_INT16, &batch, &f, &cols);
    if (s != ERT_OK) return s;
    if (cols != f || !ert_attr_f64s(ctx, node, "center", &nc) || !ert_attr_f64s(ctx, node, "inv_step", &ni) || nc != f || ni != f)
        NN_FAIL("NN_QUANTIZE: center/inv_step must have one float64 per feature");
    return ERT_OK;
}

ert_status ert_k_nn_quantize(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor tx;
    uint32_t batch, f, cols, n;
    (void)activity;
    ert_status s = bind_rows(ctx, node, 0, ERT_INT16, &batch, &f, &cols);
    if (s != ERT_OK) return s;
    const void *x = ert_input(ctx, node, 0, &tx);
    const double *c = ert_attr_f64s(ctx, node, "center", &n), *inv = ert_attr_f64s(ctx, node, "inv_step", &n);
    int16_t *q = (int16_t *)ert_output(ctx, node, 0, NULL);
    for (uint32_t i = 0; i < batch * f; i++) {
        double v = (nn_real(x, tx.dtype, i) - c[i % f]) * inv[i % f];
        v = ert_round(v);   /* half away from zero */
        q[i] = (int16_t)(v > 32767.0 ? 32767 : (v < -32767.0 ? -32767 : v));
    }
    return ERT_OK;
}

/* ---- NN_LINEAR (float64) and NN_LINEAR_Q (int16 x int16 + int64 -> int32 >> shift) ---- */
static ert_status linear_check(ert_ctx *ctx, uint32_t node, int fixed)
{
    uint32_t batch, f, k;
    ert_status s = bind_rows(ctx, node, fixed ? ERT_INT16 : ERT_FLOAT64, fixed ? ERT_INT32 : ERT_FLOAT64, &batch, &f, &k);
    if (s != ERT_OK) return s;
    if (!table_ok(ctx, node, 1, fixed ? ERT_INT16 : ERT_FLOAT64, k, f) || !table_ok(ctx, node, 2, fixed ? ERT_INT64 : ERT_FLOAT64, k, -1))
        NN_FAIL("NN_LINEAR: weights (outputs, features) / bias (outputs,) do not match");
    if (fixed && (uint32_t)ert_attr_i32(ctx, node, "shift", 0) > 62) NN_FAIL("NN_LINEAR_Q: shift > 62");
    return ERT_OK;
}

ert_status ert_check_nn_linear(ert_ctx *ctx, uint32_t node) { return linear_check(ctx, node, 0); }
ert_status ert_check_nn_linear_q(ert_ctx *ctx, uint32_t node) { return linear_check(ctx, node, 1); }

ert_status ert_k_nn_linear(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    uint32_t batch, f, k;
    (void)activity;
    ert_status s = bind_rows(ctx, node, ERT_FLOAT64, ERT_FLOAT64, &batch, &f, &k);
    if (s != ERT_OK) return s;
    const double *x = (const double *)ert_input(ctx, node, 0, NULL), *w = (const double *)ert_input(ctx, node, 1, NULL);
    const double *b = (const double *)ert_input(ctx, node, 2, NULL);
    double *y = (double *)ert_output(ctx, node, 0, NULL);
    for (uint32_t r = 0; r < batch; r++)
        for (uint32_t o = 0; o < k; o++) {
            double acc = 0.0;
            for (uint32_t j = 0; j < f; j++) acc += x[r * f + j] * w[o * f + j];
            y[r * k + o] = acc + b[o];
        }
    return ERT_OK;
}

ert_status ert_k_nn_linear_q(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    uint32_t batch, f, k;
    (void)activity;
    ert_status s = bind_rows(ctx, node, ERT_INT16, ERT_INT32, &batch, &f, &k);
    if (s != ERT_OK) return s;
    const int16_t *x = (const int16_t *)ert_input(ctx, node, 0, NULL), *w = (const int16_t *)ert_input(ctx, node, 1, NULL);
    const int64_t *b = (const int64_t *)ert_input(ctx, node, 2, NULL);
    uint32_t shift = (uint32_t)ert_attr_i32(ctx, node, "shift", 0);
    int32_t *y = (int32_t *)ert_output(ctx, node, 0, NULL);
    for (uint32_t r = 0; r < batch; r++)
        for (uint32_t o = 0; o < k; o++) {
            int64_t acc = 0;
            for (uint32_t j = 0; j < f; j++) acc += (int64_t)x[r * f + j] * w[o * f + j];
            y[r * k + o] = (int32_t)nn_round_shift(acc + b[o], shift);
        }
    return ERT_OK;
}

/* ---- NN_GNB (float64 joint log-likelihood) and NN_GNB_Q (weighted integer distances) ---- */
static ert_status gnb_check(ert_ctx *ctx, uint32_t node, int fixed)
{
    uint32_t batch, f, k;
    ert_status s = bind_rows(ctx, node, fixed ? ERT_INT16 : ERT_FLOAT64, fixed ? ERT_INT32 : ERT_FLOAT64, &batch, &f, &k);
    if (s != ERT_OK) return s;
    uint8_t tab = fixed ? ERT_INT32 : ERT_FLOAT64;
    if (!table_ok(ctx, node, 1, tab, k, f) || !table_ok(ctx, node, 2, tab, k, f) ||
        !table_ok(ctx, node, 3, fixed ? ERT_INT64 : ERT_FLOAT64, k, -1) ||
        (fixed ? !table_ok(ctx, node, 4, ERT_INT32, k, f) : !table_ok(ctx, node, 4, ERT_FLOAT64, k, -1)))
        NN_FAIL("NN_GNB: class tables do not match (classes, features)");
    if (fixed && (uint32_t)ert_attr_i32(ctx, node, "shift", 0) > 62) NN_FAIL("NN_GNB_Q: shift > 62");
    return ERT_OK;
}

ert_status ert_check_nn_gnb(ert_ctx *ctx, uint32_t node) { return gnb_check(ctx, node, 0); }
ert_status ert_check_nn_gnb_q(ert_ctx *ctx, uint32_t node) { return gnb_check(ctx, node, 1); }

ert_status ert_k_nn_gnb(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    uint32_t batch, f, k;
    (void)activity;
    ert_status s = bind_rows(ctx, node, ERT_FLOAT64, ERT_FLOAT64, &batch, &f, &k);
    if (s != ERT_OK) return s;
    const double *x = (const double *)ert_input(ctx, node, 0, NULL), *theta = (const double *)ert_input(ctx, node, 1, NULL);
    const double *var = (const double *)ert_input(ctx, node, 2, NULL), *prior = (const double *)ert_input(ctx, node, 3, NULL);
    const double *norm = (const double *)ert_input(ctx, node, 4, NULL);
    double *y = (double *)ert_output(ctx, node, 0, NULL);
    for (uint32_t r = 0; r < batch; r++)
        for (uint32_t c = 0; c < k; c++) {
            double acc = 0.0;
            for (uint32_t j = 0; j < f; j++) {
                double d = x[r * f + j] - theta[c * f + j];
                acc += d * d / var[c * f + j];
            }
            y[r * k + c] = prior[c] + (norm[c] - 0.5 * acc);
        }
    return ERT_OK;
}

ert_status ert_k_nn_gnb_q(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    uint32_t batch, f, k;
    (void)activity;
    ert_status s = bind_rows(ctx, node, ERT_INT16, ERT_INT32, &batch, &f, &k);
    if (s != ERT_OK) return s;
    const int16_t *x = (const int16_t *)ert_input(ctx, node, 0, NULL);
    const int32_t *m = (const int32_t *)ert_input(ctx, node, 1, NULL), *w = (const int32_t *)ert_input(ctx, node, 2, NULL);
    const int64_t *b = (const int64_t *)ert_input(ctx, node, 3, NULL);
    const int32_t *h = (const int32_t *)ert_input(ctx, node, 4, NULL);
    uint32_t shift = (uint32_t)ert_attr_i32(ctx, node, "shift", 0);
    int32_t *y = (int32_t *)ert_output(ctx, node, 0, NULL);
    for (uint32_t r = 0; r < batch; r++) {
        int64_t least = 0, best = INT64_MIN;
        for (uint32_t pass = 0; pass < 3; pass++)   /* smallest penalty; best score among those; output */
            for (uint32_t c = 0; c < k; c++) {
                int64_t acc = b[c], pen = 0;
                for (uint32_t j = 0; j < f; j++) {
                    int64_t d = (int64_t)x[r * f + j] - m[c * f + j];
                    acc -= (int64_t)w[c * f + j] * d * d;
                    pen += (int64_t)h[c * f + j] * d * d;
                }
                if (pass == 0) {
                    if (c == 0 || pen < least) least = pen;
                } else if (pass == 1) {
                    if (pen == least && acc > best) best = acc;
                } else {
                    int64_t rel = nn_round_shift(acc - best, shift);
                    y[r * k + c] = pen > least ? INT32_MIN : (int32_t)(rel < -INT32_MAX ? -INT32_MAX : rel);
                }
            }
    }
    return ERT_OK;
}
