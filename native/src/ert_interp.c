/* Interpreter over a validated model: op resolution, reset, invoke, and the accessors kernels
 * use. Every accessor stays inside the regions ert_model_parse checked. */
#include <string.h>
#include "ert.h"

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

ert_status ert_fail(ert_ctx *ctx, uint32_t node, ert_status code, const char *detail)
{
    ctx->error_node = node;
    ctx->error_detail = detail;
    return code;
}

/* The record of `node`, decoded once and kept in the context; NULL when out of range. */
static const ert_node *node_rec(ert_ctx *ctx, uint32_t node)
{
    if (ctx->node_index != node) {
        if (ert_node_get(&ctx->model, node, &ctx->node) != ERT_OK) return NULL;
        ctx->node_index = node;
    }
    return &ctx->node;
}

const ert_op *ert_node_op(ert_ctx *ctx, uint32_t node)
{
    const ert_node *n = node_rec(ctx, node);
    if (!n) return NULL;
    const uintptr_t h = (uintptr_t)n->op;
    ert_op_slot *slot = &ctx->ops[(h ^ (h >> 3)) & 3u];
    if (slot->name != n->op) {
        slot->op = ert_find_op(n->op);
        slot->name = n->op;
    }
    return slot->op;
}

ert_status ert_init(ert_ctx *ctx, const uint8_t *buf, uint32_t size, uint8_t *arena, uint32_t arena_size)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->error_node = ERT_NONE;
    ctx->error_detail = "";
    ctx->node_index = ERT_NONE;
    if (((uintptr_t)buf & 15u) || ((uintptr_t)arena & 15u))
        return ert_fail(ctx, ERT_NONE, ERT_E_ARG, "model buffer and arena must be 16-byte aligned");
    ert_status s = ert_model_parse(&ctx->model, buf, size, &ctx->error_detail);
    if (s != ERT_OK) return s;
    if (!arena && ctx->model.arena_size) return ert_fail(ctx, ERT_NONE, ERT_E_ARENA, "no arena given");
    if (arena_size < ctx->model.arena_size)
        return ert_fail(ctx, ERT_NONE, ERT_E_ARENA, "arena smaller than the model's header.arena_size");
    ctx->arena = arena;
    ctx->arena_size = arena_size;
    for (uint32_t i = 0; i < ctx->model.n_nodes; i++) {
        const ert_op *op = ert_node_op(ctx, i);
        if (!op) return ert_fail(ctx, i, ERT_E_UNSUPPORTED_OP, ctx->node.op);
        if (op->check && (s = op->check(ctx, i)) != ERT_OK) {
            if (ctx->error_node == ERT_NONE) ert_fail(ctx, i, s, "op check failed");
            return s;
        }
    }
    ctx->checked = 1;
    ert_reset(ctx);
    return ERT_OK;
}

void ert_reset(ert_ctx *ctx)
{
    const ert_model *m = &ctx->model;
    if (ctx->arena) memset(ctx->arena, 0, m->arena_size);
    for (uint32_t i = 0; i < m->n_tensors; i++) {
        ert_tensor t;
        ert_tensor_get(m, i, &t);
        if (t.storage == ERT_STATE && t.init != ERT_NONE) memcpy(ctx->arena + t.offset, m->data + t.init, t.nbytes);
    }
}

ert_status ert_invoke_node(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY])
{
    if (node >= ctx->model.n_nodes) return ert_fail(ctx, ERT_NONE, ERT_E_ARG, "node index out of range");
    const ert_op *op = ert_node_op(ctx, node);
    if (!op) return ert_fail(ctx, node, ERT_E_UNSUPPORTED_OP, ctx->node.op);
    for (int k = 0; k < ERT_N_ACTIVITY; k++) activity[k] = 0;
    ctx->error_node = ERT_NONE;
    ctx->error_detail = "";
    ert_status s = op->run(ctx, node, activity);
    if (s != ERT_OK && ctx->error_node == ERT_NONE) ert_fail(ctx, node, s, "kernel failed");
    return s;
}

ert_status ert_invoke(ert_ctx *ctx, uint32_t *activity)
{
    uint32_t scratch[ERT_N_ACTIVITY];
    for (uint32_t i = 0; i < ctx->model.n_nodes; i++) {
        ert_status s = ert_invoke_node(ctx, i, activity ? activity + ERT_N_ACTIVITY * i : scratch);
        if (s != ERT_OK) return s;
    }
    return ERT_OK;
}

/* ---- accessors ---- */

static int32_t io_index(ert_ctx *ctx, uint32_t node, uint32_t k, int output)
{
    const ert_node *n = node_rec(ctx, node);
    if (!n) return -1;
    uint32_t count = output ? n->n_outputs : n->n_inputs, first = output ? n->outputs_first : n->inputs_first;
    return k < count ? ert_index(&ctx->model, first + k) : -1;
}

