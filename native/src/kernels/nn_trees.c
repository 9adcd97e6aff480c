/* Tree ensembles: NN_TREES (float32 x vs float32 thresholds), NN_HIST_TREES (float64),
 * NN_TREES_Q (int16). The numpy reference and the table layout are documented in
 * runtime/kernels/nonneural_trees.py. The load-time check proves every tree is a preorder
 * table (children after their parent, inside the table), so a walk ends within N steps; the
 * kernel re-checks each step anyway and fails cleanly on a corrupt table. */
#include "nn_common.h"
#include "nn_x86.h"

enum { ROW_BLOCK = 256 };   /* rows per block on x86-64 hosts (trees_run) */
/* rows walked side by side (walk_rows): out-of-order x86 cores overlap their loads; in-order
 * microcontroller cores would only pay for the finished rows' idle rounds (1: walk alone) */
enum { WALK_ROWS = NN_X86 ? 4 : 1, PROBE_GROUPS = 4 };

enum { T_F32 = 0, T_F64 = 1, T_Q = 2 };

typedef struct {
    const void *x; uint8_t x_dtype; uint32_t batch, features;
    const int32_t *nodes; uint32_t n_nodes;
    const void *thr;
    const void *leaves; uint32_t n_leaves, width;
    void *out; uint32_t n_out;
    const int32_t *roots, *targets; uint32_t n_trees;
} trees_t;

static ert_status trees_bind(ert_ctx *ctx, uint32_t node, int kind, trees_t *t)
{
    ert_tensor x, nodes, thr, leaves, out;
    uint32_t n_targets, rows;
    static const uint8_t thr_dtype[] = {ERT_FLOAT32, ERT_FLOAT64, ERT_INT16};
    memset(t, 0, sizeof *t);
    if (!(t->x = ert_input(ctx, node, 0, &x)) || !(t->nodes = ert_input(ctx, node, 1, &nodes)) ||
        !(t->thr = ert_input(ctx, node, 2, &thr)) || !(t->leaves = ert_input(ctx, node, 3, &leaves)) ||
        !(t->out = ert_output(ctx, node, 0, &out)))
        NN_FAIL("trees: an input or the output is absent");
    if (x.rank != 2 || (kind == T_F32 && !nn_is_float(&x)) || (kind == T_F64 && x.dtype != ERT_FLOAT64) ||
        (kind == T_Q && x.dtype != ERT_INT16))
        NN_FAIL("trees: x must be (batch, features) of the op's dtype");
    t->x_dtype = x.dtype; t->batch = (uint32_t)x.shape[0]; t->features = (uint32_t)x.shape[1];
    if (!nn_mat(&nodes, ERT_INT32, -1, 3)) NN_FAIL("trees: nodes must be int32 (N, 3)");
    t->n_nodes = (uint32_t)nodes.shape[0];
    if (thr.rank != 1 || thr.dtype != thr_dtype[kind] || (uint32_t)thr.shape[0] != t->n_nodes)
        NN_FAIL("trees: thresholds must be (N,) of the op's dtype");
    if (!nn_mat(&leaves, kind == T_Q ? ERT_INT32 : ERT_FLOAT64, -1, -1)) NN_FAIL("trees: bad leaf table");
    t->n_leaves = (uint32_t)leaves.shape[0]; t->width = (uint32_t)leaves.shape[1];
    if (!nn_rows(&out, kind == T_Q ? ERT_INT32 : ERT_FLOAT64, &rows, &t->n_out) || rows != t->batch)
        NN_FAIL("trees: output must be (batch[, outputs]) float64 / int32");
    t->roots = ert_attr_i32s(ctx, node, "roots", &t->n_trees);
    t->targets = ert_attr_i32s(ctx, node, "targets", &n_targets);
    if (!t->roots || !t->targets || n_targets != t->n_trees) NN_FAIL("trees: roots/targets missing or of different lengths");
    return ERT_OK;
}

static ert_status trees_check(ert_ctx *ctx, uint32_t node, int kind)
{
    trees_t t;
    uint32_t n_init;
    ert_status s = trees_bind(ctx, node, kind, &t);
    if (s != ERT_OK) return s;
    for (uint32_t i = 0; i < t.n_nodes; i++) {
        const int32_t *nd = t.nodes + 3u * i;
        if (nd[1] == -1) {
            if (nd[0] < 0 || (uint32_t)nd[0] >= t.n_leaves) return ert_fail(ctx, node, ERT_E_ATTR, "trees: leaf row out of range");
        } else if (nd[0] < 0 || (uint32_t)nd[0] >= t.features || nd[1] <= (int32_t)i || nd[2] <= (int32_t)i ||
                   (uint32_t)nd[1] >= t.n_nodes || (uint32_t)nd[2] >= t.n_nodes) {
            return ert_fail(ctx, node, ERT_E_ATTR, "trees: child index not after its parent or out of range (corrupt or cyclic tree)");
        }
    }
    for (uint32_t k = 0; k < t.n_trees; k++)
        if (t.roots[k] < 0 || (uint32_t)t.roots[k] >= t.n_nodes || t.targets[k] < 0 ||
            (uint64_t)t.targets[k] + t.width > t.n_out)
            return ert_fail(ctx, node, ERT_E_ATTR, "trees: root or target column out of range");
    if (kind == T_Q ? !ert_attr_i32s(ctx, node, "init", &n_init) : !ert_attr_f64s(ctx, node, "init", &n_init))
        NN_FAIL("trees: init missing");
    if (n_init != t.n_out) NN_FAIL("trees: init length != outputs");
    return ERT_OK;
}

