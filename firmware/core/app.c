/* Portable firmware core: byte loop, binary frame dispatcher, model upload and inference.
 * Static state only (no heap): the model buffer and arena are sized by the port. */
#include <string.h>
#include "app.h"
#include "frame.h"
#include "port.h"
#include "proto.h"

fw_state fw;
uint8_t fw_model[FW_MODEL_CAPACITY] __attribute__((aligned(16)));
uint8_t fw_arena[FW_ARENA_CAPACITY] __attribute__((aligned(16)));

#define MAX_ENCODED (MAX_FRAME + MAX_FRAME / 254u + 2u)
static uint8_t rx[MAX_ENCODED], rx_frame[MAX_FRAME];
static uint8_t tx_frame[MAX_FRAME], tx[MAX_ENCODED];
static uint8_t reply[MAX_PAYLOAD];
static uint32_t tx_len;          /* the last reply, encoded, resent when a request repeats */
static int32_t last_seq = -1;

uint64_t fw_fnv1a64(uint64_t h, const uint8_t *p, uint32_t n)
{
    while (n--) { h ^= *p++; h *= 1099511628211ull; }
    return h;
}

void fw_puts(const char *s) { port_write((const uint8_t *)s, (uint32_t)strlen(s)); }

static void send_frame(uint8_t type, uint16_t seq, uint32_t length)
{
    uint32_t n = frame_build(tx_frame, type, seq, reply, (uint16_t)length);
    tx_len = cobs_encode(tx_frame, n, tx);
    tx[tx_len++] = 0;
    port_write(tx, tx_len);
}

static uint32_t put_str(uint32_t at, const char *s)
{
    while (*s && at < MAX_PAYLOAD - 1) reply[at++] = (uint8_t)*s++;
    reply[at++] = 0;
    return at;
}

/* status + ert error: u8 ert_status, u8 0, u16 0, u32 node, detail */
static uint32_t ert_error(uint8_t status, ert_status s)
{
    reply[0] = status; reply[1] = (uint8_t)s; reply[2] = reply[3] = reply[4] = 0;
    fw_wr32(reply + 5, fw.ctx.error_node);
    return put_str(9, fw.ctx.error_detail ? fw.ctx.error_detail : "");
}

static uint32_t status2(uint8_t status, uint32_t a, uint32_t b)
{
    reply[0] = status; fw_wr32(reply + 1, a); fw_wr32(reply + 5, b);
    return 9;
}

ert_status fw_invoke(uint64_t *start, uint64_t *end)
{
    ert_ctx *ctx = &fw.ctx;
    port_counter_sync();
    *start = port_cycles();
    for (uint32_t i = 0; i < ctx->model.n_nodes; i++) {
        const ert_op *op = ert_node_op(ctx, i);   /* resolved at commit: never NULL here */
        uint32_t *act = fw.node_activity[i];
        for (int k = 0; k < ERT_N_ACTIVITY; k++) act[k] = 0;
        ctx->error_node = ERT_NONE;
        uint64_t c0 = port_cycles();
        ert_status s = op->run(ctx, i, act);
        fw.node_cycles[i] = port_cycles() - c0;
        if (s != ERT_OK) {
            if (ctx->error_node == ERT_NONE) ert_fail(ctx, i, s, "kernel failed");
            *end = port_cycles();
            return s;
        }
    }
    *end = port_cycles();
    return ERT_OK;
}

static uint32_t do_hello(void)
{
    reply[0] = ST_OK; reply[1] = PROTO_VERSION; reply[2] = reply[3] = 0;
    fw_wr16(reply + 2, MAX_PAYLOAD);
    fw_wr32(reply + 4, port_clock_hz());
    fw_wr32(reply + 8, FW_MODEL_CAPACITY);
    fw_wr32(reply + 12, FW_ARENA_CAPACITY);
    fw_wr32(reply + 16, FW_MAX_NODES);
    fw_wr32(reply + 20, fw.model_ready ? fw.ctx.model.size : 0);
    fw_wr64(reply + 24, fw.model_ready ? fw.model_digest : 0);
    fw_wr32(reply + 32, ert_op_count());
    uint32_t at = put_str(36, FW_VERSION);
    at = put_str(at, port_name());
    return put_str(at, port_counter());
}

