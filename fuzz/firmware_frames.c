/* libFuzzer harness: the firmware's byte loop (COBS framing, CRC, dispatcher, model upload,
 * MLPerf Tiny text commands) with a port that discards output. The input is split at "\xff\xfe"
 * markers; odd pieces are fed raw, even pieces are wrapped as valid frames (type = first byte)
 * so the fuzzer also reaches the commands behind the CRC. */
#include <stdint.h>
#include <string.h>
#include "app.h"
#include "frame.h"
#include "port.h"
#include "proto.h"

void port_init(void) {}
uint8_t port_getc(void) { return 0; }
void port_write(const uint8_t *p, uint32_t n) { (void)p; (void)n; }
uint64_t port_cycles(void) { static uint64_t t; return t += 7; }
const char *port_name(void) { return "fuzz"; }
const char *port_counter(void) { return "calls"; }
uint32_t port_clock_hz(void) { return 1000000u; }
void port_counter_sync(void) {}

static uint8_t frame_buf[MAX_FRAME], enc[MAX_FRAME + MAX_FRAME / 254 + 2];

static void feed_framed(const uint8_t *p, size_t n, uint16_t seq)
{
    if (!n) return;
    if (n - 1 > MAX_PAYLOAD) n = MAX_PAYLOAD + 1;
    if (p[0] == MSG_LINK_TEST) return;   /* would wait for raw bytes this port never delivers */
    uint32_t len = cobs_encode(frame_buf, frame_build(frame_buf, p[0], seq, p + 1, (uint16_t)(n - 1)), enc);
    for (uint32_t i = 0; i < len; i++) fw_feed(enc[i]);
    fw_feed(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fw_start();
    size_t start = 0;
    uint16_t piece = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i + 1 < size && data[i] == 0xFF && data[i + 1] == 0xFE) {
            if (piece % 2) feed_framed(data + start, i - start, piece);
            else for (size_t k = start; k < i; k++) fw_feed(data[k]);
            piece++;
            start = i + 2;
            i++;
        } else if (i == size) {
            if (piece % 2) feed_framed(data + start, i - start, piece);
            else for (size_t k = start; k < i; k++) fw_feed(data[k]);
        }
    }
    return 0;
}