ert_status ert_check_nn_trees(ert_ctx *ctx, uint32_t node) { return trees_check(ctx, node, T_F32); }
ert_status ert_check_nn_hist_trees(ert_ctx *ctx, uint32_t node) { return trees_check(ctx, node, T_F64); }
ert_status ert_check_nn_trees_q(ert_ctx *ctx, uint32_t node) { return trees_check(ctx, node, T_Q); }

/* Whether row element x[i] goes left at node n (x <= threshold in the op's dtype). */
NN_INLINE int goes_left(const trees_t *t, int kind, size_t i, uint32_t n)
{
    if (kind == T_Q) return ((const int16_t *)t->x)[i] <= ((const int16_t *)t->thr)[n];
    if (kind == T_F64) return ((const double *)t->x)[i] <= ((const double *)t->thr)[n];
    if (t->x_dtype == ERT_FLOAT32) return ((const float *)t->x)[i] <= ((const float *)t->thr)[n];
    return (float)((const double *)t->x)[i] <= ((const float *)t->thr)[n];
}

/* Walks one tree for row r from `root`; returns the leaf node, or -1 if the table is corrupt
 * (a child not after its parent or outside the table, a feature out of range). One branch per
 * level: cheapest where every row reaches its leaf at the same depth (predicted exits). */
NN_INLINE int32_t walk(const trees_t *t, int kind, uint32_t r, uint32_t root, uint32_t *steps)
{
    const int32_t *nodes = t->nodes;
    const uint32_t n_nodes = t->n_nodes, features = t->features;
    uint32_t n = root, count = 1;
    while (nodes[3u * n + 1] != -1) {   /* every step goes to a higher index: <= N steps */
        int32_t f = nodes[3u * n], child;
        if (f < 0 || (uint32_t)f >= features) return -1;
        child = nodes[3u * n + (goes_left(t, kind, (size_t)r * features + (uint32_t)f, n) ? 1 : 2)];
        if (child <= (int32_t)n || (uint32_t)child >= n_nodes) return -1;
        n = (uint32_t)child;
        count++;
    }
    *steps += count;
    return (int32_t)n;
}

/* Walks one tree from `root` for the WALK_ROWS rows from r0 side by side: each round moves every
 * row not yet at a leaf one level down by selects, so the rows' loads overlap and the
 * data-dependent exits cost no mispredicted branches. at[a]: row r0 + a's leaf node. Returns
 * -1 if the table is corrupt (as walk), else 1 if the rows reached their leaves at different
 * depths, 0 if at one depth (the case walk predicts well). */
NN_INLINE int walk_rows(const trees_t *t, int kind, uint32_t r0, uint32_t root, uint32_t *steps, uint32_t *at)
{
    const int32_t *nodes = t->nodes;
    const uint32_t n_nodes = t->n_nodes, features = t->features;
    uint32_t count = WALK_ROWS, moving, mixed = 0;   /* nodes visited: each root, then one per move */
    for (uint32_t a = 0; a < WALK_ROWS; a++) at[a] = root;
    do {
        uint32_t bad = 0;
        moving = 0;
        for (uint32_t a = 0; a < WALK_ROWS; a++) {
            const uint32_t n = at[a];
            const int32_t *nd = nodes + 3u * n;
            const int32_t f = nd[0];
            const uint32_t inner = nd[1] != -1, f_ok = (uint32_t)f < features;   /* a leaf's nd[0] is its leaf row */
            const int32_t child = nd[2 - goes_left(t, kind, (size_t)(r0 + a) * features + (f_ok ? (uint32_t)f : 0u), n)];
            bad |= inner & (!f_ok | ((uint32_t)child - n - 1u >= n_nodes - n - 1u));   /* child in n+1..N-1 */
            at[a] = inner ? (uint32_t)child : n;
            moving += inner;
        }
        if (bad) return -1;
        mixed |= moving != 0 && moving != WALK_ROWS;
        count += moving;
    } while (moving);
    *steps += count;
    return (int)mixed;
}

