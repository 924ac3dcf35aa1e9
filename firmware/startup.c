/* Reset and vector table of a Cortex-M firmware built by `mcuprune deploy`: copies .data
 * from flash, zeroes .bss, paints the stack, starts SysTick, runs main and reports its
 * status through semihosting. Symbols come from link.ld. */
#include <stdint.h>

extern uint32_t __data_load, __data_start, __data_end, __bss_start, __bss_end, __stack_top;
int main(void);
void plat_paint_stack(void);
void plat_start_ticks(void);
void plat_exit(int status);
void SysTick_Handler(void);

void Reset_Handler(void) {
  uint32_t *src = &__data_load, *dst = &__data_start;
  while (dst < &__data_end) *dst++ = *src++;
  for (dst = &__bss_start; dst < &__bss_end;) *dst++ = 0;
  /* The FPU (CP10, CP11 full access): the softmax and concat kernels use floats. */
  *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20);
  __asm__ volatile("dsb\n isb");
  plat_paint_stack();
  plat_start_ticks();
  plat_exit(main());
}

static void Fault_Handler(void) {
  plat_exit(3);
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(&__stack_top), Reset_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, 0, 0, 0, 0, Fault_Handler, Fault_Handler, 0, Fault_Handler, SysTick_Handler};
