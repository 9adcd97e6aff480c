/* edgert INA219/INA226 serial bridge, STM32F103C8 "Blue Pill".
 *
 * Wiring: USART1 PA9 (TX) / PA10 (RX) at 921600 8N1 to a USB-serial adapter; I2C1 PB6 (SCL)
 * / PB7 (SDA) to the INA2xx at address 0x40; PA0 (pull-up) to the board's timestamp pin.
 * Line protocol (devices/meters/ina_protocol.py, docs/meters.md):
 *   ID?            -> EDGERT-INA,<chip>,<fw>,<shunt mOhm>
 *   CFG <us> <avg> -> OK | ERR <reason>
 *   START / STOP   -> OK, and while started: D,<seq>,<t_us>,<bus_mV>,<current_uA>,<pin>
 * The host never sees a partial sample: every line is formatted, then sent whole.
 */
#include <stdint.h>

#include "stm32f103.h"

#define CPU_HZ 72000000u
#define BAUD 921600u
#define INA_ADDR 0x40u
#define CURRENT_LSB_UA 25 /* 0.8 A full scale over 2^15 */
#define FW_VERSION "1.0"

#if defined(CHIP_INA226)
#define CHIP_NAME "INA226"
#define MIN_PERIOD_US 300u /* one 140 us bus + one 140 us shunt conversion */
#define CAL_VALUE (204800u / SHUNT_MOHM) /* 0.00512 / (25 uA * R) */
#elif defined(CHIP_INA219)
#define CHIP_NAME "INA219"
#define MIN_PERIOD_US 200u /* two 84 us 9-bit conversions */
#define CAL_VALUE (1638400u / SHUNT_MOHM) /* 0.04096 / (25 uA * R) */
#define INA219_CONFIG 0x1807u /* 16 V bus, /8 gain (320 mV), 9-bit ADCs, continuous */
#else
#error "build with CHIP=INA226 or CHIP=INA219"
#endif

#define REG_CONFIG 0x00u
#define REG_BUS 0x02u
#define REG_CURRENT 0x04u
#define REG_CAL 0x05u

/* ---- clock, pins, time ------------------------------------------------------------ */

static void clock_init(void)
{
    RCC_CR |= RCC_CR_HSEON;
    while (!(RCC_CR & RCC_CR_HSERDY)) {
    }
    FLASH_ACR = 0x12u; /* prefetch on, 2 wait states for 72 MHz */
    RCC_CFGR = (7u << 18) | (1u << 16) | (4u << 8); /* PLL = HSE 8 MHz x 9, APB1 = /2 */
    RCC_CR |= RCC_CR_PLLON;
    while (!(RCC_CR & RCC_CR_PLLRDY)) {
    }
    RCC_CFGR |= 2u; /* system clock = PLL */
    while (((RCC_CFGR >> 2) & 3u) != 2u) {
    }
}

static void pins_init(void)
{
    RCC_APB2ENR |= (1u << 0) | (1u << 2) | (1u << 3) | (1u << 14); /* AFIO, GPIOA/B, USART1 */
    RCC_APB1ENR |= 1u << 21; /* I2C1 */
    GPIOA_CRL = (GPIOA_CRL & ~0xFu) | 0x8u; /* PA0 input with pull-... */
    GPIOA_ODR |= 1u; /* ...up */
    GPIOA_CRH = (GPIOA_CRH & ~0xFF0u) | 0x4B0u; /* PA9 AF push-pull, PA10 floating input */
    GPIOB_CRL = (GPIOB_CRL & ~0xFF000000u) | 0xFF000000u; /* PB6/PB7 AF open-drain */
}

static uint64_t cycles;
static uint32_t last_cyccnt;

static void timer_init(void)
{
    DEMCR |= 1u << 24; /* TRCENA */
    DWT_CYCCNT = 0;
    DWT_CTRL |= 1u; /* CYCCNTENA */
}