/* Op names in pages the host sizes (small replies survive noisy links). */
static uint32_t do_ops(const uint8_t *p, uint32_t n)
{
    if (n < 6) return status2(ST_BAD_REQUEST, 0, 0);
    uint32_t first = fw_rd32(p), max = fw_rd16(p + 4), at = 9, count = 0;
    if (max > MAX_PAYLOAD) max = MAX_PAYLOAD;
    for (uint32_t i = first; i < ert_op_count(); i++) {
        const char *name = ert_op_name(i);
        uint32_t len = (uint32_t)strlen(name) + 1;
        if (at + len > max && count) break;   /* always at least one name per page */
        at = put_str(at, name);
        count++;
    }
    reply[0] = ST_OK;
    fw_wr32(reply + 1, ert_op_count());
    fw_wr32(reply + 5, count);
    return at;
}

static uint32_t do_begin(const uint8_t *p, uint32_t n)
{
    if (n < 12) return status2(ST_BAD_REQUEST, 0, 0);
    uint32_t size = fw_rd32(p);
    fw.model_ready = 0;   /* the old model is gone as soon as a new upload starts */
    fw.upload_active = 0;
    if (size > FW_MODEL_CAPACITY) return status2(ST_MODEL_TOO_LARGE, size, FW_MODEL_CAPACITY);
    fw.upload_size = size;
    fw.upload_received = 0;
    fw.upload_digest = (uint64_t)fw_rd32(p + 4) | (uint64_t)fw_rd32(p + 8) << 32;
    fw.upload_active = 1;
    return status2(ST_OK, 0, size);
}

static uint32_t do_chunk(const uint8_t *p, uint32_t n)
{
    if (n < 4) return status2(ST_BAD_REQUEST, 0, 0);
    if (!fw.upload_active) return status2(ST_NO_UPLOAD, 0, 0);
    uint32_t offset = fw_rd32(p), len = n - 4;
    if ((uint64_t)offset + len > fw.upload_size) return status2(ST_BAD_REQUEST, offset, fw.upload_size);
    if (offset == fw.upload_received) {
        memcpy(fw_model + offset, p + 4, len);
        fw.upload_received += len;
    } else if (offset > fw.upload_received) {
        return status2(ST_OUT_OF_ORDER, fw.upload_received, offset);
    }   /* offset < received: a repeat of a chunk already stored, acknowledged again */
    return status2(ST_OK, fw.upload_received, fw.upload_size);
}

static uint32_t do_commit(void)
{
    if (!fw.upload_active) return status2(ST_NO_UPLOAD, 0, 0);
    if (fw.upload_received != fw.upload_size) return status2(ST_INCOMPLETE, fw.upload_received, fw.upload_size);
    fw.upload_active = 0;
    if (fw_fnv1a64(14695981039346656037ull, fw_model, fw.upload_size) != fw.upload_digest)
        return status2(ST_DIGEST_MISMATCH, 0, 0);
    ert_status s = ert_init(&fw.ctx, fw_model, fw.upload_size, fw_arena, FW_ARENA_CAPACITY);
    if (s == ERT_E_ARENA && fw.ctx.model.arena_size > FW_ARENA_CAPACITY)
        return status2(ST_ARENA_TOO_SMALL, fw.ctx.model.arena_size, FW_ARENA_CAPACITY);
    if (s != ERT_OK) return ert_error(ST_MODEL_REJECTED, s);
    if (fw.ctx.model.n_nodes > FW_MAX_NODES) {
        fw.ctx.error_node = ERT_NONE;
        fw.ctx.error_detail = "model has more nodes than the firmware's counter table (FW_MAX_NODES)";
        return ert_error(ST_MODEL_REJECTED, ERT_E_NODE);
    }
    fw.model_ready = 1;
    fw.model_digest = fw.upload_digest;
    reply[0] = ST_OK;
    fw_wr32(reply + 1, fw.ctx.model.n_nodes);
    fw_wr32(reply + 5, fw.ctx.model.n_inputs);
    fw_wr32(reply + 9, fw.ctx.model.n_outputs);
    fw_wr32(reply + 13, fw.ctx.model.arena_size);
    return 17;
}

/* tensor of graph input (output=0) or output (output=1) k, or -1 */
static int32_t io_tensor(uint32_t k, int output, ert_tensor *t)
{
    const ert_model *m = &fw.ctx.model;
    uint32_t count = output ? m->n_outputs : m->n_inputs, first = output ? m->outputs_first : m->inputs_first;
    if (k >= count) return -1;
    int32_t ix = ert_index(m, first + k);
    ert_tensor_get(m, (uint32_t)ix, t);
    return ix;
}

