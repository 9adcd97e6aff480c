/* The few STM32F103 registers the bridge uses (addresses and bits from RM0008). */
#ifndef STM32F103_H
#define STM32F103_H
#include <stdint.h>

#define REG(addr) (*(volatile uint32_t *)(addr))

/* RCC */
#define RCC_CR        REG(0x40021000)
#define RCC_CFGR      REG(0x40021004)
#define RCC_APB2ENR   REG(0x40021018)
#define RCC_APB1ENR   REG(0x4002101C)
#define RCC_CR_HSEON  (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_PLLON  (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define FLASH_ACR     REG(0x40022000)

/* GPIO ports A and B: CRL pins 0-7, CRH pins 8-15, 4 bits each */
#define GPIOA_CRL REG(0x40010800)
#define GPIOA_CRH REG(0x40010804)
#define GPIOA_IDR REG(0x40010808)
#define GPIOA_ODR REG(0x4001080C)
#define GPIOB_CRL REG(0x40010C00)

/* USART1 (APB2, 72 MHz) */
#define USART1_SR  REG(0x40013800)
#define USART1_DR  REG(0x40013804)
#define USART1_BRR REG(0x40013808)
#define USART1_CR1 REG(0x4001380C)
#define USART_SR_RXNE (1u << 5)
#define USART_SR_TXE  (1u << 7)

/* I2C1 (APB1, 36 MHz) */
#define I2C1_CR1   REG(0x40005400)
#define I2C1_CR2   REG(0x40005404)
#define I2C1_DR    REG(0x40005410)
#define I2C1_SR1   REG(0x40005414)
#define I2C1_SR2   REG(0x40005418)
#define I2C1_CCR   REG(0x4000541C)
#define I2C1_TRISE REG(0x40005420)
#define I2C_CR1_PE    (1u << 0)
#define I2C_CR1_START (1u << 8)
#define I2C_CR1_STOP  (1u << 9)
#define I2C_CR1_ACK   (1u << 10)
#define I2C_SR1_SB    (1u << 0)
#define I2C_SR1_ADDR  (1u << 1)
#define I2C_SR1_BTF   (1u << 2)
#define I2C_SR1_RXNE  (1u << 6)
#define I2C_SR1_TXE   (1u << 7)
#define I2C_SR1_AF    (1u << 10)

/* Cortex-M3 cycle counter (DWT), enabled through DEMCR */
#define DEMCR      REG(0xE000EDFC)
#define DWT_CTRL   REG(0xE0001000)
#define DWT_CYCCNT REG(0xE0001004)

#endif
