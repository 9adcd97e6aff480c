/* GAPuino (GreenWaves GAP8) fabric-controller port. Build-only here, NOT verified on hardware:
 * the register layout follows the PULP uDMA UART (v1: RX/TX channel address, size, config,
 * then status and setup) and the RI5CY performance counters; check every address against the
 * GAP8 reference manual before flashing (docs/firmware.md).
 * Serial: uDMA UART0, 115200 8N1, one-byte uDMA transfers (polling). Counter: PCCR0 cycles. */
#include "app.h"
#include "port.h"

#define REG(addr) (*(volatile uint32_t *)(addr))
#define UDMA_BASE 0x1A102000u
#define UDMA_CG REG(UDMA_BASE + 0x00u)           /* per-peripheral clock enable */
#define UART_ID 1u                               /* uDMA channel of UART0 (GAP8 SDK: ARCHI_UDMA_UART_ID(0)) */
#define UART (UDMA_BASE + 0x80u * (UART_ID + 1u))
#define UART_RX_SADDR REG(UART + 0x00u)
#define UART_RX_SIZE REG(UART + 0x04u)
#define UART_RX_CFG REG(UART + 0x08u)
#define UART_TX_SADDR REG(UART + 0x10u)
#define UART_TX_SIZE REG(UART + 0x14u)
#define UART_TX_CFG REG(UART + 0x18u)
#define UART_SETUP REG(UART + 0x24u)
#define CFG_EN (1u << 4)
#define CFG_PENDING (1u << 5)
#define FC_CLOCK_HZ 50000000u                    /* FC clock after boot ROM: estimated */

static volatile uint8_t rx_byte, tx_byte;        /* in L2: reachable by the uDMA */
static uint32_t last_pccr, pccr_wraps;

void port_init(void)
{
    UDMA_CG |= 1u << UART_ID;
    uint32_t div = FC_CLOCK_HZ / 115200u;
    UART_SETUP = div << 16 | 1u << 9 | 1u << 8 | 3u << 1;   /* clkdiv, RX on, TX on, 8 data bits */
    __asm__ volatile("csrw 0xCC0, %0" :: "r"(1u));          /* PCER: count cycles */
    __asm__ volatile("csrw 0xCC1, %0" :: "r"(1u));          /* PCMR: counters on */
}

uint8_t port_getc(void)
{
    UART_RX_SADDR = (uint32_t)(uintptr_t)&rx_byte;
    UART_RX_SIZE = 1;
    UART_RX_CFG = CFG_EN;
    while (UART_RX_CFG & (CFG_EN | CFG_PENDING)) {}
    return rx_byte;
}

void port_write(const uint8_t *p, uint32_t n)
{
    while (n--) {
        tx_byte = *p++;
        UART_TX_SADDR = (uint32_t)(uintptr_t)&tx_byte;
        UART_TX_SIZE = 1;
        UART_TX_CFG = CFG_EN;
        while (UART_TX_CFG & (CFG_EN | CFG_PENDING)) {}
    }
}

uint64_t port_cycles(void)
{
    uint32_t now;
    __asm__ volatile("csrr %0, 0x780" : "=r"(now) :: "memory");   /* PCCR0 */
    return port_widen32(now, &last_pccr, &pccr_wraps);
}

const char *port_name(void) { return "gapuino"; }
const char *port_counter(void) { return "cycles"; }
uint32_t port_clock_hz(void) { return FC_CLOCK_HZ; }
void port_counter_sync(void) {}

int main(void)
{
    fw_main();
    return 0;
}
