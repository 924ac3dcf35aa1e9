#include "reshape.h"

#include <string.h>

void mp_reshape(const mp_reshape_params *p, const int8_t *input, int8_t *output) {
  if (input != output) memmove(output, input, (size_t)p->size);
}
