/* The last step of non-neural models: NN_DECIDE (scores -> label, sklearn's tie rules) and
 * NN_PROB (scores -> probabilities / sklearn's ovr display of SVC decisions). The reference:
 * runtime/kernels/nonneural_decide.py. */
#include "nn_common.h"
#include "nn_x86.h"

enum { D_ARGMAX, D_ARGMAX_LAST, D_GT0, D_GE0, D_OVO };
enum { P_SOFTMAX, P_LOGISTIC2, P_OVR_NORM, P_SVC_OVR };

static int lookup(const char *s, const char *const *names, int n)
{
    for (int i = 0; s && i < n; i++) if (!strcmp(s, names[i])) return i;
    return -1;
}

static int decide_mode(ert_ctx *ctx, uint32_t node)
{
    static const char *const names[] = {"argmax", "argmax_last", "gt0", "ge0", "ovo"};
    return lookup(ert_attr_str(ctx, node, "mode"), names, 5);
}

static int prob_mode(ert_ctx *ctx, uint32_t node)
{
    static const char *const names[] = {"softmax", "logistic2", "ovr_norm", "svc_ovr"};
    return lookup(ert_attr_str(ctx, node, "mode"), names, 4);
}

static double score(const void *p, uint8_t dtype, size_t i)
{
    return dtype == ERT_INT32 ? (double)((const int32_t *)p)[i] : ((const double *)p)[i];
}

/* The first (or with `last`, the last) largest of k scores from s + base. Selects instead of
 * branches: which score wins is data, and a mispredicted branch per row costs more than the
 * compare; inlined per dtype so the loop reads the scores directly. */
NN_INLINE uint32_t argmax(const void *s, uint8_t dtype, size_t base, uint32_t k, int last)
{
    uint32_t best = 0;
    double b = score(s, dtype, base);
    for (uint32_t c = 1; c < k; c++) {
        double v = score(s, dtype, base + c);
        uint32_t take = 0u - (uint32_t)((v > b) | (last & (v == b)));   /* all ones or zero */
        best = (c & take) | (best & ~take);
        b = v > b ? v : b;   /* a tie changes no comparison that follows */
    }
    return best;
}

#if NN_X86
/* argmax over k float64 scores for the four rows from s (lane a: row a), each lane taking the
 * portable loop's compares and selects in the same order: the same index, NaN and ties included. */
NN_AVX2 static void argmax4(const double *s, uint32_t k, int last, uint32_t best[4])
{
    __m256d b = _mm256_set_pd(s[3 * (size_t)k], s[2 * (size_t)k], s[k], s[0]), bi = _mm256_setzero_pd();
    for (uint32_t c = 1; c < k; c++) {
        __m256d v = _mm256_set_pd(s[3 * (size_t)k + c], s[2 * (size_t)k + c], s[(size_t)k + c], s[c]);
        __m256d take = _mm256_cmp_pd(v, b, _CMP_GT_OQ);
        if (last) take = _mm256_or_pd(take, _mm256_cmp_pd(v, b, _CMP_EQ_OQ));
        bi = _mm256_blendv_pd(bi, _mm256_set1_pd((double)c), take);
        b = _mm256_blendv_pd(b, v, take);
    }
    __m128i i32 = _mm256_cvttpd_epi32(bi);
    _mm_storeu_si128((__m128i *)best, i32);
}
#endif

/* Row r's label: class index `best`, or its entry in the class table. */
static void put_label(void *y, uint8_t y_dtype, const void *classes, uint32_t r, uint32_t best)
{
    if (!classes) ((int32_t *)y)[r] = (int32_t)best;
    else if (y_dtype == ERT_INT32) ((int32_t *)y)[r] = ((const int32_t *)classes)[best];
    else ((double *)y)[r] = ((const double *)classes)[best];
}

ert_status ert_check_nn_decide(ert_ctx *ctx, uint32_t node)
{
    ert_tensor s, c, y;
    uint32_t rows, k, yr, yc;
    if (!ert_input(ctx, node, 0, &s) || !ert_output(ctx, node, 0, &y)) NN_FAIL("NN_DECIDE: scores or label absent");
    if ((s.dtype != ERT_INT32 && s.dtype != ERT_FLOAT64) || !nn_rows(&s, 0, &rows, &k) || k < 1) NN_FAIL("NN_DECIDE: scores must be int32/float64 (batch[, k])");
    if (!nn_rows(&y, 0, &yr, &yc) || yr != rows || yc != 1) NN_FAIL("NN_DECIDE: label must be (batch,)");
    int mode = decide_mode(ctx, node);
    if (mode < 0) NN_FAIL("NN_DECIDE: unknown mode");
    uint32_t n_classes = mode == D_OVO ? (uint32_t)ert_attr_i32(ctx, node, "n_classes", 0) : (mode >= D_GT0 ? 2 : k);
    if (mode == D_OVO && (n_classes < 2 || n_classes > 4096 || n_classes * (n_classes - 1) / 2 != k)) NN_FAIL("NN_DECIDE: ovo needs n_classes (n - 1) / 2 pair columns");
    if (ert_input(ctx, node, 1, &c)) {
        if (c.rank != 1 || (uint32_t)c.shape[0] != n_classes || c.dtype != y.dtype || (c.dtype != ERT_INT32 && c.dtype != ERT_FLOAT64))
            NN_FAIL("NN_DECIDE: classes must be (n_classes,) of the label's dtype");
    } else if (y.dtype != ERT_INT32) {
        NN_FAIL("NN_DECIDE: a label without a class table is an int32 index");
    }
    return ERT_OK;
}

