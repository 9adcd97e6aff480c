/* libFuzzer harness: the C .ert loader and interpreter (native/src) on arbitrary bytes.
 * The harness repairs the header's file_size and CRC so mutations reach the structural
 * checks behind them. The model and the arena are heap blocks of exactly the sizes the file
 * claims, so AddressSanitizer sees any access outside them. */
#define _POSIX_C_SOURCE 200112L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ert.h"

static void put32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (4u << 20)) return 0;
    uint8_t *buf = NULL;
    if (posix_memalign((void **)&buf, 16, size ? size : 1)) return 0;
    memcpy(buf, data, size);
    if (size >= 16) {
        put32(buf + 8, (uint32_t)size);
        put32(buf + 12, 0);
        put32(buf + 12, ert_crc32(0, buf, (uint32_t)size));
    }
    ert_model m;
    const char *detail;
    if (ert_model_parse(&m, buf, (uint32_t)size, &detail) == ERT_OK && m.arena_size <= (16u << 20)) {
        uint8_t *arena = NULL;
        if (!posix_memalign((void **)&arena, 16, m.arena_size ? m.arena_size : 16)) {
            ert_ctx ctx;
            if (ert_init(&ctx, buf, (uint32_t)size, arena, m.arena_size) == ERT_OK) {
                uint32_t activity[64 * ERT_N_ACTIVITY];
                ert_invoke(&ctx, m.n_nodes <= 64 ? activity : NULL);
            }
            free(arena);
        }
    }
    free(buf);
    return 0;
}
