/* NUCLEO-L4R5ZI (STM32L4R5ZI, Cortex-M4F), the MLPerf Tiny reference board. Build-only here:
 * register values from ST RM0432 and UM2179, not run in CI (docs/firmware.md: flashing).
 * Serial: LPUART1 on PG7 (TX) / PG8 (RX), AF8, wired to the ST-LINK virtual COM port;
 * 115200 8N1 from the 4 MHz MSI reset clock. Counter: DWT CYCCNT extended to 64 bits. */
#include "app.h"
#include "port.h"

#define REG(addr) (*(volatile uint32_t *)(addr))
#define RCC 0x40021000u
#define RCC_AHB2ENR REG(RCC + 0x4Cu)
#define RCC_APB1ENR1 REG(RCC + 0x58u)
#define RCC_APB1ENR2 REG(RCC + 0x5Cu)
#define PWR_CR2 REG(0x40007004u)
#define GPIOG 0x48001800u
#define GPIOG_MODER REG(GPIOG + 0x00u)
#define GPIOG_AFRL REG(GPIOG + 0x20u)
#define GPIOG_AFRH REG(GPIOG + 0x24u)
#define LPUART1 0x40008000u
#define LPUART_CR1 REG(LPUART1 + 0x00u)
#define LPUART_BRR REG(LPUART1 + 0x0Cu)
#define LPUART_ISR REG(LPUART1 + 0x1Cu)
#define LPUART_RDR REG(LPUART1 + 0x24u)
#define LPUART_TDR REG(LPUART1 + 0x28u)
#define DEMCR REG(0xE000EDFCu)
#define DWT_CTRL REG(0xE0001000u)
#define DWT_CYCCNT REG(0xE0001004u)
#define CLOCK_HZ 4000000u   /* MSI at reset */

static uint32_t last_cyccnt, cyccnt_wraps;

void port_init(void)
{
    RCC_APB1ENR1 |= 1u << 28;            /* PWREN */
    PWR_CR2 |= 1u << 9;                  /* IOSV: port G is powered from VDDIO2 */
    RCC_AHB2ENR |= 1u << 6;              /* GPIOGEN */
    RCC_APB1ENR2 |= 1u << 0;             /* LPUART1EN (kernel clock: PCLK1 = MSI) */
    GPIOG_MODER = (GPIOG_MODER & ~(3u << 14 | 3u << 16)) | 2u << 14 | 2u << 16;   /* PG7, PG8: AF */
    GPIOG_AFRL = (GPIOG_AFRL & ~(0xFu << 28)) | 8u << 28;
    GPIOG_AFRH = (GPIOG_AFRH & ~0xFu) | 8u;
    LPUART_BRR = (uint32_t)((256ull * CLOCK_HZ + 115200 / 2) / 115200);
    LPUART_CR1 = 1u << 3 | 1u << 2 | 1u << 0;   /* TE, RE, UE */
    DEMCR |= 1u << 24;                   /* TRCENA */
    DWT_CYCCNT = 0;
    DWT_CTRL |= 1u;                      /* CYCCNTENA */
}

uint8_t port_getc(void)
{
    while (!(LPUART_ISR & (1u << 5))) {}  /* RXNE */
    return (uint8_t)LPUART_RDR;
}

void port_write(const uint8_t *p, uint32_t n)
{
    while (n--) {
        while (!(LPUART_ISR & (1u << 7))) {}   /* TXE */
        LPUART_TDR = *p++;
    }
}

uint64_t port_cycles(void)
{
    return port_widen32(DWT_CYCCNT, &last_cyccnt, &cyccnt_wraps);   /* wraps every 17 min at 4 MHz */
}

const char *port_name(void) { return "nucleo-l4r5zi"; }
const char *port_counter(void) { return "cycles"; }
uint32_t port_clock_hz(void) { return CLOCK_HZ; }
void port_counter_sync(void) {}

int main(void)
{
    fw_main();
    return 0;
}
