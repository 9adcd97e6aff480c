/* Kernel SVM pair decisions, NN_SVM (float64, libsvm's order of sums) and NN_SVM_Q (integer);
 * the numpy reference and the attributes: runtime/kernels/nonneural_svm.py. Kernel values of
 * one row live in the node's scratch (n_sv doubles / int64). */
#include "nn_common.h"
#include "nn_x86.h"

enum { K_LINEAR, K_RBF, K_POLY, K_SIGMOID };

typedef struct {
    const void *x, *sv, *dual, *icpt; void *out;
    uint32_t batch, features, n_sv, n_classes, n_pairs;
    const int32_t *n_support;
    int kind;
    void *kv;
} svm_t;

static int kernel_kind(const char *s)
{
    if (!s) return -1;
    if (!strcmp(s, "linear")) return K_LINEAR;
    if (!strcmp(s, "rbf")) return K_RBF;
    if (!strcmp(s, "poly")) return K_POLY;
    if (!strcmp(s, "sigmoid")) return K_SIGMOID;
    return -1;
}

static ert_status svm_bind(ert_ctx *ctx, uint32_t node, int fixed, svm_t *m)
{
    ert_tensor x, sv, dual, icpt, out;
    uint32_t n_groups, rows, scratch;
    memset(m, 0, sizeof *m);
    if (!(m->x = ert_input(ctx, node, 0, &x)) || !(m->sv = ert_input(ctx, node, 1, &sv)) ||
        !(m->dual = ert_input(ctx, node, 2, &dual)) || !(m->icpt = ert_input(ctx, node, 3, &icpt)) ||
        !(m->out = ert_output(ctx, node, 0, &out)))
        NN_FAIL("svm: an input or the output is absent");
    if (x.rank != 2 || x.dtype != (fixed ? ERT_INT16 : ERT_FLOAT64)) NN_FAIL("svm: x must be (batch, features)");
    m->batch = (uint32_t)x.shape[0]; m->features = (uint32_t)x.shape[1];
    if (!nn_mat(&sv, fixed ? ERT_INT16 : ERT_FLOAT64, -1, (int32_t)m->features)) NN_FAIL("svm: support vectors must be (n_sv, features)");
    m->n_sv = (uint32_t)sv.shape[0];
    m->n_classes = (uint32_t)ert_attr_i32(ctx, node, "n_classes", 0);
    m->n_support = ert_attr_i32s(ctx, node, "n_support", &n_groups);
    if (m->n_classes < 2 || m->n_classes > 4096 || !m->n_support || n_groups != m->n_classes)
        NN_FAIL("svm: n_classes / n_support missing or inconsistent");
    uint64_t total = 0;
    for (uint32_t i = 0; i < n_groups; i++) {
        if (m->n_support[i] < 0) NN_FAIL("svm: negative n_support");
        total += (uint32_t)m->n_support[i];
    }
    if (total != m->n_sv) NN_FAIL("svm: n_support does not add up to the support vectors");
    m->n_pairs = m->n_classes * (m->n_classes - 1) / 2;
    if (!nn_mat(&dual, fixed ? ERT_INT32 : ERT_FLOAT64, (int32_t)(m->n_classes - 1), (int32_t)m->n_sv))
        NN_FAIL("svm: dual coefficients must be (n_classes - 1, n_sv)");
    if (icpt.rank != 1 || icpt.dtype != (fixed ? ERT_INT64 : ERT_FLOAT64) || (uint32_t)icpt.shape[0] != m->n_pairs)
        NN_FAIL("svm: intercept must be (n_pairs,)");
    if (!nn_rows(&out, fixed ? ERT_INT32 : ERT_FLOAT64, &rows, &scratch) || rows != m->batch || scratch != m->n_pairs)
        NN_FAIL("svm: output must be (batch[, n_pairs])");
    m->kind = kernel_kind(ert_attr_str(ctx, node, "kernel"));
    if (m->kind < 0) NN_FAIL("svm: unknown kernel");
    m->kv = ert_scratch(ctx, node, &scratch);
    if (!m->kv || scratch < 8ull * m->n_sv) NN_FAIL("svm: scratch smaller than 8 bytes per support vector");
    return ERT_OK;
}

ert_status ert_check_nn_svm(ert_ctx *ctx, uint32_t node) { svm_t m; return svm_bind(ctx, node, 0, &m); }

ert_status ert_check_nn_svm_q(ert_ctx *ctx, uint32_t node)
{
    svm_t m;
    ert_status s = svm_bind(ctx, node, 1, &m);
    if (s != ERT_OK) return s;
    static const char *const shifts[] = {"pre_shift", "g_shift", "k_shift", "frac", "shift"};
    for (uint32_t i = 0; i < sizeof shifts / sizeof shifts[0]; i++)
        if ((uint32_t)ert_attr_i32(ctx, node, shifts[i], 0) > 62) NN_FAIL("svm: a shift attribute is outside 0..62");
    if ((uint32_t)ert_attr_i32(ctx, node, "degree", 0) > 64) NN_FAIL("svm: degree > 64");
    return ERT_OK;
}

