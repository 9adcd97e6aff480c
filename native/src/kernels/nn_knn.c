/* k nearest neighbours (k-means and nearest centroid are k = 1): NN_KNN (float64) and NN_KNN_Q
 * (int16 features, int64 distances). The reference: runtime/kernels/nonneural_knn.py. The k best
 * (distance, index) pairs of one row live in the node's scratch; equal distances keep point order. */
#include "nn_common.h"
#include "nn_x86.h"

typedef struct {
    const void *x, *pts, *targets; void *out;
    uint32_t batch, features, n_pts, k, n_classes, n_out;
    int distance_w;
    void *best_d; uint32_t *best_i;
} knn_t;

static ert_status knn_bind(ert_ctx *ctx, uint32_t node, int fixed, knn_t *m)
{
    ert_tensor x, pts, tg, out;
    uint32_t rows, scratch;
    memset(m, 0, sizeof *m);
    if (!(m->x = ert_input(ctx, node, 0, &x)) || !(m->pts = ert_input(ctx, node, 1, &pts)) ||
        !(m->targets = ert_input(ctx, node, 2, &tg)) || !(m->out = ert_output(ctx, node, 0, &out)))
        NN_FAIL("knn: an input or the output is absent");
    uint8_t xt = fixed ? ERT_INT16 : ERT_FLOAT64;
    if (x.rank != 2 || x.dtype != xt) NN_FAIL("knn: x must be (batch, features)");
    m->batch = (uint32_t)x.shape[0]; m->features = (uint32_t)x.shape[1];
    if (!nn_mat(&pts, xt, -1, (int32_t)m->features) || pts.shape[0] < 1) NN_FAIL("knn: points must be (n >= 1, features)");
    m->n_pts = (uint32_t)pts.shape[0];
    m->k = (uint32_t)ert_attr_i32(ctx, node, "k", 0);
    m->n_classes = (uint32_t)ert_attr_i32(ctx, node, "n_classes", 0);
    if (m->k < 1 || m->k > m->n_pts) NN_FAIL("knn: k must be 1..n_points");
    if (!nn_rows(&out, fixed ? ERT_INT32 : ERT_FLOAT64, &rows, &m->n_out) || rows != m->batch) NN_FAIL("knn: bad output");
    if (m->n_classes) {
        if (tg.rank != 1 || tg.dtype != ERT_INT32 || (uint32_t)tg.shape[0] != m->n_pts || m->n_out != m->n_classes)
            NN_FAIL("knn: class targets must be int32 (n,) and the output (batch, n_classes)");
    } else if (tg.dtype != (fixed ? ERT_INT32 : ERT_FLOAT64) || tg.shape[0] != (int32_t)m->n_pts || nn_numel(&tg) != m->n_pts * m->n_out) {
        NN_FAIL("knn: regression targets must be (n, outputs)");
    }
    const char *w = ert_attr_str(ctx, node, "weights");
    if (!w || (strcmp(w, "uniform") && strcmp(w, "distance"))) NN_FAIL("knn: weights must be uniform or distance");
    m->distance_w = !strcmp(w, "distance");
    m->best_d = ert_scratch(ctx, node, &scratch);
    if (!m->best_d || scratch < 12ull * m->k) NN_FAIL("knn: scratch smaller than 12 bytes per neighbour");
    m->best_i = (uint32_t *)((uint8_t *)m->best_d + 8u * m->k);
    return ERT_OK;
}

ert_status ert_check_nn_knn(ert_ctx *ctx, uint32_t node) { knn_t m; return knn_bind(ctx, node, 0, &m); }

ert_status ert_check_nn_knn_q(ert_ctx *ctx, uint32_t node)
{
    knn_t m;
    ert_status s = knn_bind(ctx, node, 1, &m);
    if (s != ERT_OK) return s;
    int32_t p = ert_attr_i32(ctx, node, "p", 0);
    if (p != 1 && p != 2) NN_FAIL("knn: fixed mode supports p = 1 or 2");
    return ERT_OK;
}

/* Class labels inside 0..n_classes-1 (checked per use: targets are constants of the file). */
static int label_ok(const knn_t *m, uint32_t i) { int32_t c = ((const int32_t *)m->targets)[i]; return c >= 0 && (uint32_t)c < m->n_classes; }

