/* Vector table and reset: copy .data, clear .bss, run main. */
#include <stdint.h>

extern uint32_t _data_start, _data_end, _data_load, _bss_start, _bss_end, _stack_top;
int main(void);

void reset_handler(void)
{
    uint32_t *src = &_data_load;
    for (uint32_t *dst = &_data_start; dst < &_data_end;)
        *dst++ = *src++;
    for (uint32_t *dst = &_bss_start; dst < &_bss_end;)
        *dst++ = 0;
    main();
    for (;;) {
    }
}

static void halt(void)
{
    for (;;) {
    }
}

/* initial stack pointer, reset, then NMI .. SysTick (no interrupts are used) */
__attribute__((section(".vectors"), used)) static void *const vectors[16] = {
    &_stack_top, reset_handler, halt, halt, halt, halt, halt, 0, 0, 0, 0, halt, halt, 0, halt, halt,
};