/* microseconds since boot; the 32-bit cycle counter is extended so it never wraps early */
static uint32_t now_us(void)
{
    uint32_t c = DWT_CYCCNT;
    cycles += (uint32_t)(c - last_cyccnt);
    last_cyccnt = c;
    return (uint32_t)(cycles / (CPU_HZ / 1000000u));
}

/* ---- UART --------------------------------------------------------------------------- */

static void uart_init(void)
{
    USART1_BRR = (CPU_HZ + BAUD / 2) / BAUD;
    USART1_CR1 = (1u << 13) | (1u << 3) | (1u << 2); /* UE, TE, RE */
}

static void uart_send(const char *s)
{
    while (*s) {
        while (!(USART1_SR & USART_SR_TXE)) {
        }
        USART1_DR = (uint8_t)*s++;
    }
}

/* ---- I2C (polled, with timeouts so a missing chip cannot hang the bridge) ------------- */

static void i2c_init(void)
{
    I2C1_CR2 = 36u; /* APB1 MHz */
    I2C1_CCR = (1u << 15) | 30u; /* fast mode 400 kHz */
    I2C1_TRISE = 11u;
    I2C1_CR1 = I2C_CR1_PE;
}

static int wait_flag(uint32_t flag)
{
    for (uint32_t n = 0; n < 100000u; n++) {
        uint32_t sr = I2C1_SR1;
        if (sr & I2C_SR1_AF) {
            I2C1_SR1 = ~I2C_SR1_AF;
            return -1;
        }
        if (sr & flag)
            return 0;
    }
    return -1;
}

static int i2c_start(uint8_t addr_rw)
{
    I2C1_CR1 |= I2C_CR1_START;
    if (wait_flag(I2C_SR1_SB))
        return -1;
    I2C1_DR = addr_rw;
    if (wait_flag(I2C_SR1_ADDR))
        return -1;
    (void)I2C1_SR2; /* reading SR1 then SR2 clears ADDR */
    return 0;
}

static int ina_write(uint8_t reg, uint16_t value)
{
    int err = i2c_start(INA_ADDR << 1) || (I2C1_DR = reg, wait_flag(I2C_SR1_TXE)) ||
              (I2C1_DR = value >> 8, wait_flag(I2C_SR1_TXE)) ||
              (I2C1_DR = value & 0xFFu, wait_flag(I2C_SR1_BTF));
    I2C1_CR1 |= I2C_CR1_STOP;
    return err;
}

static int ina_read(uint8_t reg, uint16_t *value)
{
    int err = i2c_start(INA_ADDR << 1) || (I2C1_DR = reg, wait_flag(I2C_SR1_BTF));
    if (!err) {
        I2C1_CR1 |= I2C_CR1_ACK;
        err = i2c_start((INA_ADDR << 1) | 1u) || wait_flag(I2C_SR1_RXNE);
        uint8_t hi = (uint8_t)I2C1_DR;
        I2C1_CR1 &= ~I2C_CR1_ACK; /* NACK the last byte, then stop */
        I2C1_CR1 |= I2C_CR1_STOP;
        err = err || wait_flag(I2C_SR1_RXNE);
        *value = (uint16_t)((hi << 8) | (uint8_t)I2C1_DR);
        return err;
    }
    I2C1_CR1 |= I2C_CR1_STOP;
    return err;
}

/* ---- formatting ----------------------------------------------------------------------- */

static char *put_str(char *p, const char *s)
{
    while (*s)
        *p++ = *s++;
    return p;
}