/* Insert (d, i) into the sorted best list of length *n (at most k); ties keep earlier points first. */
#define INSERT(T, NAME, ATTR)                                                                     \
    ATTR static void NAME(T *bd, uint32_t *bi, uint32_t *n, uint32_t k, T d, uint32_t i)         \
    {                                                                                             \
        if (*n == k && !(d < bd[k - 1])) return;                                                  \
        uint32_t pos = *n < k ? *n : k - 1;                                                       \
        while (pos > 0 && bd[pos - 1] > d) { bd[pos] = bd[pos - 1]; bi[pos] = bi[pos - 1]; pos--; } \
        bd[pos] = d; bi[pos] = i;                                                                 \
        if (*n < k) (*n)++;                                                                       \
    }
INSERT(double, insert_double, )
INSERT(int64_t, insert_int64_t, )

/* sum |a - b|^p over the features (no root): one loop per common p, so the hot ones stay branch-free. */
static double reduced_distance(const double *a, const double *b, uint32_t n, double p)
{
    double acc = 0.0;
    if (p == 2.0) {
        for (uint32_t j = 0; j < n; j++) { double d = a[j] - b[j]; acc += d * d; }
    } else if (p == 1.0) {
        for (uint32_t j = 0; j < n; j++) { double d = a[j] - b[j]; acc += d < 0 ? -d : d; }
    } else {
        for (uint32_t j = 0; j < n; j++) acc += ert_pow(ert_fabs(a[j] - b[j]), p);
    }
    return acc;
}

/* Term a of a neighbour sum: weight w[a] (NULL: 1) times target values[rows[a] * stride + col]
 * (values NULL: the weight alone). */
static inline double sum_term(const double *w, const double *values, const uint32_t *rows, uint32_t stride,
                              uint32_t col, uint32_t a)
{
    if (!values) return w[a];
    const double v = values[(size_t)rows[a] * stride + col];
    return w ? v * w[a] : v;
}

/* numpy's pairwise summation of n terms from `off` (np.sum over a contiguous axis), for runs of
 * up to 128: fewer than 8 added one by one from -0.0, else eight running sums over groups of 8,
 * combined as ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)), then the remainder. */
static double pairwise_run(const double *w, const double *values, const uint32_t *rows, uint32_t stride,
                           uint32_t col, uint32_t off, uint32_t n)
{
    if (n < 8) {
        double res = -0.0;
        for (uint32_t a = 0; a < n; a++) res += sum_term(w, values, rows, stride, col, off + a);
        return res;
    }
    double r[8];
    for (uint32_t j = 0; j < 8; j++) r[j] = sum_term(w, values, rows, stride, col, off + j);
    uint32_t a = 8;
    for (; a < n - n % 8; a += 8)
        for (uint32_t j = 0; j < 8; j++) r[j] += sum_term(w, values, rows, stride, col, off + a + j);
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; a < n; a++) res += sum_term(w, values, rows, stride, col, off + a);
    return res;
}

/* The whole pairwise sum: runs over 128 terms split in two (the first part a multiple of 8 near
 * half) whose sums are added, as numpy recurses; here with an explicit stack (no recursion on
 * the firmware: 32 levels hold any uint32 count). */
static double pairwise_sum(const double *w, const double *values, const uint32_t *rows, uint32_t stride,
                           uint32_t col, uint32_t n)
{
    struct { uint32_t off, n, stage; double left; } st[32];
    int sp = 0;
    double res = 0.0;
    st[0].off = 0; st[0].n = n; st[0].stage = 0;
    for (;;) {
        uint32_t half = st[sp].n / 2 - st[sp].n / 2 % 8;
        if (st[sp].n <= 128) {
            res = pairwise_run(w, values, rows, stride, col, st[sp].off, st[sp].n);
        } else if (st[sp].stage < 2) {   /* descend into the left part, then the right one */
            uint32_t off = st[sp].off + (st[sp].stage ? half : 0), len = st[sp].stage ? st[sp].n - half : half;
            if (st[sp].stage++) st[sp].left = res;
            sp++;
            st[sp].off = off; st[sp].n = len; st[sp].stage = 0;
            continue;
        } else {
            res = st[sp].left + res;
        }
        if (sp-- == 0) return res;
    }
}

/* Weight of a neighbour at reduced distance d: 1 (uniform), 1 / distance, or, when some
 * neighbour of the row is at distance 0, 1 for those and 0 for the others (sklearn). */
