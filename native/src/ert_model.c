/* .ert reader: validates the whole file once (docs/ert-format.md) so that the interpreter and
 * the kernels can index records without further checks. Trusts nothing: all arithmetic on
 * file values is done in 64 bits, every reference is bounds-checked, every loop is bounded
 * by the file's real size. No allocation, no globals. */
#include <string.h>
#include "ert.h"

#define HEADER_SIZE 64u
#define MAX_SECTIONS 16u
enum { SEC_STRINGS = 1, SEC_TENSORS, SEC_NODES, SEC_ATTRS, SEC_INDICES, SEC_DATA, SEC_META };

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* Reflected CRC-32 (poly 0xEDB88320), four bits per step: a 64-byte table keeps it small
 * enough for the smallest firmware port and ~4x faster than bit by bit. */
uint32_t ert_crc32(uint32_t crc, const uint8_t *p, uint32_t n)
{
    static const uint32_t nibble[16] = {
        0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
        0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
        0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu};
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        crc = (crc >> 4) ^ nibble[crc & 15u];
        crc = (crc >> 4) ^ nibble[crc & 15u];
    }
    return ~crc;
}

const char *ert_status_name(ert_status s)
{
    static const char *const names[] = {
        "OK", "TRUNCATED", "BAD_MAGIC", "BAD_VERSION", "BAD_CRC", "BAD_SECTION", "BAD_STRING",
        "BAD_TENSOR", "BAD_NODE", "BAD_ATTR", "UNSUPPORTED_OP", "ARENA_TOO_SMALL", "BAD_SHAPE",
        "KERNEL_FAILED", "BAD_ARGUMENT"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "UNKNOWN_STATUS";
}

uint32_t ert_dtype_size(uint32_t dtype)
{
    static const uint8_t sizes[] = {0, 1, 1, 2, 2, 4, 4, 4, 8, 1, 8};
    return dtype < sizeof sizes ? sizes[dtype] : 0;
}

/* The STRINGS section ends in NUL (checked by parse), so any in-range reference is a string. */
static int string_ok(const ert_model *m, uint32_t ref) { return ref < m->strings_size; }

/* [off, off + len) inside DATA and off aligned to `align`. */
static int data_ok(const ert_model *m, uint32_t off, uint64_t len, uint32_t align)
{
    return off % align == 0 && (uint64_t)off + len <= m->data_size;
}

int32_t ert_index(const ert_model *m, uint32_t i) { return (int32_t)rd32(m->indices + 4u * i); }

ert_status ert_tensor_get(const ert_model *m, uint32_t i, ert_tensor *t)
{
    if (i >= m->n_tensors) return ERT_E_ARG;
    const uint8_t *r = m->tensors + 64u * i;
    t->name = (const char *)m->strings + rd32(r);
    t->dtype = r[4]; t->rank = r[5]; t->storage = r[6];
    for (int k = 0; k < ERT_MAX_RANK; k++) t->shape[k] = (int32_t)rd32(r + 8 + 4 * k);
    t->offset = rd32(r + 32); t->nbytes = rd32(r + 36);
    t->quant_count = rd32(r + 40); t->quant_axis = (int32_t)rd32(r + 44);
    t->scales = rd32(r + 48); t->zero_points = rd32(r + 52); t->init = rd32(r + 56);
    return ERT_OK;
}

ert_status ert_node_get(const ert_model *m, uint32_t i, ert_node *n)
{
    if (i >= m->n_nodes) return ERT_E_ARG;
    const uint8_t *r = m->nodes + 48u * i;
    n->op = (const char *)m->strings + rd32(r);
    n->name = (const char *)m->strings + rd32(r + 4);
    n->inputs_first = rd32(r + 8); n->n_inputs = rd32(r + 12);
    n->outputs_first = rd32(r + 16); n->n_outputs = rd32(r + 20);
    n->attrs_first = rd32(r + 24); n->n_attrs = rd32(r + 28);
    n->scratch_offset = rd32(r + 32); n->scratch_size = rd32(r + 36);
    return ERT_OK;
}

static int zero_bytes(const uint8_t *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) if (p[i]) return 0;
    return 1;
}

#define FAIL(code, msg) do { *detail = (msg); return (code); } while (0)