/* sum of dual * kv over the pair's two class blocks, libsvm's order. */
#define PAIR_SUMS(ACC_T, DUAL_T, KV, EMIT)                                                        \
    do {                                                                                          \
        const DUAL_T *dual = (const DUAL_T *)m.dual;                                              \
        uint32_t p = 0, si = 0;                                                                   \
        for (uint32_t i = 0; i < m.n_classes; i++) {                                              \
            uint32_t sj = si + (uint32_t)m.n_support[i];                                          \
            for (uint32_t j = i + 1; j < m.n_classes; j++) {                                      \
                uint32_t sj0 = sj;                                                                \
                for (uint32_t q = i + 1; q < j; q++) sj0 += (uint32_t)m.n_support[q];             \
                ACC_T acc = 0;                                                                    \
                for (uint32_t s = si; s < si + (uint32_t)m.n_support[i]; s++)                     \
                    acc += (ACC_T)dual[(size_t)(j - 1) * m.n_sv + s] * KV[s];                      \
                for (uint32_t s = sj0; s < sj0 + (uint32_t)m.n_support[j]; s++)                   \
                    acc += (ACC_T)dual[(size_t)i * m.n_sv + s] * KV[s];                            \
                EMIT;                                                                             \
                p++;                                                                              \
            }                                                                                     \
            si = sj;                                                                              \
        }                                                                                         \
    } while (0)

/* libsvm's kernel value of x and one support vector v (the portable loop). */
static double kernel_value(const svm_t *m, const double *xr, const double *v, double gamma, double coef0, int32_t degree)
{
    double acc = 0.0;
    if (m->kind == K_RBF) {
        for (uint32_t j = 0; j < m->features; j++) { double d = xr[j] - v[j]; acc += d * d; }
        return ert_exp(-gamma * acc);
    }
    for (uint32_t j = 0; j < m->features; j++) acc += xr[j] * v[j];
    if (m->kind == K_LINEAR) return acc;
    if (m->kind == K_SIGMOID) return ert_tanh(gamma * acc + coef0);
    double base = gamma * acc + coef0, ret = 1.0;   /* libsvm's powi */
    for (int32_t t = degree; t > 0; t /= 2) {
        if (t % 2 == 1) ret *= base;
        base *= base;
    }
    return ret;
}

#if NN_X86
/* kv[s..s+3] from the four lanes of acc (sums of squares for rbf, dot products otherwise). */
NN_AVX2 static inline void finish4(const svm_t *m, const double *xr, __m256d acc, uint32_t s, double gamma, double coef0,
                                   int32_t degree, double *kv)
{
    __m256d k = acc;
    if (m->kind == K_RBF) {
        if (!nn_exp4_neg(_mm256_mul_pd(_mm256_set1_pd(-gamma), acc), &k)) {   /* a lane off ert_exp's main branch */
            for (uint32_t i = 0; i < 4; i++)
                kv[s + i] = kernel_value(m, xr, (const double *)m->sv + (size_t)(s + i) * m->features, gamma, coef0, degree);
            return;
        }
    } else if (m->kind == K_POLY) {
        __m256d base = _mm256_add_pd(_mm256_mul_pd(_mm256_set1_pd(gamma), acc), _mm256_set1_pd(coef0));
        k = _mm256_set1_pd(1.0);
        for (int32_t t = degree; t > 0; t /= 2) {
            if (t % 2 == 1) k = _mm256_mul_pd(k, base);
            base = _mm256_mul_pd(base, base);
        }
    }
    _mm256_storeu_pd(kv + s, k);
    if (m->kind == K_SIGMOID)
        for (uint32_t i = 0; i < 4; i++) kv[s + i] = ert_tanh(gamma * kv[s + i] + coef0);
}

NN_AVX2 __attribute__((always_inline)) static inline void sums(const svm_t *m, const double *xr, uint32_t s, int nb, __m256d *acc)
{
    const double *rows = (const double *)m->sv + (size_t)s * m->features;
    if (m->kind == K_RBF) nn_sums(xr, 0, 1, rows, m->features, m->features, NN_SUM_SQ, nb, acc);
    else nn_sums(xr, 0, 1, rows, m->features, m->features, NN_SUM_DOT, nb, acc);
}