static inline double knn_weight(const knn_t *m, double p, int any_zero, double d)
{
    if (any_zero) return d == 0.0 ? 1.0 : 0.0;
    if (!m->distance_w) return 1.0;
    return 1.0 / (p == 2.0 ? ert_sqrt(d) : (p == 1.0 ? d : ert_pow(d, 1.0 / p)));
}

/* Turns row r's best list (n neighbours: reduced distances bd, point indices bi) into its
 * output: votes per class or the weighted mean of the targets, added in sklearn's order.
 * Classifiers add votes neighbour by neighbour (its predict_proba). Regressors: sklearn sums
 * over the neighbour axis of a (rows, k) array, in numpy's pairwise order (np.sum; np.mean of
 * one target column), except uniform multi-target means, which numpy adds one neighbour after
 * the other. bd is overwritten with the weights. The fields live in locals: with
 * -fno-strict-aliasing a store to o could change *m, so each would be reloaded per element. */
NN_INLINE ert_status knn_vote(ert_ctx *ctx, uint32_t node, const knn_t *m, double p, uint32_t n, double *bd,
                              const uint32_t *bi, double *o)
{
    const uint32_t n_out = m->n_out, n_classes = m->n_classes;
    const int32_t *labels = (const int32_t *)m->targets;
    const double *values = (const double *)m->targets;
    int any_zero = 0;
    for (uint32_t a = 0; a < n; a++) any_zero |= m->distance_w && bd[a] == 0.0;
    for (uint32_t a = 0; a < n; a++) bd[a] = knn_weight(m, p, any_zero, bd[a]);
    double total = 0.0;
    if (!n_classes && (m->distance_w || n_out == 1)) {
        const double *w = m->distance_w ? bd : NULL;
        total = w ? pairwise_sum(w, NULL, bi, n_out, 0, n) : (double)n;
        for (uint32_t t = 0; t < n_out; t++) o[t] = pairwise_sum(w, values, bi, n_out, t, n);
    } else {
        for (uint32_t t = 0; t < n_out; t++) o[t] = 0.0;
        for (uint32_t a = 0; a < n; a++) {
            total += bd[a];
            if (n_classes) {
                if (!label_ok(m, bi[a])) return ert_fail(ctx, node, ERT_E_KERNEL, "knn: class label out of range");
                o[labels[bi[a]]] += bd[a];
            } else {
                for (uint32_t t = 0; t < n_out; t++) o[t] += bd[a] * values[(size_t)bi[a] * n_out + t];
            }
        }
    }
    if (total != 1.0)   /* x / 1.0 == x: one neighbour (k-means, nearest centroid) skips the divisions */
        for (uint32_t t = 0; t < n_out; t++) o[t] /= total;
    return ERT_OK;
}

#if NN_X86
INSERT(double, insert_double_avx2, NN_AVX2)   /* VEX-encoded: no SSE code between the AVX2 loops */

enum { TILE_ROWS = 4, TILE_K = 16 };   /* row tiles keep their best lists on the stack */
enum { SMALL_PTS = 8, SMALL_FEATURES = 64 };   /* tables transposed once (knn_avx2) */

/* Offers the four distances of points i..i+3 to one row's best list in point order; a block
 * none of whose distances beats the current k-th changes nothing and is skipped. */
NN_AVX2 static inline void offer4(const knn_t *m, __m256d d4, uint32_t i, uint32_t *n, double *bd, uint32_t *bi)
{
    double d[4];
    if (*n == m->k && !_mm256_movemask_pd(_mm256_cmp_pd(d4, _mm256_set1_pd(bd[m->k - 1]), _CMP_LT_OQ))) return;
    _mm256_storeu_pd(d, d4);
    for (uint32_t a = 0; a < 4; a++) insert_double_avx2(bd, bi, n, m->k, d[a], i + a);
}

/* k = 1 (k-means, nearest centroid): lane a keeps the nearest of the points = a mod 4 seen so
 * far (d, index as a double), updated by selects, not by an insert per point. The first
 * block sets it; a later point replaces only a strictly smaller distance (ties keep the earlier). */
NN_AVX2 static inline void keep_nearest(__m256d d4, uint32_t i, int first, __m256d *ld, __m256d *li)
{
    __m256d idx = _mm256_add_pd(_mm256_set1_pd((double)i), _mm256_set_pd(3.0, 2.0, 1.0, 0.0));
    if (first) { *ld = d4; *li = idx; return; }
    __m256d lt = _mm256_cmp_pd(d4, *ld, _CMP_LT_OQ);
    *ld = _mm256_blendv_pd(*ld, d4, lt);
    *li = _mm256_blendv_pd(*li, idx, lt);
}