static ert_status check_sections(ert_model *m, const uint8_t *buf, uint32_t size, const char **detail)
{
    uint32_t count = rd32(buf + 24), table = rd32(buf + 28);
    if (count < 1 || count > MAX_SECTIONS) FAIL(ERT_E_SECTION, "header.section_count must be 1..16");
    if (table < HEADER_SIZE || table % 4 || (uint64_t)table + 16u * count > size)
        FAIL(ERT_E_SECTION, "header.section_table lies outside the file");
    uint32_t seen = 0;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = buf + table + 16u * i;
        uint32_t kind = rd32(e), off = rd32(e + 4), sz = rd32(e + 8), n = rd32(e + 12);
        if (off % 16 || off < HEADER_SIZE || (uint64_t)off + sz > size)
            FAIL(ERT_E_SECTION, "section offset/size outside the file or not 16-aligned");
        for (uint32_t j = 0; j < i; j++) {   /* no two sections overlap */
            const uint8_t *o = buf + table + 16u * j;
            uint64_t o_off = rd32(o + 4), o_end = o_off + rd32(o + 8);
            if (sz && rd32(o + 8) && off < o_end && o_off < (uint64_t)off + sz)
                FAIL(ERT_E_SECTION, "two sections overlap");
        }
        if (kind < SEC_STRINGS || kind > SEC_META) continue;   /* unknown kind: skipped */
        if (seen & (1u << kind)) FAIL(ERT_E_SECTION, "a section kind appears twice");
        seen |= 1u << kind;
        static const uint8_t recsize[] = {0, 1, 64, 48, 16, 4, 1, 1};
        if ((uint64_t)n * recsize[kind] != sz) FAIL(ERT_E_SECTION, "section size != count * record size");
        const uint8_t *p = buf + off;
        switch (kind) {
        case SEC_STRINGS: m->strings = p; m->strings_size = n; break;
        case SEC_TENSORS: m->tensors = p; m->n_tensors = n; break;
        case SEC_NODES: m->nodes = p; m->n_nodes = n; break;
        case SEC_ATTRS: m->attrs = p; m->n_attrs = n; break;
        case SEC_INDICES: m->indices = p; m->n_indices = n; break;
        case SEC_DATA: m->data = p; m->data_size = n; break;
        default: m->meta = p; m->meta_size = n; break;
        }
    }
    for (uint32_t k = SEC_STRINGS; k <= SEC_DATA; k++)
        if (!(seen & (1u << k))) FAIL(ERT_E_SECTION, "a required section (STRINGS..DATA) is missing");
    if (m->strings_size && m->strings[m->strings_size - 1] != 0)
        FAIL(ERT_E_STRING, "STRINGS section does not end in NUL");
    return ERT_OK;
}

static ert_status check_tensor(const ert_model *m, uint32_t i, const char **detail)
{
    ert_tensor t;
    ert_tensor_get(m, i, &t);
    const uint8_t *r = m->tensors + 64u * i;
    if (!string_ok(m, rd32(r))) FAIL(ERT_E_STRING, "tensor.name reference out of range");
    uint32_t item = ert_dtype_size(t.dtype);
    if (!item) FAIL(ERT_E_TENSOR, "tensor.dtype unknown");
    if (t.rank > ERT_MAX_RANK) FAIL(ERT_E_TENSOR, "tensor.rank > 6");
    if (t.storage > ERT_STATE) FAIL(ERT_E_TENSOR, "tensor.storage unknown");
    if (r[7] || rd32(r + 60)) FAIL(ERT_E_TENSOR, "tensor reserved field not zero");
    uint64_t n = item;
    for (uint32_t k = 0; k < ERT_MAX_RANK; k++) {
        if (k >= t.rank) { if (t.shape[k]) FAIL(ERT_E_TENSOR, "tensor.shape beyond rank not zero"); continue; }
        if (t.shape[k] < 0) FAIL(ERT_E_TENSOR, "tensor.shape has a negative dimension");
        n *= (uint64_t)t.shape[k];
        if (n > 0xFFFFFFFFu) n = 0x100000000ull;   /* saturate: cannot equal a u32 nbytes */
    }
    if (n != t.nbytes) FAIL(ERT_E_TENSOR, "tensor.nbytes != product(shape) * itemsize");
    if (t.storage == ERT_CONST) {
        if (!data_ok(m, t.offset, t.nbytes, item)) FAIL(ERT_E_TENSOR, "CONST tensor outside DATA or misaligned");
    } else if (t.offset % 16 || (uint64_t)t.offset + t.nbytes > m->arena_size) {
        FAIL(ERT_E_TENSOR, "arena tensor outside the arena or not 16-aligned");
    }
    if (t.quant_count == 0) {
        if (t.scales != ERT_NONE || t.zero_points != ERT_NONE || t.quant_axis)
            FAIL(ERT_E_TENSOR, "unquantized tensor with scales/zero_points/quant_axis");
    } else {
        if (t.quant_count > 1 && (t.quant_axis < 0 || t.quant_axis >= (int32_t)t.rank ||
                                  t.quant_count != (uint32_t)t.shape[t.quant_axis]))
            FAIL(ERT_E_TENSOR, "per-channel quant_count != shape[quant_axis]");
        if (t.quant_count == 1 && t.quant_axis) FAIL(ERT_E_TENSOR, "per-tensor quant_axis not 0");
        if (!data_ok(m, t.scales, 4ull * t.quant_count, 4) || !data_ok(m, t.zero_points, 4ull * t.quant_count, 4))
            FAIL(ERT_E_TENSOR, "tensor scales/zero_points outside DATA or misaligned");
    }
    if (t.storage == ERT_STATE) {
        if (t.init != ERT_NONE && !data_ok(m, t.init, t.nbytes, 1)) FAIL(ERT_E_TENSOR, "STATE tensor init outside DATA");
        for (uint32_t j = 0; j < m->n_tensors; j++) {   /* a STATE tensor overlaps no other tensor */
            ert_tensor o;
            if (j == i) continue;
            ert_tensor_get(m, j, &o);
            if (o.storage == ERT_CONST || !t.nbytes || !o.nbytes) continue;
            if ((uint64_t)o.offset < (uint64_t)t.offset + t.nbytes && (uint64_t)t.offset < (uint64_t)o.offset + o.nbytes)
                FAIL(ERT_E_TENSOR, "STATE tensor overlaps another arena tensor");
        }
    } else if (t.init != ERT_NONE) {
        FAIL(ERT_E_TENSOR, "tensor.init set on a non-STATE tensor");
    }
    return ERT_OK;
}

