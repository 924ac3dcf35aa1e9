#include "fully_connected.h"

#include "dot.h"
#include "fixed_point.h"

static inline int8_t fc_output(const mp_fully_connected_params *p, int32_t acc) {
  return mp_clamp8(mp_requantize(acc, p->multiplier, p->shift) + p->output_zero_point, p->act_min, p->act_max);
}

int32_t mp_fully_connected_scratch_bytes(const mp_fully_connected_params *p) {
  /* the input as int16 in groups of four (at most 6 bytes of rounding), aligned inside */
  return 2 * p->in_features + 6 + 3;
}

#ifdef MP_DSP
/* With scratch: the input offset to int16 once, in groups of four as the halfword pairs
 * (x0, x2), (x1, x3) that SXTB16 makes of the weights. When the count n is not a multiple of
 * 4, one more group holds positions n-4 .. n-1, with zeros where they belong to the previous
 * group, read with each row's last four weights (in bounds). */
static void fill_input(const mp_fully_connected_params *p, const int8_t *input, int8_t *x16) {
  const int32_t n = p->in_features, full = n & ~3;
  const uint32_t off = ((uint32_t)(uint16_t)p->input_offset << 16) | (uint16_t)p->input_offset;
  int32_t i;
  for (i = 0; i < full; i += 4) {
    const uint32_t xv = mp_load4(input + i);
    const uint32_t xe = mp_sadd16(mp_sxtb16(xv), off), xo = mp_sadd16(mp_sxtb16_ror8(xv), off);
    memcpy(x16 + 2 * i, &xe, 4);
    memcpy(x16 + 2 * i + 4, &xo, 4);
  }
  if (full < n) {
    int8_t *g = x16 + 2 * full;
    memset(g, 0, 8);
    for (i = full; i < n; ++i) {
      const int32_t j = i - (n - 4); /* its place in the extra group */
      mp_put16(g, ((j & 1) << 1) | ((j & 2) >> 1), input[i] + p->input_offset);
    }
  }
}

/* Four rows w0, w0 + stride, w2, w2 + stride over `groups` groups of the converted input (x
 * 4-byte aligned): 23 instructions per 16 MACs on the core; the same sums in C elsewhere. */
static inline void groups4(const int8_t *x, const int8_t *w0, const int8_t *w2, int32_t stride, int32_t groups,
                           int32_t acc[4]) {
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
#if defined(MP_EMULATE_DSP)
  const int8_t *w1 = w0 + stride, *w3 = w2 + stride;
  for (; groups > 0; --groups, x += 8, w0 += 4, w1 += 4, w2 += 4, w3 += 4) {
    const uint32_t xe = mp_load4(x), xo = mp_load4(x + 4);
    uint32_t wv = mp_load4(w0);
    a0 = mp_smlad(xo, mp_sxtb16_ror8(wv), mp_smlad(xe, mp_sxtb16(wv), a0));
    wv = mp_load4(w1);
    a1 = mp_smlad(xo, mp_sxtb16_ror8(wv), mp_smlad(xe, mp_sxtb16(wv), a1));
    wv = mp_load4(w2);
    a2 = mp_smlad(xo, mp_sxtb16_ror8(wv), mp_smlad(xe, mp_sxtb16(wv), a2));
    wv = mp_load4(w3);
    a3 = mp_smlad(xo, mp_sxtb16_ror8(wv), mp_smlad(xe, mp_sxtb16(wv), a3));
  }
#else
  uint32_t xe, xo, we, wv;
  if (groups > 0)
    __asm__ volatile(
        "1:\n\t"
        "ldrd %[xe], %[xo], [%[x]], #8\n\t"
        "ldr %[wv], [%[w0], %[s]]\n\t"
        "sxtb16 %[we], %[wv]\n\t"
        "sxtb16 %[wv], %[wv], ror #8\n\t"
        "smlad %[a1], %[xe], %[we], %[a1]\n\t"
        "smlad %[a1], %[xo], %[wv], %[a1]\n\t"
        "ldr %[wv], [%[w0]], #4\n\t"
        "sxtb16 %[we], %[wv]\n\t"
        "sxtb16 %[wv], %[wv], ror #8\n\t"
        "smlad %[a0], %[xe], %[we], %[a0]\n\t"
        "smlad %[a0], %[xo], %[wv], %[a0]\n\t"
        "ldr %[wv], [%[w2], %[s]]\n\t"
        "sxtb16 %[we], %[wv]\n\t"
        "sxtb16 %[wv], %[wv], ror #8\n\t"
        "smlad %[a3], %[xe], %[we], %[a3]\n\t"
        "smlad %[a3], %[xo], %[wv], %[a3]\n\t"
        "ldr %[wv], [%[w2]], #4\n\t"
        "sxtb16 %[we], %[wv]\n\t"
        "sxtb16 %[wv], %[wv], ror #8\n\t"
        "smlad %[a2], %[xe], %[we], %[a2]\n\t"
        "smlad %[a2], %[xo], %[wv], %[a2]\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w0] "+r"(w0), [w2] "+r"(w2),
          [n] "+r"(groups), [xe] "=&r"(xe), [xo] "=&r"(xo), [we] "=&r"(we), [wv] "=&r"(wv)
        : [s] "r"(stride)
        : "cc", "memory");
#endif
  acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}