/* The nearest of the four lanes' nearest (ties: the lowest point index) as a best list of one. */
NN_AVX2 static inline void nearest_of_lanes(__m256d ld, __m256d li, uint32_t *n, double *bd, uint32_t *bi)
{
    double d[4], ix[4];
    _mm256_storeu_pd(d, ld);
    _mm256_storeu_pd(ix, li);
    int best = 0;
    for (int a = 1; a < 4; a++) best = d[a] < d[best] || (d[a] == d[best] && ix[a] < ix[best]) ? a : best;
    bd[0] = d[best]; bi[0] = (uint32_t)ix[best]; *n = 1;
}

/* Offers points i..i + 4 nb - 1 to the best lists of the nr rows from xr (p = 2 or 1, the
 * bits of reduced_distance); row r's list is bd / bi + r k, or for k = 1 its lanes ld / li + r.
 * `small`: the whole table transposed (knn_avx2), else NULL. */
NN_AVX2 __attribute__((always_inline)) static inline void offer_block(const knn_t *m, const double *xr, int nr, uint32_t i,
                                                                       int squared, int nb, uint32_t *n, double *bd, uint32_t *bi,
                                                                       __m256d *ld, __m256d *li, const double *small)
{
    __m256d acc[8];
    const double *rows = (const double *)m->pts + (size_t)i * m->features;
    if (small && squared) nn_sums_t(xr, m->features, nr, small, SMALL_PTS, m->features, NN_SUM_SQ, nb, acc);
    else if (small) nn_sums_t(xr, m->features, nr, small, SMALL_PTS, m->features, NN_SUM_ABS, nb, acc);
    else if (squared) nn_sums(xr, m->features, nr, rows, m->features, m->features, NN_SUM_SQ, nb, acc);
    else nn_sums(xr, m->features, nr, rows, m->features, m->features, NN_SUM_ABS, nb, acc);
    for (int r = 0; r < nr; r++)
        for (int b = 0; b < nb; b++) {
            uint32_t at = i + 4u * (uint32_t)b;
            if (m->k == 1) keep_nearest(acc[r * nb + b], at, at == 0, ld + r, li + r);
            else offer4(m, acc[r * nb + b], at, n + r, bd + (size_t)r * m->k, bi + (size_t)r * m->k);
        }
}

/* The k best of nr (1 or TILE_ROWS) rows from xr: 16 or 8 points per step, then 4, then one. */
NN_AVX2 __attribute__((always_inline)) static inline void best_rows(const knn_t *m, const double *xr, int nr, int squared,
                                                                     uint32_t *n, double *bd, uint32_t *bi, const double *small)
{
    const int nb = nr == 1 ? 4 : 2;
    __m256d ld[TILE_ROWS], li[TILE_ROWS];
    uint32_t i = 0;
    for (int r = 0; r < nr; r++) { n[r] = 0; ld[r] = li[r] = _mm256_setzero_pd(); }
    if (small) {   /* one block of 4 or 8 lanes; the padding lanes (+inf) never come before a point */
        if (m->n_pts > 4) offer_block(m, xr, nr, 0, squared, 2, n, bd, bi, ld, li, small);
        else offer_block(m, xr, nr, 0, squared, 1, n, bd, bi, ld, li, small);
        i = m->n_pts;
    }
    for (; i + 4u * (uint32_t)nb <= m->n_pts; i += 4u * (uint32_t)nb) offer_block(m, xr, nr, i, squared, nb, n, bd, bi, ld, li, NULL);
    for (; i + 4 <= m->n_pts; i += 4) offer_block(m, xr, nr, i, squared, 1, n, bd, bi, ld, li, NULL);
    if (m->k == 1 && i > 0)
        for (int r = 0; r < nr; r++) nearest_of_lanes(ld[r], li[r], n + r, bd + r, bi + r);
    for (; i < m->n_pts; i++)
        for (int r = 0; r < nr; r++)
            insert_double_avx2(bd + (size_t)r * m->k, bi + (size_t)r * m->k, n + r, m->k,
                               reduced_distance(xr + (size_t)r * m->features, (const double *)m->pts + (size_t)i * m->features,
                                                m->features, squared ? 2.0 : 1.0), i);
}

