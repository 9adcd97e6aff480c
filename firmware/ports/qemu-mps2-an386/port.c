/* qemu-mps2-an386 (Cortex-M4): CMSDK UART0 at 0x40004000, counter = SysTick ticks of the
 * 25 MHz cpuclk extended to 64 bits by counting wraps. QEMU implements no DWT cycle counter;
 * under -icount shift=7 one instruction is 128 ns = 3.2 ticks, so instructions = ticks * 40/128
 * exactly (docs/firmware.md). */
#include "app.h"
#include "port.h"

#define UART_DATA (*(volatile uint32_t *)0x40004000u)
#define UART_STATE (*(volatile uint32_t *)0x40004004u)
#define UART_CTRL (*(volatile uint32_t *)0x40004008u)
#define UART_BAUDDIV (*(volatile uint32_t *)0x40004010u)
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYSTICK_MAX 0x00FFFFFFu

static volatile uint32_t systick_wraps;
static uint64_t ticks_base;   /* ticks counted before the last phase restart */

void port_init(void)
{
    UART_BAUDDIV = 25000000u / 115200u;
    UART_CTRL = 0x3;            /* TX and RX enable */
    (void)UART_DATA;            /* makes QEMU re-poll the chardev after enabling RX */
    SYST_RVR = SYSTICK_MAX;
    SYST_CVR = 0;
    SYST_CSR = 0x7;             /* enable, interrupt on wrap, processor clock */
}

uint8_t port_getc(void)
{
    while (!(UART_STATE & 0x2)) {}
    return (uint8_t)UART_DATA;
}

void port_write(const uint8_t *p, uint32_t n)
{
    while (n--) {
        while (UART_STATE & 0x1) {}
        UART_DATA = *p++;
    }
}

uint64_t port_cycles(void)
{
    uint32_t wraps, value;
    do {   /* re-read until no wrap happened in between */
        wraps = systick_wraps;
        value = SYST_CVR;
    } while (wraps != systick_wraps);
    return ticks_base + (uint64_t)wraps * (SYSTICK_MAX + 1u) + (SYSTICK_MAX - value);
}

/* Restart the SysTick phase: under -icount the tick phase depends on host-timed idle before a
 * command, which would make counts jitter by one tick. A CVR write reloads without an interrupt. */
void port_counter_sync(void)
{
    uint64_t now = port_cycles();
    SYST_CVR = 0;
    while (SYST_CVR == 0) {}
    systick_wraps = 0;
    ticks_base = now;
}

const char *port_name(void) { return "qemu-mps2-an386"; }
const char *port_counter(void) { return "systick"; }
uint32_t port_clock_hz(void) { return 25000000u; }

void systick_handler(void) { systick_wraps++; }   /* vector in ports/cortex-m/startup.c */

int main(void)
{
    fw_main();
    return 0;
}