static char *put_uint(char *p, uint32_t v)
{
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_int(char *p, int32_t v)
{
    if (v < 0) {
        *p++ = '-';
        return put_uint(p, (uint32_t)(-(v + 1)) + 1u);
    }
    return put_uint(p, (uint32_t)v);
}

static uint32_t parse_uint(const char **s)
{
    uint32_t v = 0;
    while (**s == ' ')
        (*s)++;
    while (**s >= '0' && **s <= '9')
        v = v * 10u + (uint32_t)(*(*s)++ - '0');
    return v;
}

static int same(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* ---- protocol --------------------------------------------------------------------------- */

static uint32_t period_us = 1000u;
static int streaming;
static uint32_t seq, next_sample_us;

static uint16_t config_for(uint32_t averages, int *ok)
{
#if defined(CHIP_INA226)
    static const uint16_t counts[8] = {1, 4, 16, 64, 128, 256, 512, 1024};
    for (uint16_t bits = 0; bits < 8; bits++)
        if (counts[bits] == averages) {
            *ok = 1;
            return (uint16_t)(0x4007u | (bits << 9)); /* 140 us conversions, continuous */
        }
    *ok = 0;
    return 0;
#else
    *ok = averages == 1u; /* the INA219 averages by longer conversions, not supported here */
    return INA219_CONFIG;
#endif
}

static void command(const char *line)
{
    if (same(line, "ID?")) {
        char out[48];
        char *p = put_str(out, "EDGERT-INA," CHIP_NAME "," FW_VERSION ",");
        p = put_uint(p, SHUNT_MOHM);
        *p++ = '\n';
        *p = 0;
        uart_send(out);
    } else if (line[0] == 'C' && line[1] == 'F' && line[2] == 'G' && line[3] == ' ') {
        const char *s = line + 3;
        uint32_t period = parse_uint(&s), averages = parse_uint(&s);
        int ok;
        uint16_t config = config_for(averages, &ok);
        if (period < MIN_PERIOD_US)
            uart_send("ERR period below minimum\n");
        else if (!ok)
            uart_send("ERR unsupported averaging\n");
        else if (ina_write(REG_CONFIG, config))
            uart_send("ERR i2c: no INA2xx answering at 0x40\n");
        else {
            period_us = period;
            uart_send("OK\n");
        }
    } else if (same(line, "START")) {
        if (ina_write(REG_CAL, (uint16_t)CAL_VALUE)) {
            uart_send("ERR i2c: no INA2xx answering at 0x40\n");
            return;
        }
        uart_send("OK\n");
        streaming = 1;
        seq = 0;
        next_sample_us = now_us();
    } else if (same(line, "STOP")) {
        streaming = 0;
        uart_send("OK\n");
    } else {
        uart_send("ERR unknown command\n");
    }
}

static void sample(uint32_t t_us)
{
    uint16_t bus, current;
    if (ina_read(REG_BUS, &bus) || ina_read(REG_CURRENT, &current)) {
        streaming = 0;
        uart_send("ERR i2c read failed; stopped\n");
        return;
    }
#if defined(CHIP_INA226)
    uint32_t bus_mv = (bus * 5u) / 4u; /* 1.25 mV LSB */
#else
    uint32_t bus_mv = (uint32_t)(bus >> 3) * 4u; /* 4 mV LSB, bits 15..3 */
#endif
    char out[64];
    char *p = put_uint(put_str(out, "D,"), seq++ & 0xFFFFu);
    *p++ = ',';
    p = put_uint(p, t_us);
    *p++ = ',';
    p = put_uint(p, bus_mv);
    *p++ = ',';
    p = put_int(p, (int16_t)current * CURRENT_LSB_UA);
    *p++ = ',';
    *p++ = (GPIOA_IDR & 1u) ? '1' : '0';
    *p++ = '\n';
    *p = 0;
    uart_send(out);
}

int main(void)
{
    clock_init();
    pins_init();
    timer_init();
    uart_init();
    i2c_init();
    char line[64];
    uint32_t len = 0;
    for (;;) {
        if (USART1_SR & USART_SR_RXNE) {
            char c = (char)USART1_DR;
            if (c == '\n' || c == '\r') {
                line[len] = 0;
                if (len)
                    command(line);
                len = 0;
            } else if (len < sizeof line - 1) {
                line[len++] = c;
            }
        }
        if (streaming) {
            uint32_t t = now_us();
            if ((int32_t)(t - next_sample_us) >= 0) {
                next_sample_us += period_us;
                sample(t);
            }
        }
    }
}
