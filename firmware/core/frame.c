#include "frame.h"
#include "proto.h"
#include "ert.h"   /* ert_crc32: one CRC-32 implementation for files and frames */

uint32_t fw_rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
uint16_t fw_rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
void fw_wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
void fw_wr32(uint8_t *p, uint32_t v) { fw_wr16(p, (uint16_t)v); fw_wr16(p + 2, (uint16_t)(v >> 16)); }
void fw_wr64(uint8_t *p, uint64_t v) { fw_wr32(p, (uint32_t)v); fw_wr32(p + 4, (uint32_t)(v >> 32)); }

int32_t cobs_decode(const uint8_t *in, uint32_t n, uint8_t *out, uint32_t cap)
{
    uint32_t i = 0, o = 0;
    while (i < n) {
        uint8_t code = in[i++];
        if (code == 0) return -1;
        for (uint8_t k = 1; k < code; k++) {
            if (i >= n || o >= cap || in[i] == 0) return -1;
            out[o++] = in[i++];
        }
        if (code != 0xFF && i < n) {     /* a group shorter than 254 ends in an implicit zero */
            if (o >= cap) return -1;
            out[o++] = 0;
        }
    }
    return (int32_t)o;
}

uint32_t cobs_encode(const uint8_t *in, uint32_t n, uint8_t *out)
{
    uint32_t o = 1, code_at = 0;
    uint8_t code = 1;
    for (uint32_t i = 0; i < n; i++) {
        if (in[i] == 0) {
            out[code_at] = code; code_at = o++; code = 1;
        } else {
            out[o++] = in[i];
            if (++code == 0xFF) { out[code_at] = code; code_at = o++; code = 1; }
        }
    }
    out[code_at] = code;
    return o;
}

int frame_parse(const uint8_t *buf, uint32_t n, frame *f)
{
    if (n < FRAME_HEADER + FRAME_CRC || buf[0] != PROTO_VERSION) return -1;
    uint16_t length = fw_rd16(buf + 4);
    if (length > MAX_PAYLOAD || (uint32_t)FRAME_HEADER + length + FRAME_CRC != n) return -1;
    if (ert_crc32(0, buf, FRAME_HEADER + length) != fw_rd32(buf + FRAME_HEADER + length)) return -1;
    f->type = buf[1];
    f->seq = fw_rd16(buf + 2);
    f->length = length;
    f->payload = buf + FRAME_HEADER;
    return 0;
}

uint32_t frame_build(uint8_t *out, uint8_t type, uint16_t seq, const uint8_t *payload, uint16_t length)
{
    out[0] = PROTO_VERSION; out[1] = type;
    fw_wr16(out + 2, seq); fw_wr16(out + 4, length);
    for (uint16_t i = 0; i < length; i++) out[FRAME_HEADER + i] = payload[i];
    fw_wr32(out + FRAME_HEADER + length, ert_crc32(0, out, FRAME_HEADER + length));
    return FRAME_HEADER + length + FRAME_CRC;
}
