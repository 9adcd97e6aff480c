/* The portable firmware: state, binary dispatcher (app.c) and MLPerf Tiny text commands
 * (mlperf.c). Capacities come from the port's build flags. */
#ifndef FW_APP_H
#define FW_APP_H

#include <stdint.h>
#include "ert.h"

#ifndef FW_MODEL_CAPACITY
#define FW_MODEL_CAPACITY (1024u * 1024u)
#endif
#ifndef FW_ARENA_CAPACITY
#define FW_ARENA_CAPACITY (512u * 1024u)
#endif
#ifndef FW_MAX_NODES
#define FW_MAX_NODES 512u
#endif
#define FW_DB_CAPACITY (96u * 96u * 3u)   /* MLPerf Tiny MAX_DB_INPUT_SIZE */

typedef struct {
    ert_ctx ctx;
    int model_ready;
    uint32_t upload_size, upload_received, upload_active;
    uint64_t upload_digest, model_digest;
    uint64_t node_cycles[FW_MAX_NODES];
    uint32_t node_activity[FW_MAX_NODES][ERT_N_ACTIVITY];
    uint32_t db_expected, db_received;
    uint8_t db[FW_DB_CAPACITY];
} fw_state;

extern fw_state fw;
extern uint8_t fw_model[FW_MODEL_CAPACITY];
extern uint8_t fw_arena[FW_ARENA_CAPACITY];

void fw_main(void);                           /* fw_start, then fw_feed forever */
void fw_start(void);                          /* reset all state, init the port, boot banner */
void fw_feed(uint8_t c);                      /* one received byte */
uint64_t fw_fnv1a64(uint64_t h, const uint8_t *p, uint32_t n);
void fw_puts(const char *s);
/* Run every node, timing each; fills fw.node_cycles / node_activity. */
ert_status fw_invoke(uint64_t *start, uint64_t *end);
void mlperf_boot(void);
void mlperf_command(char *line);              /* one '%'-terminated command, NUL-terminated */

#endif