/* kernel_value for every support vector, 16 then 4 at a time in AVX2 lanes (the same bits). */
NN_AVX2 static void kernel_values_avx2(const svm_t *m, const double *xr, double gamma, double coef0, int32_t degree, double *kv)
{
    uint32_t s = 0;
    __m256d acc[4];
    for (; s + 16 <= m->n_sv; s += 16) {
        sums(m, xr, s, 4, acc);
        for (uint32_t b = 0; b < 4; b++) finish4(m, xr, acc[b], s + 4 * b, gamma, coef0, degree, kv);
    }
    for (; s + 4 <= m->n_sv; s += 4) {
        sums(m, xr, s, 1, acc);
        finish4(m, xr, acc[0], s, gamma, coef0, degree, kv);
    }
    for (; s < m->n_sv; s++) kv[s] = kernel_value(m, xr, (const double *)m->sv + (size_t)s * m->features, gamma, coef0, degree);
}
#endif

ert_status ert_k_nn_svm(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    svm_t m;
    ert_status st = svm_bind(ctx, node, 0, &m);
    if (st != ERT_OK) return st;
    double gamma = ert_attr_f64(ctx, node, "gamma", 0.0), coef0 = ert_attr_f64(ctx, node, "coef0", 0.0);
    int32_t degree = ert_attr_i32(ctx, node, "degree", 3);
    const double *x = (const double *)m.x, *sv = (const double *)m.sv, *icpt = (const double *)m.icpt;
    double *kv = (double *)m.kv, *out = (double *)m.out;
#if NN_X86
    const int avx2 = nn_avx2();
#endif
    for (uint32_t r = 0; r < m.batch; r++) {
        const double *xr = x + (size_t)r * m.features;
#if NN_X86
        if (avx2) kernel_values_avx2(&m, xr, gamma, coef0, degree, kv);
        else
#endif
            for (uint32_t s = 0; s < m.n_sv; s++) kv[s] = kernel_value(&m, xr, sv + (size_t)s * m.features, gamma, coef0, degree);
        activity[0] += m.n_sv;
        PAIR_SUMS(double, double, kv, out[(size_t)r * m.n_pairs + p] = acc + icpt[p]);
    }
    return ERT_OK;
}

static int32_t saturate(int64_t v) { return (int32_t)(v > INT32_MAX ? INT32_MAX : (v < -INT32_MAX ? -INT32_MAX : v)); }

ert_status ert_k_nn_svm_q(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    svm_t m;
    ert_status st = svm_bind(ctx, node, 1, &m);
    if (st != ERT_OK) return st;
    uint32_t pre = (uint32_t)ert_attr_i32(ctx, node, "pre_shift", 0), g_shift = (uint32_t)ert_attr_i32(ctx, node, "g_shift", 0);
    uint32_t k_shift = (uint32_t)ert_attr_i32(ctx, node, "k_shift", 0), frac = (uint32_t)ert_attr_i32(ctx, node, "frac", 16);
    uint32_t shift = (uint32_t)ert_attr_i32(ctx, node, "shift", 0), degree = (uint32_t)ert_attr_i32(ctx, node, "degree", 3);
    int64_t d_max = ert_attr_i32(ctx, node, "d_max", 0), g_mul = ert_attr_i32(ctx, node, "g_mul", 0);
    int64_t coef0_q = ert_attr_i32(ctx, node, "coef0_q", 0);
    if (pre > 62 || g_shift > 62 || k_shift > 62 || frac > 62 || shift > 62) NN_FAIL("svm: shift attribute out of range");
    const int16_t *x = (const int16_t *)m.x, *sv = (const int16_t *)m.sv;
    const int64_t *icpt = (const int64_t *)m.icpt;
    int64_t *kv = (int64_t *)m.kv;
    int32_t *out = (int32_t *)m.out;
    for (uint32_t r = 0; r < m.batch; r++) {
        const int16_t *xr = x + (size_t)r * m.features;
        for (uint32_t s = 0; s < m.n_sv; s++) {
            const int16_t *v = sv + (size_t)s * m.features;
            int64_t acc = 0;
            if (m.kind == K_RBF) {
                for (uint32_t j = 0; j < m.features; j++) { int64_t d = (int64_t)xr[j] - v[j]; acc += d * d; }
                kv[s] = acc > (d_max << pre) ? 0 : nn_exp_q24(((acc >> pre) * g_mul) >> g_shift);
                continue;
            }
            for (uint32_t j = 0; j < m.features; j++) acc += (int64_t)xr[j] * v[j];
            acc = nn_asr(acc, pre);
            if (m.kind == K_LINEAR) { kv[s] = nn_asr(acc, k_shift); continue; }
            int64_t u = nn_asr(acc * g_mul, g_shift) + coef0_q;
            if (m.kind == K_SIGMOID) { kv[s] = nn_tanh_q24(u); continue; }
            int64_t pw = (int64_t)1 << frac;
            for (uint32_t t = 0; t < degree; t++) pw = nn_asr(pw * u, frac);
            kv[s] = nn_asr(pw, k_shift);
        }
        activity[0] += m.n_sv;
        PAIR_SUMS(int64_t, int32_t, kv, out[(size_t)r * m.n_pairs + p] = saturate(nn_round_shift(acc + icpt[p], shift)));
    }
    return ERT_OK;
}
