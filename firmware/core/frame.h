/* Framing: COBS-encoded frames delimited by 0x00, each [version, type, seq, length, payload,
 * CRC-32]. Pure functions over caller buffers: shared by every port and fuzzed on the host. */
#ifndef FW_FRAME_H
#define FW_FRAME_H

#include <stdint.h>

typedef struct {
    uint8_t type;
    uint16_t seq;
    uint16_t length;
    const uint8_t *payload;   /* points into the decoded buffer */
} frame;

/* COBS-decode `n` bytes (no delimiter) into out (capacity cap). Returns decoded length, or -1. */
int32_t cobs_decode(const uint8_t *in, uint32_t n, uint8_t *out, uint32_t cap);
/* COBS-encode; out needs n + n/254 + 1 bytes. Returns encoded length (no delimiter). */
uint32_t cobs_encode(const uint8_t *in, uint32_t n, uint8_t *out);
/* Check a decoded frame (version, length, CRC). 0 on success, -1 if it must be dropped. */
int frame_parse(const uint8_t *buf, uint32_t n, frame *f);
/* Build a decoded frame in out (capacity >= FRAME_HEADER + length + FRAME_CRC); returns size. */
uint32_t frame_build(uint8_t *out, uint8_t type, uint16_t seq, const uint8_t *payload, uint16_t length);

uint32_t fw_rd32(const uint8_t *p);
uint16_t fw_rd16(const uint8_t *p);
void fw_wr32(uint8_t *p, uint32_t v);
void fw_wr16(uint8_t *p, uint16_t v);
void fw_wr64(uint8_t *p, uint64_t v);

#endif