static void fully_connected_scratch(const mp_fully_connected_params *p, const int8_t *input, int8_t *output,
                                    int8_t *scratch) {
  const int32_t n = p->in_features, full = n & ~3;
  int32_t o = 0, i;
  int8_t *x16 = scratch + ((4 - (int32_t)((uintptr_t)scratch & 3)) & 3);
  fill_input(p, input, x16);
  for (; o < p->out_features && p->out_features >= 4; o += 4) {
    const int8_t *w0;
    int32_t acc[4];
    if (o + 4 > p->out_features) o = p->out_features - 4; /* the last rows overlap the previous group */
    w0 = p->weights + (int64_t)o * n;
    acc[0] = p->bias[o], acc[1] = p->bias[o + 1], acc[2] = p->bias[o + 2], acc[3] = p->bias[o + 3];
    groups4(x16, w0, w0 + 2 * n, n, full / 4, acc);
    if (full < n) groups4(x16 + 2 * full, w0 + n - 4, w0 + 3 * n - 4, n, 1, acc);
    for (i = 0; i < 4; ++i) output[o + i] = fc_output(p, acc[i]);
  }
  for (; o < p->out_features; ++o) {
    const int8_t *w = p->weights + (int64_t)o * n;
    int32_t acc = p->bias[o];
    for (i = 0; i < (n + 3) / 4; ++i) {
      const uint32_t wv = mp_load4(w + (4 * i + 4 <= n ? 4 * i : n - 4));
      acc = mp_smlad(mp_load4(x16 + 8 * i), mp_sxtb16(wv), acc);
      acc = mp_smlad(mp_load4(x16 + 8 * i + 4), mp_sxtb16_ror8(wv), acc);
    }
    output[o] = fc_output(p, acc);
  }
}
#endif

#ifndef MP_DSP
/* Without the DSP extension, with scratch: the input plus its offset as int16 once, then two
 * output rows at a time share each input value (one load, two weight loads, two
 * multiply-accumulates). Kept out of line: its live values then stay in registers. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void rows2_portable(const int16_t *x, const int8_t *w0, const int8_t *w1, int32_t n, int32_t *p0, int32_t *p1) {
  int32_t a0 = *p0, a1 = *p1;
  const int16_t *end = x + n;
  for (; x != end; ++x, ++w0, ++w1) {
    const int32_t v = *x;
    a0 += v * *w0, a1 += v * *w1;
  }
  *p0 = a0, *p1 = a1;
}

static void fully_connected_portable(const mp_fully_connected_params *p, const int8_t *input, int8_t *output,
                                     int16_t *x16) {
  const int32_t n = p->in_features;
  int32_t o, i;
  for (i = 0; i < n; ++i) x16[i] = (int16_t)(input[i] + p->input_offset);
  for (o = 0; o < p->out_features; o += 2) {
    int32_t a0, a1;
    const int8_t *w0;
    if (o + 2 > p->out_features) o = p->out_features - 2; /* an odd count: the last pair overlaps */
    w0 = p->weights + (int64_t)o * n;
    a0 = p->bias[o], a1 = p->bias[o + 1];
    rows2_portable(x16, w0, w0 + n, n, &a0, &a1);
    output[o] = fc_output(p, a0), output[o + 1] = fc_output(p, a1);
  }
}
#endif

void mp_fully_connected(const mp_fully_connected_params *p, const int8_t *input, int8_t *output, void *scratch) {
  const int32_t n = p->in_features;
  int32_t o = 0;
#ifdef MP_DSP
  /* Without scratch: four output rows at a time share each group of four inputs (mp_dot4). */
  if (scratch && n >= 4) {
    fully_connected_scratch(p, input, output, (int8_t *)scratch);
    return;
  }
  for (; o < p->out_features && p->out_features >= 4; o += 4) {
    const int8_t *w0;
    int32_t acc[4], j;
    if (o + 4 > p->out_features) o = p->out_features - 4; /* the last rows overlap the previous group */
    w0 = p->weights + (int64_t)o * n;
    for (j = 0; j < 4; ++j) acc[j] = p->bias[o + j];
    mp_dot4(input, w0, w0 + n, w0 + 2 * n, w0 + 3 * n, n, p->input_offset, acc);
    for (j = 0; j < 4; ++j) output[o + j] = fc_output(p, acc[j]);
  }
#else
  if (scratch && p->out_features >= 2) { /* int16 input: 2-byte aligned inside the scratch */
    fully_connected_portable(p, input, output, (int16_t *)(void *)((int8_t *)scratch + ((uintptr_t)scratch & 1)));
    return;
  }
#endif
  for (; o < p->out_features; ++o)
    output[o] = fc_output(p, mp_dot(input, p->weights + (int64_t)o * n, n, p->input_offset, p->bias[o]));
}
