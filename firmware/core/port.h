/* What each port provides to the portable core (firmware/ports/<port>/port.c). */
#ifndef FW_PORT_H
#define FW_PORT_H

#include <stdint.h>

void port_init(void);
uint8_t port_getc(void);                        /* blocking */
void port_write(const uint8_t *p, uint32_t n);  /* blocking */
uint64_t port_cycles(void);                     /* the board counter (see port_counter) */
const char *port_name(void);
const char *port_counter(void);                 /* what port_cycles counts, e.g. "instret" */
uint32_t port_clock_hz(void);                   /* port_cycles ticks per second of board time */
/* Called before each measured inference: ports whose counter has a phase (SysTick) restart it
 * here so per-node counts are identical run to run; port_cycles stays monotonic. */
void port_counter_sync(void);

/* A free-running 32-bit hardware counter widened to 64 bits; correct as long as it is read at
 * least once per wrap (ports read it around every kernel call). */
static inline uint64_t port_widen32(uint32_t now, uint32_t *last, uint32_t *wraps)
{
    if (now < *last) (*wraps)++;
    *last = now;
    return (uint64_t)*wraps << 32 | now;
}

#endif