static uint32_t do_set_input(const uint8_t *p, uint32_t n)
{
    ert_tensor t;
    if (n < 12) return status2(ST_BAD_REQUEST, 0, 0);
    if (!fw.model_ready) return status2(ST_NO_MODEL, 0, 0);
    if (io_tensor(fw_rd16(p), 0, &t) < 0) return status2(ST_BAD_INDEX, fw_rd16(p), fw.ctx.model.n_inputs);
    uint32_t total = fw_rd32(p + 4), offset = fw_rd32(p + 8), len = n - 12;
    if (total != t.nbytes) return status2(ST_WRONG_INPUT_SIZE, t.nbytes, total);
    if ((uint64_t)offset + len > t.nbytes) return status2(ST_WRONG_INPUT_SIZE, t.nbytes, offset + len);
    memcpy(fw_arena + t.offset + offset, p + 12, len);
    return status2(ST_OK, offset + len, total);
}

static uint32_t do_invoke(void)
{
    uint64_t start, end;
    if (!fw.model_ready) return status2(ST_NO_MODEL, 0, 0);
    ert_status s = fw_invoke(&start, &end);
    if (s != ERT_OK) return ert_error(ST_INVOKE_FAILED, s);
    reply[0] = ST_OK;
    fw_wr32(reply + 1, fw.ctx.model.n_nodes);
    fw_wr64(reply + 5, start);
    fw_wr64(reply + 13, end);
    return 21;
}

static uint32_t do_get_output(const uint8_t *p, uint32_t n)
{
    ert_tensor t;
    if (n < 8) return status2(ST_BAD_REQUEST, 0, 0);
    if (!fw.model_ready) return status2(ST_NO_MODEL, 0, 0);
    if (io_tensor(fw_rd16(p), 1, &t) < 0) return status2(ST_BAD_INDEX, fw_rd16(p), fw.ctx.model.n_outputs);
    uint32_t max = fw_rd16(p + 2), offset = fw_rd32(p + 4);
    if (offset > t.nbytes) return status2(ST_BAD_REQUEST, offset, t.nbytes);
    uint32_t len = t.nbytes - offset;
    if (len > max) len = max;
    if (len > MAX_PAYLOAD - 5) len = MAX_PAYLOAD - 5;
    reply[0] = ST_OK;
    fw_wr32(reply + 1, t.nbytes);
    memcpy(reply + 5, fw_arena + t.offset + offset, len);
    return 5 + len;
}

static uint32_t do_counters(const uint8_t *p, uint32_t n)
{
    if (n < 8) return status2(ST_BAD_REQUEST, 0, 0);
    if (!fw.model_ready) return status2(ST_NO_MODEL, 0, 0);
    uint32_t first = fw_rd32(p), count = fw_rd32(p + 4), nodes = fw.ctx.model.n_nodes;
    if (first > nodes) return status2(ST_BAD_INDEX, first, nodes);
    if (count > nodes - first) count = nodes - first;
    if (count > (MAX_PAYLOAD - 5) / 24) count = (MAX_PAYLOAD - 5) / 24;
    reply[0] = ST_OK;
    fw_wr32(reply + 1, count);
    for (uint32_t i = 0; i < count; i++) {
        uint8_t *r = reply + 5 + 24 * i;
        fw_wr64(r, fw.node_cycles[first + i]);
        for (int k = 0; k < ERT_N_ACTIVITY; k++) fw_wr32(r + 8 + 4 * k, fw.node_activity[first + i][k]);
    }
    return 5 + 24 * count;
}

static uint32_t do_invoke_node(const uint8_t *p, uint32_t n)
{
    if (n < 4) return status2(ST_BAD_REQUEST, 0, 0);
    if (!fw.model_ready) return status2(ST_NO_MODEL, 0, 0);
    uint32_t i = fw_rd32(p);
    if (i >= fw.ctx.model.n_nodes) return status2(ST_BAD_INDEX, i, fw.ctx.model.n_nodes);
    const ert_op *op = ert_node_op(&fw.ctx, i);
    uint32_t *act = fw.node_activity[i];
    for (int k = 0; k < ERT_N_ACTIVITY; k++) act[k] = 0;
    fw.ctx.error_node = ERT_NONE;
    port_counter_sync();
    uint64_t c0 = port_cycles();
    ert_status s = op->run(&fw.ctx, i, act);
    fw.node_cycles[i] = port_cycles() - c0;
    if (s != ERT_OK) {
        if (fw.ctx.error_node == ERT_NONE) ert_fail(&fw.ctx, i, s, "kernel failed");
        return ert_error(ST_INVOKE_FAILED, s);
    }
    reply[0] = ST_OK;
    fw_wr64(reply + 1, fw.node_cycles[i]);
    for (int k = 0; k < ERT_N_ACTIVITY; k++) fw_wr32(reply + 9 + 4 * k, act[k]);
    return 25;
}

