/* The harness's platform on a Cortex-M: Arm semihosting (BKPT 0xAB; operations SYS_OPEN,
 * SYS_CLOSE, SYS_WRITE0, SYS_WRITE, SYS_READ, SYS_EXIT of the Arm semihosting
 * specification), SysTick on the processor clock for ticks, and the stack painted at reset
 * (startup.c) for its high-water mark. No C library I/O, no heap. */
#include "platform.h"

#define SYS_OPEN 0x01
#define SYS_CLOSE 0x02
#define SYS_WRITE0 0x04
#define SYS_WRITE 0x05
#define SYS_READ 0x06
#define SYS_EXIT_EXTENDED 0x20

static long semihost(long op, const void *arg) {
  register long r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

static unsigned long length(const char *s) {
  unsigned long n = 0;
  while (s[n]) ++n;
  return n;
}

long plat_open(const char *name, int write) {
  long args[3];
  args[0] = (long)name;
  args[1] = write ? 5 : 1; /* "wb" : "rb" */
  args[2] = (long)length(name);
  return semihost(SYS_OPEN, args);
}

long plat_read(long f, void *buf, long n) {
  long args[3];
  args[0] = f, args[1] = (long)buf, args[2] = n;
  return n - semihost(SYS_READ, args); /* the call returns the bytes not read */
}

long plat_write(long f, const void *buf, long n) {
  long args[3];
  args[0] = f, args[1] = (long)buf, args[2] = n;
  return n - semihost(SYS_WRITE, args);
}

void plat_close(long f) { semihost(SYS_CLOSE, &f); }
void plat_puts(const char *s) { semihost(SYS_WRITE0, s); }

void plat_exit(int status) {
  /* SYS_EXIT_EXTENDED: ADP_Stopped_ApplicationExit (0x20026) and the exit status (on a 32-bit
   * core plain SYS_EXIT takes the reason alone and cannot carry a status). */
  long args[2];
  args[0] = 0x20026, args[1] = status;
  semihost(SYS_EXIT_EXTENDED, args);
  for (;;) {
  }
}

/* SysTick: a 24-bit down-counter on the processor clock; its interrupt counts wraps. */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
static volatile uint32_t wraps;
void SysTick_Handler(void) { ++wraps; }

void plat_start_ticks(void) {
  SYST_RVR = 0xFFFFFFu;
  SYST_CVR = 0;
  SYST_CSR = 7u; /* enable, interrupt, processor clock */
}

uint64_t plat_ticks(void) {
  uint32_t w, v;
  do {
    w = wraps;
    v = SYST_CVR;
  } while (w != wraps);
  return (uint64_t)w * 0x1000000u + (0xFFFFFFu - v);
}

extern uint32_t __stack_bottom, __stack_top;
#define STACK_PAINT 0xA5A5A5A5u
void plat_paint_stack(void) {
  /* up to a margin below the current stack pointer (this function's own frame) */
  uint32_t here;
  uint32_t *p = &__stack_bottom, *end = (uint32_t *)((uintptr_t)&here - 64);
  while (p < end) *p++ = STACK_PAINT;
}

uint32_t plat_stack_used(void) {
  const uint32_t *p = &__stack_bottom;
  while (p < &__stack_top && *p == STACK_PAINT) ++p;
  return (uint32_t)((uintptr_t)&__stack_top - (uintptr_t)p);
}

static char *put_u64(char *p, uint64_t v) {
  char tmp[24];
  int n = 0;
  do tmp[n++] = (char)('0' + v % 10); while ((v /= 10) != 0);
  while (n) *p++ = tmp[--n];
  return p;
}

static char *put_s(char *p, const char *s) {
  while (*s) *p++ = *s++;
  return p;
}

void plat_format_stats(char *line, size_t size, int32_t samples, int32_t status, uint64_t ticks, uint32_t stack) {
  char *p = line;
  (void)size; /* at most 4 numbers of 20 digits and 40 characters of text */
  p = put_s(p, "MCUPRUNE samples=");
  p = put_u64(p, (uint64_t)samples);
  p = put_s(p, " status=");
  p = put_u64(p, (uint64_t)status);
  p = put_s(p, " ticks=");
  p = put_u64(p, ticks);
  p = put_s(p, " stack=");
  p = put_u64(p, stack);
  p = put_s(p, "\n");
  *p = 0;
}