ert_status ert_k_nn_decide(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor ts, tc, ty;
    uint32_t rows = 0, k = 0;
    (void)activity;
    const void *s = ert_input(ctx, node, 0, &ts), *classes = ert_input(ctx, node, 1, &tc);
    void *y = ert_output(ctx, node, 0, &ty);
    nn_rows(&ts, 0, &rows, &k);
    int mode = decide_mode(ctx, node);
    uint32_t n_classes = (uint32_t)ert_attr_i32(ctx, node, "n_classes", 0), r = 0;
#if NN_X86
    if ((mode == D_ARGMAX || mode == D_ARGMAX_LAST) && ts.dtype == ERT_FLOAT64 && nn_avx2())
        for (; r + 4 <= rows; r += 4) {
            uint32_t best[4];
            argmax4((const double *)s + (size_t)r * k, k, mode == D_ARGMAX_LAST, best);
            for (uint32_t a = 0; a < 4; a++) put_label(y, ty.dtype, classes, r + a, best[a]);
        }
#endif
    for (; r < rows; r++) {
        size_t base = (size_t)r * k;
        uint32_t best = 0;
        if (mode == D_ARGMAX || mode == D_ARGMAX_LAST) {
            int last = mode == D_ARGMAX_LAST;
            best = ts.dtype == ERT_INT32 ? argmax(s, ERT_INT32, base, k, last) : argmax(s, ERT_FLOAT64, base, k, last);
        } else if (mode == D_GT0) {
            best = score(s, ts.dtype, base) > 0;
        } else if (mode == D_GE0) {
            best = score(s, ts.dtype, base) >= 0;
        } else {   /* ovo voting: the most votes, ties -> lowest class; votes counted twice over, no table */
            uint32_t best_votes = 0;
            for (uint32_t c = 0; c < n_classes; c++) {
                uint32_t votes = 0, p = 0;
                for (uint32_t i = 0; i < n_classes; i++)
                    for (uint32_t j = i + 1; j < n_classes; j++, p++) {
                        int first = score(s, ts.dtype, base + p) > 0;
                        votes += (first && i == c) || (!first && j == c);
                    }
                if (votes > best_votes || c == 0) { best_votes = votes; best = c; }
            }
        }
        put_label(y, ty.dtype, classes, r, best);
    }
    return ERT_OK;
}

ert_status ert_check_nn_prob(ert_ctx *ctx, uint32_t node)
{
    ert_tensor s, y;
    uint32_t rows, k, yr, yc;
    if (!ert_input(ctx, node, 0, &s) || !ert_output(ctx, node, 0, &y)) NN_FAIL("NN_PROB: scores or output absent");
    if (!nn_rows(&s, ERT_FLOAT64, &rows, &k) || !nn_rows(&y, ERT_FLOAT64, &yr, &yc) || yr != rows) NN_FAIL("NN_PROB: float64 (batch[, k]) in and out");
    int mode = prob_mode(ctx, node);
    uint32_t n = (uint32_t)ert_attr_i32(ctx, node, "n_classes", 0);
    if (mode < 0) NN_FAIL("NN_PROB: unknown mode");
    if ((mode == P_SOFTMAX || mode == P_OVR_NORM) && yc != k) NN_FAIL("NN_PROB: output width != scores width");
    if (mode == P_LOGISTIC2 && (k != 1 || yc != 2)) NN_FAIL("NN_PROB: logistic2 maps 1 score to 2 probabilities");
    if (mode == P_SVC_OVR && (n < 2 || n > 4096 || yc != n || n * (n - 1) / 2 != k)) NN_FAIL("NN_PROB: svc_ovr needs n_classes and its pairs");
    return ERT_OK;
}

static double logistic(double d) { return 1.0 / (1.0 + ert_exp(-d)); }

ert_status ert_k_nn_prob(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    ert_tensor ts, ty;
    uint32_t rows = 0, k = 0, yr = 0, yc = 0;
    (void)activity;
    const double *s = (const double *)ert_input(ctx, node, 0, &ts);
    double *y = (double *)ert_output(ctx, node, 0, &ty);
    nn_rows(&ts, ERT_FLOAT64, &rows, &k);
    nn_rows(&ty, ERT_FLOAT64, &yr, &yc);
    int mode = prob_mode(ctx, node);
    for (uint32_t r = 0; r < rows; r++) {
        const double *d = s + (size_t)r * k;
        double *o = y + (size_t)r * yc, total = 0.0;
        if (mode == P_LOGISTIC2) {
            double p = logistic(d[0]);
            o[0] = 1.0 - p; o[1] = p;
            continue;
        }
        if (mode == P_SVC_OVR) {   /* votes (d >= 0 -> first class) + conf / (3 (|conf| + 1)) */
            uint32_t p = 0;
            for (uint32_t c = 0; c < yc; c++) o[c] = 0.0;
            for (uint32_t i = 0; i < yc; i++)
                for (uint32_t j = i + 1; j < yc; j++, p++) { o[i] += d[p]; o[j] -= d[p]; }
            for (uint32_t c = 0; c < yc; c++) {
                uint32_t votes = 0;
                p = 0;
                for (uint32_t i = 0; i < yc; i++)
                    for (uint32_t j = i + 1; j < yc; j++, p++) votes += (d[p] >= 0 ? i : j) == c;
                o[c] = (double)votes + o[c] / (3 * (ert_fabs(o[c]) + 1));
            }
            continue;
        }
        double mx = d[0];
        for (uint32_t c = 1; c < k; c++) if (d[c] > mx) mx = d[c];
        for (uint32_t c = 0; c < k; c++) {
            o[c] = mode == P_SOFTMAX ? ert_exp(d[c] - mx) : logistic(d[c]);
            total += o[c];
        }
        for (uint32_t c = 0; c < k; c++) o[c] /= total;
    }
    return ERT_OK;
}
