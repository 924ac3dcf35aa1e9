/* What the harness needs from its platform: files, a console, a tick counter and the stack
 * high-water mark. platform_host.c (stdio) and platform_semihost.c (Arm semihosting on a
 * Cortex-M, SysTick) implement it. */
#ifndef MCUPRUNE_PLATFORM_H
#define MCUPRUNE_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

long plat_open(const char *name, int write);
long plat_read(long f, void *buf, long n);
long plat_write(long f, const void *buf, long n);
void plat_close(long f);
void plat_puts(const char *s);
uint64_t plat_ticks(void);
uint32_t plat_stack_used(void);
void plat_format_stats(char *line, size_t size, int32_t samples, int32_t status, uint64_t ticks, uint32_t stack);

#endif
