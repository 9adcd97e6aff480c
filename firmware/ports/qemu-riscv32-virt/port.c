/* qemu-riscv32-virt: NS16550A UART at 0x10000000, counter = rdinstret. Under QEMU with
 * -icount shift=0 rdinstret is the exact retired-instruction count, identical every run
 * (docs/firmware.md); one instruction = 1 ns of virtual time, hence clock_hz = 1e9. */
#include "app.h"
#include "port.h"

#define UART ((volatile uint8_t *)0x10000000u)
enum { RBR = 0, THR = 0, IER = 1, DLL = 0, DLM = 1, FCR = 2, LCR = 3, LSR = 5 };

void port_init(void)
{
    UART[IER] = 0x00;
    UART[LCR] = 0x80;          /* DLAB */
    UART[DLL] = 0x01;
    UART[DLM] = 0x00;
    UART[LCR] = 0x03;          /* 8N1 */
    UART[FCR] = 0xC7;          /* FIFOs on, RX trigger 14: QEMU then feeds 14 bytes per pass */
    (void)UART[RBR];           /* makes QEMU re-poll the chardev after the FCR write */
}

uint8_t port_getc(void)
{
    while (!(UART[LSR] & 0x01)) {}
    return UART[RBR];
}

void port_write(const uint8_t *p, uint32_t n)
{
    while (n--) {
        while (!(UART[LSR] & 0x20)) {}
        UART[THR] = *p++;
    }
}

uint64_t port_cycles(void)
{
    uint32_t hi, lo, hi2;
    do {
        __asm__ volatile("csrr %0, instreth" : "=r"(hi) :: "memory");
        __asm__ volatile("csrr %0, instret" : "=r"(lo) :: "memory");
        __asm__ volatile("csrr %0, instreth" : "=r"(hi2) :: "memory");
    } while (hi != hi2);
    return (uint64_t)hi << 32 | lo;
}

const char *port_name(void) { return "qemu-riscv32-virt"; }
const char *port_counter(void) { return "instret"; }
uint32_t port_clock_hz(void) { return 1000000000u; }
void port_counter_sync(void) {}

int main(void)
{
    fw_main();
    return 0;
}