/* Raw link throughput test: acknowledge, then take n unframed bytes and report their FNV. */
static void do_link_test(const uint8_t *p, uint32_t n, uint16_t seq)
{
    uint32_t count = n >= 4 ? fw_rd32(p) : 0, h = 2166136261u;
    send_frame(MSG_LINK_TEST | REPLY, seq, status2(ST_OK, count, 0));
    for (uint32_t i = 0; i < count; i++) { h ^= port_getc(); h *= 16777619u; }
    send_frame(MSG_LINK_TEST | REPLY, seq, status2(ST_OK, count, h));
    last_seq = -1;
}

static void handle_frame(const frame *f)
{
    const uint8_t *p = f->payload;
    uint32_t n = f->length, len;
    /* the host missed our reply: send it again rather than redo the command (HELLO always runs:
     * a new host session may reuse a sequence number) */
    if ((int32_t)f->seq == last_seq && f->type != MSG_HELLO) {
        port_write(tx, tx_len);
        return;
    }
    switch (f->type) {
    case MSG_HELLO: len = do_hello(); break;
    case MSG_MODEL_BEGIN: len = do_begin(p, n); break;
    case MSG_MODEL_CHUNK: len = do_chunk(p, n); break;
    case MSG_MODEL_COMMIT: len = do_commit(); break;
    case MSG_SET_INPUT: len = do_set_input(p, n); break;
    case MSG_INVOKE: len = do_invoke(); break;
    case MSG_GET_OUTPUT: len = do_get_output(p, n); break;
    case MSG_GET_COUNTERS: len = do_counters(p, n); break;
    case MSG_RESET:
        if (fw.model_ready) ert_reset(&fw.ctx);
        len = status2(fw.model_ready ? ST_OK : ST_NO_MODEL, 0, 0);
        break;
    case MSG_INVOKE_NODE: len = do_invoke_node(p, n); break;
    case MSG_OPS: len = do_ops(p, n); break;
    case MSG_LINK_TEST: do_link_test(p, n, f->seq); return;
    default: len = status2(ST_UNKNOWN_TYPE, f->type, 0); break;
    }
    send_frame(f->type | REPLY, f->seq, len);
    last_seq = f->seq;
}

static int printable(const uint8_t *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) if (p[i] < 0x20 || p[i] > 0x7E) return 0;
    return 1;
}

static uint32_t rx_n;
static int rx_overflow;

void fw_start(void)
{
    memset(&fw, 0, sizeof fw);
    last_seq = -1;
    tx_len = rx_n = 0;
    rx_overflow = 0;
    port_init();
    mlperf_boot();
}

void fw_feed(uint8_t c)
{
    if (c == 0) {   /* end of a binary frame */
        frame f;
        int32_t len = rx_overflow ? -1 : cobs_decode(rx, rx_n, rx_frame, sizeof rx_frame);
        if (len > 0 && frame_parse(rx_frame, (uint32_t)len, &f) == 0) {
            handle_frame(&f);
        } else if (rx_n) {   /* damaged frame: tell the host at once instead of letting it time out */
            uint8_t nak[FRAME_HEADER + FRAME_CRC], enc[sizeof nak + 2];
            uint32_t k = cobs_encode(nak, frame_build(nak, MSG_NAK, 0, nak, 0), enc);
            enc[k++] = 0;
            port_write(enc, k);
        }
        rx_n = 0;
        rx_overflow = 0;
    } else if (c == '%' && rx_n && !rx_overflow && printable(rx, rx_n)) {
        /* MLPerf Tiny text command. A COBS frame's second byte is the version (0x01), never
         * printable, so a frame in flight cannot be mistaken for one. */
        rx[rx_n] = 0;
        mlperf_command((char *)rx);
        rx_n = 0;
    } else if (rx_n < sizeof rx - 1) {
        rx[rx_n++] = c;
    } else {
        rx_overflow = 1;   /* dropped up to the next delimiter */
    }
}

void fw_main(void)
{
    fw_start();
    for (;;) fw_feed(port_getc());
}
