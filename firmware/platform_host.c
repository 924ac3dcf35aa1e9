/* The harness's platform on a host: stdio, no ticks, no stack measurement. */
#include <stdio.h>

#include "platform.h"

static FILE *files[2];

long plat_open(const char *name, int write) {
  FILE *f = fopen(name, write ? "wb" : "rb");
  if (!f) return -1;
  files[write ? 1 : 0] = f;
  return write ? 1 : 0;
}
long plat_read(long f, void *buf, long n) { return (long)fread(buf, 1, (size_t)n, files[f]); }
long plat_write(long f, const void *buf, long n) { return (long)fwrite(buf, 1, (size_t)n, files[f]); }
void plat_close(long f) { fclose(files[f]); }
void plat_puts(const char *s) { fputs(s, stdout); }
uint64_t plat_ticks(void) { return 0; }
uint32_t plat_stack_used(void) { return 0; }
void plat_format_stats(char *line, size_t size, int32_t samples, int32_t status, uint64_t ticks, uint32_t stack) {
  snprintf(line, size, "MCUPRUNE samples=%ld status=%ld ticks=%llu stack=%lu\n", (long)samples, (long)status,
           (unsigned long long)ticks, (unsigned long)stack);
}