static ert_status check_attr(const ert_model *m, uint32_t i, const char **detail)
{
    const uint8_t *r = m->attrs + 16u * i;
    uint32_t type = r[4], count = rd32(r + 8), value = rd32(r + 12);
    static const uint8_t elsize[] = {0, 4, 4, 0, 8};
    if (!string_ok(m, rd32(r))) FAIL(ERT_E_STRING, "attr.name reference out of range");
    if (r[5] || r[6] || r[7]) FAIL(ERT_E_ATTR, "attr reserved bytes not zero");
    if (type == ERT_ATTR_STR) {
        if (count != 1 || !string_ok(m, value)) FAIL(ERT_E_ATTR, "string attr: count != 1 or bad reference");
    } else if (type >= ERT_ATTR_I32 && type <= ERT_ATTR_F64) {
        if (!data_ok(m, value, (uint64_t)count * elsize[type], elsize[type]))
            FAIL(ERT_E_ATTR, "attr array outside DATA or misaligned");
    } else {
        FAIL(ERT_E_ATTR, "attr.type unknown");
    }
    return ERT_OK;
}

/* `count` INDICES from `first` are tensor indices (or -1 when allow_absent); outputs must be
 * arena-backed when want_arena is set. */
static int indices_ok(const ert_model *m, uint32_t first, uint32_t count, int allow_absent, int want_arena, int only_arena)
{
    if ((uint64_t)first + count > m->n_indices) return 0;
    for (uint32_t k = 0; k < count; k++) {
        int32_t ix = ert_index(m, first + k);
        if (ix == -1 && allow_absent) continue;
        if (ix < 0 || (uint32_t)ix >= m->n_tensors) return 0;
        uint8_t storage = m->tensors[64u * (uint32_t)ix + 6];
        if (want_arena && storage == ERT_CONST) return 0;
        if (only_arena && storage != ERT_ARENA) return 0;
    }
    return 1;
}

static ert_status check_node(const ert_model *m, uint32_t i, const char **detail)
{
    ert_node n;
    ert_node_get(m, i, &n);
    const uint8_t *r = m->nodes + 48u * i;
    if (!string_ok(m, rd32(r)) || !string_ok(m, rd32(r + 4))) FAIL(ERT_E_STRING, "node.op/name reference out of range");
    if (!zero_bytes(r + 40, 8)) FAIL(ERT_E_NODE, "node reserved bytes not zero");
    if (n.n_inputs > ERT_MAX_NODE_IO || n.n_outputs < 1 || n.n_outputs > ERT_MAX_NODE_IO)
        FAIL(ERT_E_NODE, "node has too many inputs/outputs (or no output)");
    if (!indices_ok(m, n.inputs_first, n.n_inputs, 1, 0, 0)) FAIL(ERT_E_NODE, "node input index out of range");
    if (!indices_ok(m, n.outputs_first, n.n_outputs, 0, 1, 0)) FAIL(ERT_E_NODE, "node output index out of range or CONST");
    if (n.n_attrs > ERT_MAX_NODE_ATTRS || (uint64_t)n.attrs_first + n.n_attrs > m->n_attrs)
        FAIL(ERT_E_NODE, "node attrs out of range");
    if (n.scratch_size && (n.scratch_offset % 16 || (uint64_t)n.scratch_offset + n.scratch_size > m->arena_size))
        FAIL(ERT_E_NODE, "node scratch outside the arena or not 16-aligned");
    for (uint32_t a = 0; a < n.n_attrs; a++)   /* names unique within the node */
        for (uint32_t b = 0; b < a; b++) {
            const char *na = (const char *)m->strings + rd32(m->attrs + 16u * (n.attrs_first + a));
            const char *nb = (const char *)m->strings + rd32(m->attrs + 16u * (n.attrs_first + b));
            if (!strcmp(na, nb)) FAIL(ERT_E_ATTR, "duplicate attribute name in a node");
        }
    return ERT_OK;
}