/* Adds leaf node n's row to row r's outputs from column `target`; 0 if n is not a sound leaf. */
NN_INLINE int add_leaf(const trees_t *t, int kind, uint32_t r, int32_t target, uint32_t n)
{
    int32_t leaf = t->nodes[3u * n];
    if (leaf < 0 || (uint32_t)leaf >= t->n_leaves) return 0;
    size_t o = (size_t)r * t->n_out + (uint32_t)target, li = (size_t)leaf * t->width;
    for (uint32_t w = 0; w < t->width; w++) {
        if (kind == T_Q) ((int32_t *)t->out)[o + w] += ((const int32_t *)t->leaves)[li + w];
        else ((double *)t->out)[o + w] += ((const double *)t->leaves)[li + w];
    }
    return 1;
}

/* Adds tree k's leaves to the outputs of rows r0..r1-1. Every output sums its trees in
 * estimator order because the callers take the trees in order for each row. Rows go side by
 * side (x86-64) unless the first PROBE_GROUPS groups each reached their leaves at one depth
 * (e.g. gradient boosting's full depth-3 trees): then the rest take the branchy walk, whose
 * exits are predicted. */
NN_INLINE ert_status tree_rows(ert_ctx *ctx, uint32_t node, const trees_t *t, int kind, uint32_t k, uint32_t r0, uint32_t r1,
                               uint32_t *visited)
{
    uint32_t root = (uint32_t)t->roots[k], r = r0, at[WALK_ROWS], uniform = 0;
    int32_t target = t->targets[k];
    int ragged = 0;
    if (root >= t->n_nodes || target < 0 || (uint64_t)target + t->width > t->n_out)
        return ert_fail(ctx, node, ERT_E_KERNEL, "trees: root or target out of range");
    for (; WALK_ROWS > 1 && r + WALK_ROWS <= r1 && (ragged || uniform < PROBE_GROUPS); r += WALK_ROWS) {
        int st = walk_rows(t, kind, r, root, visited, at);
        if (st < 0) return ert_fail(ctx, node, ERT_E_KERNEL, "trees: corrupt or cyclic tree");
        ragged |= st;
        uniform++;
        for (uint32_t a = 0; a < WALK_ROWS; a++)
            if (!add_leaf(t, kind, r + a, target, at[a])) return ert_fail(ctx, node, ERT_E_KERNEL, "trees: leaf out of range");
    }
    for (; r < r1; r++) {
        int32_t n = walk(t, kind, r, root, visited);
        if (n < 0) return ert_fail(ctx, node, ERT_E_KERNEL, "trees: corrupt or cyclic tree");
        if (!add_leaf(t, kind, r, target, (uint32_t)n)) return ert_fail(ctx, node, ERT_E_KERNEL, "trees: leaf out of range");
    }
    return ERT_OK;
}

NN_INLINE ert_status trees_run(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY], int kind)
{
    trees_t t;
    uint32_t n_init;
    ert_status s = trees_bind(ctx, node, kind, &t);
    if (s != ERT_OK) return s;
    const double *init_f = kind == T_Q ? NULL : ert_attr_f64s(ctx, node, "init", &n_init);
    const int32_t *init_q = kind == T_Q ? ert_attr_i32s(ctx, node, "init", &n_init) : NULL;
    double divisor = kind == T_Q ? 1.0 : ert_attr_f64(ctx, node, "divisor", 1.0);
    if ((!init_f && !init_q) || n_init != t.n_out) NN_FAIL("trees: init missing");
    for (uint32_t i = 0; i < t.batch * t.n_out; i++) {
        if (kind == T_Q) ((int32_t *)t.out)[i] = init_q[i % t.n_out];
        else ((double *)t.out)[i] = init_f[i % t.n_out];
    }
    uint32_t visited = 0;
#if NN_X86
    /* x86-64 hosts: every tree over a block of rows whose features stay in L1 (a big batch's
     * rows would be read once per tree from further away) */
    for (uint32_t r0 = 0; r0 < t.batch; r0 += ROW_BLOCK) {
        uint32_t r1 = t.batch - r0 < ROW_BLOCK ? t.batch : r0 + ROW_BLOCK;
        for (uint32_t k = 0; k < t.n_trees; k++)
            if ((s = tree_rows(ctx, node, &t, kind, k, r0, r1, &visited)) != ERT_OK) return s;
    }
#else
    /* tree by tree over all rows: one tree's table stays in cache */
    for (uint32_t k = 0; k < t.n_trees; k++)
        if ((s = tree_rows(ctx, node, &t, kind, k, 0, t.batch, &visited)) != ERT_OK) return s;
#endif
    if (kind != T_Q)
        for (uint32_t i = 0; i < t.batch * t.n_out; i++) ((double *)t.out)[i] /= divisor;
    activity[0] += visited;
    activity[1] += t.batch * t.n_trees;
    return ERT_OK;
}

ert_status ert_k_nn_trees(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]) { return trees_run(ctx, node, activity, T_F32); }
ert_status ert_k_nn_hist_trees(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]) { return trees_run(ctx, node, activity, T_F64); }
ert_status ert_k_nn_trees_q(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]) { return trees_run(ctx, node, activity, T_Q); }
