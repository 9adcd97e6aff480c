/* edgert model (.ert) reader and interpreter: the C side shared by the host runtime (cffi)
 * and the firmware. Plain C99, no allocation, no globals; see docs/ert-format.md. */
#ifndef ERT_H
#define ERT_H

#include <stddef.h>
#include <stdint.h>

#define ERT_VERSION_MAJOR 1
#define ERT_VERSION_MINOR 0
#define ERT_NONE 0xFFFFFFFFu
#define ERT_MAX_RANK 6
#define ERT_MAX_NODE_IO 16
#define ERT_MAX_NODE_ATTRS 64
#define ERT_N_ACTIVITY 4

/* Status codes: 0 is success; every failure has its own code (ert_status_name). */
typedef enum {
    ERT_OK = 0,
    ERT_E_TRUNCATED = 1,     /* file shorter than a header / size field says */
    ERT_E_MAGIC = 2,
    ERT_E_VERSION = 3,
    ERT_E_CRC = 4,
    ERT_E_SECTION = 5,       /* section table entry out of bounds / misaligned / duplicated */
    ERT_E_STRING = 6,        /* string reference out of bounds or unterminated */
    ERT_E_TENSOR = 7,        /* tensor record invalid (dtype, rank, shape, size, bounds) */
    ERT_E_NODE = 8,          /* node record invalid (index out of range, counts) */
    ERT_E_ATTR = 9,          /* attribute record invalid, or a required attribute missing */
    ERT_E_UNSUPPORTED_OP = 10,
    ERT_E_ARENA = 11,        /* arena too small for the model */
    ERT_E_SHAPE = 12,        /* tensor shapes do not fit the op */
    ERT_E_KERNEL = 13,       /* kernel failed at run time (e.g. corrupt tree, bad index) */
    ERT_E_ARG = 14,          /* caller error (bad input index, wrong size) */
} ert_status;

typedef enum {
    ERT_INT8 = 1, ERT_UINT8 = 2, ERT_INT16 = 3, ERT_UINT16 = 4, ERT_INT32 = 5,
    ERT_UINT32 = 6, ERT_FLOAT32 = 7, ERT_FLOAT64 = 8, ERT_BOOL = 9, ERT_INT64 = 10,
} ert_dtype;

typedef enum { ERT_CONST = 0, ERT_ARENA = 1, ERT_STATE = 2 } ert_storage;

typedef enum { ERT_ATTR_I32 = 1, ERT_ATTR_F32 = 2, ERT_ATTR_STR = 3, ERT_ATTR_F64 = 4 } ert_attr_type;

/* A validated view of the file: pointers into the caller's buffer, nothing copied. */
typedef struct {
    const uint8_t *buf;
    uint32_t size;
    uint32_t arena_size;
    const uint8_t *strings; uint32_t strings_size;
    const uint8_t *tensors; uint32_t n_tensors;
    const uint8_t *nodes;   uint32_t n_nodes;
    const uint8_t *attrs;   uint32_t n_attrs;
    const uint8_t *indices; uint32_t n_indices;
    const uint8_t *data;    uint32_t data_size;
    const uint8_t *meta;    uint32_t meta_size;
    uint32_t inputs_first, n_inputs, outputs_first, n_outputs;
} ert_model;

/* A decoded tensor record. */
typedef struct {
    const char *name;
    uint8_t dtype, rank, storage;
    int32_t shape[ERT_MAX_RANK];
    uint32_t offset, nbytes;
    uint32_t quant_count;
    int32_t quant_axis;
    uint32_t scales, zero_points, init;
} ert_tensor;

/* A decoded node record. */
typedef struct {
    const char *op;
    const char *name;
    uint32_t inputs_first, n_inputs, outputs_first, n_outputs;
    uint32_t attrs_first, n_attrs;
    uint32_t scratch_offset, scratch_size;
} ert_node;

struct ert_ctx;

/* Every kernel has this signature. It reads its inputs, attrs and quant params through the
 * accessors below, writes its outputs in the arena, and fills activity[0..3] (op-defined
 * counters, zeroed by the caller). Returns ERT_OK or an error code; never reads out of
 * bounds even when the model's constants are hostile. */
typedef ert_status (*ert_kernel_fn)(struct ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);

/* Optional per-op shape/attr check run once at load time (NULL if none). */
typedef ert_status (*ert_check_fn)(struct ert_ctx *ctx, uint32_t node);

typedef struct {
    const char *name;
    ert_kernel_fn run;
    ert_check_fn check;
} ert_op;

typedef struct {
    const char *name;
    const ert_op *op;
} ert_op_slot;