static uint64_t align16(uint64_t n) { return (n + 15u) & ~(uint64_t)15u; }

/* Highest arena byte the model can touch: each ARENA/STATE tensor and scratch region occupies
 * a 16-aligned slot of at least 16 bytes. A header claiming more would only make a reader
 * allocate (and zero) memory that no tensor uses. */
static uint64_t arena_used(const ert_model *m)
{
    uint64_t used = 0, end;
    for (uint32_t i = 0; i < m->n_tensors; i++) {
        const uint8_t *r = m->tensors + 64u * i;
        uint32_t nbytes = rd32(r + 36);
        if (r[6] == ERT_CONST) continue;
        end = rd32(r + 32) + align16(nbytes ? nbytes : 1);
        if (end > used) used = end;
    }
    for (uint32_t i = 0; i < m->n_nodes; i++) {
        const uint8_t *r = m->nodes + 48u * i;
        if (!rd32(r + 36)) continue;
        end = rd32(r + 32) + align16(rd32(r + 36));
        if (end > used) used = end;
    }
    return used;
}

ert_status ert_model_parse(ert_model *m, const uint8_t *buf, uint32_t size, const char **detail)
{
    const char *unused;
    ert_status s;
    if (!detail) detail = &unused;
    *detail = "";
    memset(m, 0, sizeof *m);
    if (!buf || size < HEADER_SIZE) FAIL(ERT_E_TRUNCATED, "file shorter than the 64-byte header");
    if (memcmp(buf, "ERT\0", 4)) FAIL(ERT_E_MAGIC, "not an .ert file (magic is not ERT\\0)");
    if (rd16(buf + 4) != ERT_VERSION_MAJOR) FAIL(ERT_E_VERSION, "unsupported major version");
    if (rd32(buf + 8) != size) FAIL(ERT_E_TRUNCATED, "header.file_size differs from the bytes given");
    uint32_t crc = ert_crc32(0, buf, 12);
    crc = ert_crc32(crc, (const uint8_t *)"\0\0\0\0", 4);
    crc = ert_crc32(crc, buf + 16, size - 16);
    if (crc != rd32(buf + 12)) FAIL(ERT_E_CRC, "CRC-32 mismatch: file corrupt");
    if (rd32(buf + 16)) FAIL(ERT_E_VERSION, "header.flags not zero");
    if (!zero_bytes(buf + 48, 16)) FAIL(ERT_E_VERSION, "header reserved bytes not zero");
    m->buf = buf; m->size = size;
    m->arena_size = rd32(buf + 20);
    if (m->arena_size % 16) FAIL(ERT_E_ARENA, "header.arena_size not a multiple of 16");
    if ((s = check_sections(m, buf, size, detail)) != ERT_OK) return s;
    m->inputs_first = rd32(buf + 32); m->n_inputs = rd32(buf + 36);
    m->outputs_first = rd32(buf + 40); m->n_outputs = rd32(buf + 44);
    for (uint32_t i = 0; i < m->n_tensors; i++)
        if ((s = check_tensor(m, i, detail)) != ERT_OK) return s;
    for (uint32_t i = 0; i < m->n_attrs; i++)
        if ((s = check_attr(m, i, detail)) != ERT_OK) return s;
    for (uint32_t i = 0; i < m->n_nodes; i++)
        if ((s = check_node(m, i, detail)) != ERT_OK) return s;
    if (m->arena_size > arena_used(m))
        FAIL(ERT_E_ARENA, "header.arena_size exceeds the end of every arena tensor and scratch region");
    if (m->n_inputs < 1 || !indices_ok(m, m->inputs_first, m->n_inputs, 0, 1, 1))
        FAIL(ERT_E_NODE, "graph inputs missing, out of range or not ARENA tensors");
    if (m->n_outputs < 1 || !indices_ok(m, m->outputs_first, m->n_outputs, 0, 1, 1))
        FAIL(ERT_E_NODE, "graph outputs missing, out of range or not ARENA tensors");
    return ERT_OK;
}
