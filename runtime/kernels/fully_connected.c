#include "fully_connected.h"

#include "dot.h"
#include "fixed_point.h"

static inline int8_t fc_output(const mp_fully_connected_params *p, int32_t acc) {
  return mp_clamp8(mp_requantize(acc, p->multiplier, p->shift) + p->output_zero_point, p->act_min, p->act_max);
}

void mp_fully_connected(const mp_fully_connected_params *p, const int8_t *input, int8_t *output) {
  const int32_t n = p->in_features;
  int32_t o = 0;
#ifdef MP_DSP
  /* Four output rows at a time share each group of four inputs, sign-extended and offset once
   * into the halfword pairs (x0, x2) and (x1, x3) that SXTB16 makes of the weights too. */
  const uint32_t off = ((uint32_t)(uint16_t)p->input_offset << 16) | (uint16_t)p->input_offset;
  for (; o + 4 <= p->out_features; o += 4) {
    const int8_t *w0 = p->weights + (int64_t)o * n, *w1 = w0 + n, *w2 = w1 + n, *w3 = w2 + n;
    int32_t a0 = p->bias[o], a1 = p->bias[o + 1], a2 = p->bias[o + 2], a3 = p->bias[o + 3], i;
    for (i = 0; i + 4 <= n; i += 4) {
      const uint32_t xv = mp_load4(input + i);
      const uint32_t xe = mp_sadd16(mp_sxtb16(xv), off), xo = mp_sadd16(mp_sxtb16_ror8(xv), off);
      uint32_t wv = mp_load4(w0 + i);
      a0 = mp_smlad(xe, mp_sxtb16(wv), a0);
      a0 = mp_smlad(xo, mp_sxtb16_ror8(wv), a0);
      wv = mp_load4(w1 + i);
      a1 = mp_smlad(xe, mp_sxtb16(wv), a1);
      a1 = mp_smlad(xo, mp_sxtb16_ror8(wv), a1);
      wv = mp_load4(w2 + i);
      a2 = mp_smlad(xe, mp_sxtb16(wv), a2);
      a2 = mp_smlad(xo, mp_sxtb16_ror8(wv), a2);
      wv = mp_load4(w3 + i);
      a3 = mp_smlad(xe, mp_sxtb16(wv), a3);
      a3 = mp_smlad(xo, mp_sxtb16_ror8(wv), a3);
    }
    for (; i < n; ++i) {
      const int32_t x = (int32_t)input[i] + p->input_offset;
      a0 += x * w0[i], a1 += x * w1[i], a2 += x * w2[i], a3 += x * w3[i];
    }
    output[o] = fc_output(p, a0);
    output[o + 1] = fc_output(p, a1);
    output[o + 2] = fc_output(p, a2);
    output[o + 3] = fc_output(p, a3);
  }
#endif
  for (; o < p->out_features; ++o)
    output[o] = fc_output(p, mp_dot(input, p->weights + (int64_t)o * n, n, p->input_offset, p->bias[o]));
}