int32_t ert_input_index(ert_ctx *ctx, uint32_t node, uint32_t k) { return io_index(ctx, node, k, 0); }
int32_t ert_output_index(ert_ctx *ctx, uint32_t node, uint32_t k) { return io_index(ctx, node, k, 1); }

static void *tensor_ptr(ert_ctx *ctx, const ert_tensor *t)
{
    return t->storage == ERT_CONST ? (void *)(ctx->model.data + t->offset) : ctx->arena + t->offset;
}

void *ert_tensor_data(ert_ctx *ctx, int32_t tensor)
{
    ert_tensor t;
    if (tensor < 0 || ert_tensor_get(&ctx->model, (uint32_t)tensor, &t) != ERT_OK) return NULL;
    return tensor_ptr(ctx, &t);
}

static void *io_data(ert_ctx *ctx, uint32_t node, uint32_t k, ert_tensor *t, int output)
{
    ert_tensor local;
    int32_t ix = io_index(ctx, node, k, output);
    if (ix < 0) return NULL;
    if (!t) t = &local;
    ert_tensor_get(&ctx->model, (uint32_t)ix, t);
    return tensor_ptr(ctx, t);
}

const void *ert_input(ert_ctx *ctx, uint32_t node, uint32_t k, ert_tensor *t) { return io_data(ctx, node, k, t, 0); }
void *ert_output(ert_ctx *ctx, uint32_t node, uint32_t k, ert_tensor *t) { return io_data(ctx, node, k, t, 1); }

void *ert_scratch(ert_ctx *ctx, uint32_t node, uint32_t *size)
{
    const ert_node *n = node_rec(ctx, node);
    if (!n || !n->scratch_size) {
        if (size) *size = 0;
        return NULL;
    }
    if (size) *size = n->scratch_size;
    return ctx->arena + n->scratch_offset;
}

float ert_scale(ert_ctx *ctx, const ert_tensor *t, uint32_t c)
{
    if (!t->quant_count) return 0.0f;
    if (c >= t->quant_count) c = 0;
    return ((const float *)(ctx->model.data + t->scales))[c];
}

int32_t ert_zero_point(ert_ctx *ctx, const ert_tensor *t, uint32_t c)
{
    if (!t->quant_count) return 0;
    if (c >= t->quant_count) c = 0;
    return ((const int32_t *)(ctx->model.data + t->zero_points))[c];
}

/* The ATTRS record named `name` of a node with the given type, or NULL. */
static const uint8_t *find_attr(ert_ctx *ctx, uint32_t node, const char *name, uint32_t type)
{
    const ert_model *m = &ctx->model;
    const ert_node *n = node_rec(ctx, node);
    if (!n) return NULL;
    for (uint32_t a = 0; a < n->n_attrs; a++) {
        const uint8_t *r = m->attrs + 16u * (n->attrs_first + a);
        const char *s = (const char *)m->strings + rd32(r);
        if (r[4] == type && s[0] == name[0] && !strcmp(s, name)) return r;
    }
    return NULL;
}

static const void *attr_array(ert_ctx *ctx, uint32_t node, const char *name, uint32_t type, uint32_t *count)
{
    const uint8_t *r = find_attr(ctx, node, name, type);
    if (count) *count = r ? rd32(r + 8) : 0;
    return r ? ctx->model.data + rd32(r + 12) : NULL;
}

const int32_t *ert_attr_i32s(ert_ctx *ctx, uint32_t node, const char *name, uint32_t *count)
{ return (const int32_t *)attr_array(ctx, node, name, ERT_ATTR_I32, count); }
const float *ert_attr_f32s(ert_ctx *ctx, uint32_t node, const char *name, uint32_t *count)
{ return (const float *)attr_array(ctx, node, name, ERT_ATTR_F32, count); }
const double *ert_attr_f64s(ert_ctx *ctx, uint32_t node, const char *name, uint32_t *count)
{ return (const double *)attr_array(ctx, node, name, ERT_ATTR_F64, count); }

int32_t ert_attr_i32(ert_ctx *ctx, uint32_t node, const char *name, int32_t def)
{
    uint32_t n;
    const int32_t *v = ert_attr_i32s(ctx, node, name, &n);
    return v && n ? v[0] : def;
}

float ert_attr_f32(ert_ctx *ctx, uint32_t node, const char *name, float def)
{
    uint32_t n;
    const float *v = ert_attr_f32s(ctx, node, name, &n);
    return v && n ? v[0] : def;
}

double ert_attr_f64(ert_ctx *ctx, uint32_t node, const char *name, double def)
{
    uint32_t n;
    const double *v = ert_attr_f64s(ctx, node, name, &n);
    return v && n ? v[0] : def;
}

const char *ert_attr_str(ert_ctx *ctx, uint32_t node, const char *name)
{
    const uint8_t *r = find_attr(ctx, node, name, ERT_ATTR_STR);
    return r ? (const char *)ctx->model.strings + rd32(r + 12) : NULL;
}