/* k = 1 over a transposed table of at most 8 points (tp: features x 8 lanes, +inf padding) for
 * TILE_ROWS rows at once, one eight-lane vector per row: each lane adds its features in the
 * portable loop's order without FMA, so the distances have the portable bits, and the nearest
 * is the lowest lane holding the minimum (ties keep the earlier point, padding comes last).
 * Returns 0, leaving the rows to the general path, when a distance is NaN. */
NN_AVX512 static int nearest8_rows(const double *x, uint32_t f, const double *tp, int squared, double *bd, uint32_t *bi)
{
    __m512d acc[TILE_ROWS];
    for (int r = 0; r < TILE_ROWS; r++) acc[r] = _mm512_setzero_pd();
    for (uint32_t j = 0; j < f; j++) {
        const __m512d t = _mm512_loadu_pd(tp + (size_t)j * SMALL_PTS);
        for (int r = 0; r < TILE_ROWS; r++) {
            const __m512d d = _mm512_sub_pd(_mm512_set1_pd(x[(size_t)r * f + j]), t);
            acc[r] = _mm512_add_pd(acc[r], squared ? _mm512_mul_pd(d, d) : _mm512_abs_pd(d));
        }
    }
    for (int r = 0; r < TILE_ROWS; r++) {
        if (_mm512_cmp_pd_mask(acc[r], acc[r], _CMP_UNORD_Q)) return 0;
        bd[r] = _mm512_reduce_min_pd(acc[r]);
        bi[r] = (uint32_t)__builtin_ctz(_mm512_cmp_pd_mask(acc[r], _mm512_set1_pd(bd[r]), _CMP_EQ_OQ));
    }
    return 1;
}

NN_AVX2 static ert_status knn_avx2(ert_ctx *ctx, uint32_t node, const knn_t *m, double p, uint32_t activity[ERT_N_ACTIVITY])
{
    const double *x = (const double *)m->x;
    double tile_d[TILE_ROWS * TILE_K], *out = (double *)m->out;
    uint32_t tile_i[TILE_ROWS * TILE_K], n[TILE_ROWS];
    uint32_t r = 0;
    /* a table of <= SMALL_PTS points (k-means, nearest centroid) is transposed once, padded with
     * +inf (its distances are +inf and come last, so they are never chosen), so that the
     * distance loop loads four points' feature j at once instead of loading and shuffling */
    double tp[SMALL_FEATURES * SMALL_PTS];
    const double *small = NULL;
    if (m->n_pts <= SMALL_PTS && m->features <= SMALL_FEATURES) {
        for (uint32_t j = 0; j < m->features; j++)
            for (uint32_t q = 0; q < SMALL_PTS; q++)
                tp[j * SMALL_PTS + q] = q < m->n_pts ? ((const double *)m->pts)[(size_t)q * m->features + j] : __builtin_inf();
        small = tp;
    }
    if (small && m->k == 1 && nn_avx512())   /* k-means, nearest centroid: all points in one vector */
        for (; r + TILE_ROWS <= m->batch; r += TILE_ROWS) {
            if (!nearest8_rows(x + (size_t)r * m->features, m->features, small, p == 2.0, tile_d, tile_i)) break;
            for (uint32_t t = 0; t < TILE_ROWS; t++) {
                ert_status st = knn_vote(ctx, node, m, p, 1, tile_d + t, tile_i + t, out + (size_t)(r + t) * m->n_out);
                if (st != ERT_OK) return st;
            }
        }
    if (m->k <= TILE_K)
        for (; r + TILE_ROWS <= m->batch; r += TILE_ROWS) {
            best_rows(m, x + (size_t)r * m->features, TILE_ROWS, p == 2.0, n, tile_d, tile_i, small);
            for (uint32_t t = 0; t < TILE_ROWS; t++) {
                ert_status st = knn_vote(ctx, node, m, p, n[t], tile_d + t * m->k, tile_i + t * m->k, out + (size_t)(r + t) * m->n_out);
                if (st != ERT_OK) return st;
            }
        }
    for (; r < m->batch; r++) {
        best_rows(m, x + (size_t)r * m->features, 1, p == 2.0, n, (double *)m->best_d, m->best_i, small);
        ert_status st = knn_vote(ctx, node, m, p, n[0], (double *)m->best_d, m->best_i, out + (size_t)r * m->n_out);
        if (st != ERT_OK) return st;
    }
    activity[0] += m->batch * m->n_pts;
    return ERT_OK;
}
#endif