/* Interpreter context: the model, the caller-provided arena, and the error detail. */
typedef struct ert_ctx {
    ert_model model;
    uint8_t *arena;
    uint32_t arena_size;
    uint32_t error_node;       /* node that failed, ERT_NONE if none */
    const char *error_detail;  /* static string naming the failed check */
    uint32_t checked;          /* 1 once ert_init ran every node's check: kernels may then skip
                                  re-scanning constants their check already scanned */
    /* caches over the read-only model (accessors run a dozen times per kernel call) */
    uint32_t node_index;       /* the node decoded in `node`, ERT_NONE before the first */
    ert_node node;
    ert_op_slot ops[4];        /* op table entries by op-name address (STRINGS holds each once) */
} ert_ctx;

/* ---- loading (ert_model.c) ---- */
uint32_t ert_crc32(uint32_t crc, const uint8_t *p, uint32_t n);
/* Validate the whole file (header, sections, every record, every reference). */
ert_status ert_model_parse(ert_model *m, const uint8_t *buf, uint32_t size, const char **detail);
ert_status ert_tensor_get(const ert_model *m, uint32_t i, ert_tensor *t);
ert_status ert_node_get(const ert_model *m, uint32_t i, ert_node *n);
int32_t ert_index(const ert_model *m, uint32_t i); /* INDICES[i], i < n_indices checked by parse */
const char *ert_status_name(ert_status s);
uint32_t ert_dtype_size(uint32_t dtype);

/* ---- interpreter (ert_interp.c) ---- */
/* Parse + resolve every op + run each op's check; arena must hold model.arena_size bytes. */
ert_status ert_init(ert_ctx *ctx, const uint8_t *buf, uint32_t size, uint8_t *arena, uint32_t arena_size);
void ert_reset(ert_ctx *ctx);                          /* zero arena, load STATE inits */
ert_status ert_invoke_node(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
/* Run every node; activity may be NULL, else n_nodes * ERT_N_ACTIVITY counters. */
ert_status ert_invoke(ert_ctx *ctx, uint32_t *activity);
const ert_op *ert_find_op(const char *name);
/* The op of a node (NULL if unknown or out of range), through the context's cache. It also
 * makes the node the context's decoded one, so that its kernel's accessors start warm: call
 * it right before the kernel (firmware cycle counts then cover the kernel alone). */
const ert_op *ert_node_op(ert_ctx *ctx, uint32_t node);
uint32_t ert_op_count(void);
const char *ert_op_name(uint32_t i);

/* ---- accessors for kernels (ert_interp.c) ---- */
/* Tensor index of input/output k of a node, -1 when absent. */
int32_t ert_input_index(ert_ctx *ctx, uint32_t node, uint32_t k);
int32_t ert_output_index(ert_ctx *ctx, uint32_t node, uint32_t k);
/* Pointer to the bytes of a tensor (CONST in DATA, ARENA/STATE in the arena). */
void *ert_tensor_data(ert_ctx *ctx, int32_t tensor);
const void *ert_input(ert_ctx *ctx, uint32_t node, uint32_t k, ert_tensor *t);  /* NULL if absent */
void *ert_output(ert_ctx *ctx, uint32_t node, uint32_t k, ert_tensor *t);
void *ert_scratch(ert_ctx *ctx, uint32_t node, uint32_t *size);
/* Quantization of a tensor: scale / zero point of channel c (per-tensor: c ignored). */
float ert_scale(ert_ctx *ctx, const ert_tensor *t, uint32_t c);
int32_t ert_zero_point(ert_ctx *ctx, const ert_tensor *t, uint32_t c);
/* Attributes by name. Scalars: return def when absent. Arrays: *count set, NULL when absent. */
int32_t ert_attr_i32(ert_ctx *ctx, uint32_t node, const char *name, int32_t def);
float ert_attr_f32(ert_ctx *ctx, uint32_t node, const char *name, float def);
double ert_attr_f64(ert_ctx *ctx, uint32_t node, const char *name, double def);
const int32_t *ert_attr_i32s(ert_ctx *ctx, uint32_t node, const char *name, uint32_t *count);
const float *ert_attr_f32s(ert_ctx *ctx, uint32_t node, const char *name, uint32_t *count);
const double *ert_attr_f64s(ert_ctx *ctx, uint32_t node, const char *name, uint32_t *count);
const char *ert_attr_str(ert_ctx *ctx, uint32_t node, const char *name);
/* Record why a kernel failed (a static string) and return code. */
ert_status ert_fail(ert_ctx *ctx, uint32_t node, ert_status code, const char *detail);

#endif
