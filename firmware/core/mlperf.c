/* MLPerf Tiny device-under-test command set (EEMBC/MLCommons `internally_implemented`): '%'-
 * terminated text commands, replies ending in "m-ready\r\n". `db` bytes become input 0 of the
 * deployed model; `infer N W` runs it and prints output 0 dequantized with %0.3f. */
#include <string.h>
#include "app.h"
#include "ert_math.h"
#include "port.h"

typedef struct { char s[160]; uint32_t n; } line;

static void put(line *l, const char *s) { while (*s && l->n < sizeof l->s - 3) l->s[l->n++] = *s++; }
static void put_u64(line *l, uint64_t v)
{
    char d[21]; int k = 0;
    do { d[k++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (k && l->n < sizeof l->s - 3) l->s[l->n++] = d[--k];
}
static void put_hex8(line *l, uint8_t v)
{
    static const char hex[] = "0123456789abcdef";
    char s[3] = {hex[v >> 4], hex[v & 15], 0};
    put(l, s);
}
/* printf("%0.3f"): v * 1000 is exact in double for a float v, so rint gives printf's rounding */
static void put_f3(line *l, float v)
{
    if (ert_isnan(v)) { put(l, "nan"); return; }
    if (ert_isinf(v)) { put(l, v < 0 ? "-inf" : "inf"); return; }
    double r = ert_rint((double)v * 1000.0);
    if (r > 9.0e18 || r < -9.0e18) { put(l, r < 0 ? "-inf" : "inf"); return; }   /* beyond u64 */
    if (r < 0 || (r == 0 && v < 0)) { put(l, "-"); r = -r; }
    uint64_t m = (uint64_t)r;
    put_u64(l, m / 1000);
    put(l, ".");
    char frac[4] = {(char)('0' + m / 100 % 10), (char)('0' + m / 10 % 10), (char)('0' + m % 10), 0};
    put(l, frac);
}
static void end(line *l)
{
    l->s[l->n++] = '\r'; l->s[l->n++] = '\n';
    port_write((const uint8_t *)l->s, l->n);
    l->n = 0;
}
static void say(const char *s) { line l = {{0}, 0}; put(&l, s); end(&l); }

static void timestamp(void)
{
    line l = {{0}, 0};
    put(&l, "m-lap-us-");
    put_u64(&l, (uint32_t)(port_cycles() * 1000000ull / port_clock_hz()));
    end(&l);
}

void mlperf_boot(void)
{
    say("m-timestamp-mode-performance");
    timestamp();
    say("m-init-done");
    say("m-ready");
}

static uint32_t parse_u32(const char *s, int *ok)
{
    uint32_t v = 0;
    *ok = *s != 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 400000000u) { *ok = 0; return 0; }
        v = v * 10 + (uint32_t)(*s - '0');
    }
    return v;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void db_command(char *args)
{
    line l = {{0}, 0};
    int ok;
    if (!strncmp(args, "load ", 5)) {
        uint32_t n = parse_u32(args + 5, &ok);
        if (!ok || n == 0 || n > FW_DB_CAPACITY) { say("e-[db load: size must be 1..27648]"); return; }
        fw.db_expected = n; fw.db_received = 0;
        put(&l, "m-[Expecting "); put_u64(&l, n); put(&l, " bytes]"); end(&l);
    } else if (!strcmp(args, "print")) {
        put(&l, "m-buffer-");
        for (uint32_t i = 0; i < fw.db_received; i++) {
            put_hex8(&l, fw.db[i]);
            if (i % 8 == 7 || i + 1 == fw.db_received) { end(&l); if (i + 1 < fw.db_received) put(&l, "m-buffer-"); }
            else put(&l, "-");
        }
    } else {
        uint32_t n = (uint32_t)strlen(args);
        if (n % 2) { say("e-[Insufficent number of hex digits]"); return; }
        for (uint32_t i = 0; i < n && fw.db_received < fw.db_expected; i += 2) {
            int hi = hexval(args[i]), lo = hexval(args[i + 1]);
            if (hi < 0 || lo < 0) { say("e-[db: not a hex digit]"); return; }
            fw.db[fw.db_received++] = (uint8_t)(hi << 4 | lo);
        }
        if (fw.db_expected && fw.db_received == fw.db_expected) say("m-load-done");
    }
}

static void results(void)
{
    line l = {{0}, 0};
    ert_tensor t;
    const ert_model *m = &fw.ctx.model;
    ert_tensor_get(m, (uint32_t)ert_index(m, m->outputs_first), &t);
    const uint8_t *p = fw_arena + t.offset;
    uint32_t n = t.nbytes / ert_dtype_size(t.dtype);
    put(&l, "m-results-[");
    for (uint32_t i = 0; i < n; i++) {
        float v;
        switch (t.dtype) {
        case ERT_INT8: v = (float)((int32_t)(int8_t)p[i] - ert_zero_point(&fw.ctx, &t, 0)) * ert_scale(&fw.ctx, &t, 0); break;
        case ERT_UINT8: v = (float)((int32_t)p[i] - ert_zero_point(&fw.ctx, &t, 0)) * ert_scale(&fw.ctx, &t, 0); break;
        case ERT_FLOAT32: memcpy(&v, p + 4 * i, 4); break;
        default: v = 0; break;
        }
        if (t.dtype != ERT_FLOAT32 && !t.quant_count) v = (float)(t.dtype == ERT_INT8 ? (int8_t)p[i] : p[i]);
        if (l.n > sizeof l.s - 16) { port_write((const uint8_t *)l.s, l.n); l.n = 0; }
        put_f3(&l, v);
        if (i + 1 < n) put(&l, ",");
    }
    put(&l, "]");
    end(&l);
}

static void infer(char *args)
{
    uint32_t n = 1, w = 10;
    int ok = 1;
    char *space = strchr(args, ' ');
    if (*args) {
        if (space) { *space = 0; w = parse_u32(space + 1, &ok); }
        if (ok) n = parse_u32(args, &ok);
    }
    if (!ok) { say("e-[infer: usage infer N W]"); return; }
    if (!fw.model_ready) { say("e-[no model deployed: use edgert deploy first]"); return; }
    ert_tensor t;
    const ert_model *m = &fw.ctx.model;
    ert_tensor_get(m, (uint32_t)ert_index(m, m->inputs_first), &t);
    if (fw.db_received != t.nbytes) { say("e-[db holds a different number of bytes than model input 0]"); return; }
    line l = {{0}, 0};
    uint64_t a, b;
    put(&l, "m-warmup-start-"); put_u64(&l, w); end(&l);
    for (uint32_t i = 0; i < w; i++) { memcpy(fw_arena + t.offset, fw.db, t.nbytes); fw_invoke(&a, &b); }
    say("m-warmup-done");
    put(&l, "m-infer-start-"); put_u64(&l, n); end(&l);
    timestamp();
    ert_status s = ERT_OK;
    for (uint32_t i = 0; i < n && s == ERT_OK; i++) { memcpy(fw_arena + t.offset, fw.db, t.nbytes); s = fw_invoke(&a, &b); }
    timestamp();
    say("m-infer-done");
    if (s != ERT_OK) { say("e-[inference failed]"); return; }
    results();
}

void mlperf_command(char *cmd)
{
    if (!strcmp(cmd, "name")) say("m-name-dut-[edgert]");
    else if (!strcmp(cmd, "profile")) { say("m-profile-[ULPMark for tinyML Firmware V0.0.1]"); say("m-model-[edgert]"); }
    else if (!strcmp(cmd, "help")) say("name, profile, timestamp, db load N, db HEX, db print, infer N W, results");
    else if (!strcmp(cmd, "timestamp")) timestamp();
    else if (!strncmp(cmd, "db ", 3)) db_command(cmd + 3);
    else if (!strcmp(cmd, "infer") || !strncmp(cmd, "infer ", 6)) infer(cmd[5] ? cmd + 6 : cmd + 5);
    else if (!strcmp(cmd, "results")) { if (fw.model_ready) results(); else say("e-[no model deployed]"); }
    else {
        line l = {{0}, 0};
        char *sp = strchr(cmd, ' ');
        if (sp) *sp = 0;
        put(&l, "e-[Unknown command: "); put(&l, cmd); put(&l, "]"); end(&l);
    }
    say("m-ready");
}