ert_status ert_k_nn_knn(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    knn_t m;
    ert_status st = knn_bind(ctx, node, 0, &m);
    if (st != ERT_OK) return st;
    double p = ert_attr_f64(ctx, node, "p", 2.0);
#if NN_X86
    if (nn_avx2() && (p == 2.0 || p == 1.0)) return knn_avx2(ctx, node, &m, p, activity);
#endif
    const double *x = (const double *)m.x, *pts = (const double *)m.pts;
    double *bd = (double *)m.best_d;
    for (uint32_t r = 0; r < m.batch; r++) {
        uint32_t n = 0;
        for (uint32_t i = 0; i < m.n_pts; i++)
            insert_double(bd, m.best_i, &n, m.k, reduced_distance(x + (size_t)r * m.features,
                                                                  pts + (size_t)i * m.features, m.features, p), i);
        activity[0] += m.n_pts;
        st = knn_vote(ctx, node, &m, p, n, bd, m.best_i, (double *)m.out + (size_t)r * m.n_out);
        if (st != ERT_OK) return st;
    }
    return ERT_OK;
}

ert_status ert_k_nn_knn_q(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    knn_t m;
    ert_status st = knn_bind(ctx, node, 1, &m);
    if (st != ERT_OK) return st;
    int32_t p = ert_attr_i32(ctx, node, "p", 2);
    const int16_t *x = (const int16_t *)m.x, *pts = (const int16_t *)m.pts;
    int64_t *bd = (int64_t *)m.best_d;
    int32_t *out = (int32_t *)m.out;
    for (uint32_t r = 0; r < m.batch; r++) {
        uint32_t n = 0;
        const int16_t *xr = x + (size_t)r * m.features;
        for (uint32_t i = 0; i < m.n_pts; i++) {
            const int16_t *pt = pts + (size_t)i * m.features;
            int64_t acc = 0;
            if (p == 2)
                for (uint32_t j = 0; j < m.features; j++) { int64_t d = (int64_t)xr[j] - pt[j]; acc += d * d; }
            else
                for (uint32_t j = 0; j < m.features; j++) { int64_t d = (int64_t)xr[j] - pt[j]; acc += d < 0 ? -d : d; }
            insert_int64_t(bd, m.best_i, &n, m.k, acc, i);
        }
        activity[0] += m.n_pts;
        int any_zero = 0;
        for (uint32_t a = 0; a < n; a++) any_zero |= m.distance_w && bd[a] == 0;
        int64_t total = 0, acc[64];
        uint32_t n_out = m.n_out;
        int32_t *o = out + (size_t)r * n_out;
        for (uint32_t t0 = 0; t0 < n_out; t0 += 64) {   /* columns in blocks of 64: no big stack */
            uint32_t cols = n_out - t0 < 64 ? n_out - t0 : 64;
            total = 0;
            for (uint32_t t = 0; t < cols; t++) acc[t] = 0;
            for (uint32_t a = 0; a < n; a++) {
                int64_t w = 1;
                if (any_zero) w = bd[a] == 0;
                else if (m.distance_w) {
                    int64_t d16 = p == 2 ? nn_isqrt(bd[a] << 8) : bd[a] << 4;
                    w = ((int64_t)1 << 32) / (d16 > 1 ? d16 : 1);
                }
                total += w;
                if (m.n_classes) {
                    if (!label_ok(&m, m.best_i[a])) return ert_fail(ctx, node, ERT_E_KERNEL, "knn: class label out of range");
                    int32_t c = ((const int32_t *)m.targets)[m.best_i[a]];
                    if ((uint32_t)c >= t0 && (uint32_t)c < t0 + cols) acc[c - t0] += w;
                } else {
                    for (uint32_t t = 0; t < cols; t++)
                        acc[t] += w * ((const int32_t *)m.targets)[(size_t)m.best_i[a] * n_out + t0 + t];
                }
            }
            uint32_t shift = 0;
            while (m.n_classes && (total >> shift) >= ((int64_t)1 << 30)) shift++;
            for (uint32_t t = 0; t < cols; t++)
                o[t0 + t] = (int32_t)(m.n_classes ? acc[t] >> shift : acc[t] / total);   /* C division truncates */
        }
    }
    return ERT_OK;
}
