/* The inner product of the convolution and fully connected kernels:
 * sum over k < n of (x[k] + x_offset) * w[k]. Portable C, or with MP_USE_DSP on a core with
 * the DSP extension (or MP_EMULATE_DSP anywhere), four products per step as two SMLAD dual
 * 16-bit multiply-accumulates. Integer sums are exact, so both paths give the same result. */
#ifndef MP_DOT_H
#define MP_DOT_H

#include <stdint.h>
#include <string.h>

#if defined(MP_EMULATE_DSP)
#define MP_DSP 1
/* Portable models of the ACLE intrinsics (Arm ARM: SXTB16, SADD16, SMLAD). */
static inline uint32_t mp_sxtb16(uint32_t x) {
  const uint32_t lo = (uint32_t)(uint16_t)(int16_t)(int8_t)(x & 0xff);
  const uint32_t hi = (uint32_t)(uint16_t)(int16_t)(int8_t)((x >> 16) & 0xff);
  return lo | (hi << 16);
}
static inline uint32_t mp_sadd16(uint32_t a, uint32_t b) {
  const uint16_t lo = (uint16_t)((int16_t)(a & 0xffff) + (int16_t)(b & 0xffff));
  const uint16_t hi = (uint16_t)((int16_t)(a >> 16) + (int16_t)(b >> 16));
  return (uint32_t)lo | ((uint32_t)hi << 16);
}
static inline int32_t mp_smlad(uint32_t a, uint32_t b, int32_t acc) {
  return acc + (int32_t)(int16_t)(a & 0xffff) * (int16_t)(b & 0xffff) +
         (int32_t)(int16_t)(a >> 16) * (int16_t)(b >> 16);
}
static inline int32_t mp_smlabb(uint32_t a, uint32_t b, int32_t acc) {
  return acc + (int32_t)(int16_t)(a & 0xffff) * (int16_t)(b & 0xffff);
}
static inline int32_t mp_smlatt(uint32_t a, uint32_t b, int32_t acc) {
  return acc + (int32_t)(int16_t)(a >> 16) * (int16_t)(b >> 16);
}
static inline int32_t mp_ssat8(int32_t x) { return x < -128 ? -128 : x > 127 ? 127 : x; }
/* The signed maximum of each byte pair. */
static inline uint32_t mp_max8x4(uint32_t a, uint32_t b) {
  uint32_t r = 0;
  int i;
  for (i = 0; i < 32; i += 8) {
    const int32_t x = (int8_t)(a >> i), y = (int8_t)(b >> i);
    r |= (uint32_t)(uint8_t)(x >= y ? x : y) << i;
  }
  return r;
}
/* Each signed byte of v clamped to [lo, hi] (the bytes of lo4 and hi4). */
static inline uint32_t mp_clamp8x4(uint32_t v, uint32_t lo4, uint32_t hi4) {
  uint32_t r = 0;
  int i;
  for (i = 0; i < 32; i += 8) {
    const int32_t x = (int8_t)(v >> i), lo = (int8_t)(lo4 >> i), hi = (int8_t)(hi4 >> i);
    r |= (uint32_t)(uint8_t)(x < lo ? lo : x > hi ? hi : x) << i;
  }
  return r;
}
#elif defined(MP_USE_DSP) && defined(__ARM_FEATURE_DSP)
#define MP_DSP 1
#include <arm_acle.h>
static inline uint32_t mp_sxtb16(uint32_t x) { return __sxtb16(x); }
static inline uint32_t mp_sadd16(uint32_t a, uint32_t b) { return __sadd16(a, b); }
static inline int32_t mp_smlad(uint32_t a, uint32_t b, int32_t acc) { return __smlad(a, b, acc); }
static inline int32_t mp_smlabb(uint32_t a, uint32_t b, int32_t acc) { return __smlabb(a, b, acc); }
static inline int32_t mp_smlatt(uint32_t a, uint32_t b, int32_t acc) { return __smlatt(a, b, acc); }
static inline int32_t mp_ssat8(int32_t x) { return __ssat(x, 8); }
/* SSUB8 sets a byte's GE flag where its first operand is >= its second (signed), SEL takes
 * those bytes from its first operand: one asm block, so nothing comes between them. */
static inline uint32_t mp_max8x4(uint32_t a, uint32_t b) {
  uint32_t t;
  __asm__("ssub8 %[t], %[a], %[b]\n\t"
          "sel %[a], %[a], %[b]"
          : [a] "+r"(a), [t] "=&r"(t)
          : [b] "r"(b)
          : "cc");
  return a;
}
static inline uint32_t mp_clamp8x4(uint32_t v, uint32_t lo4, uint32_t hi4) {
  uint32_t t;
  __asm__("ssub8 %[t], %[v], %[lo]\n\t"
          "sel %[v], %[v], %[lo]\n\t"
          "ssub8 %[t], %[hi], %[v]\n\t"
          "sel %[v], %[v], %[hi]"
          : [v] "+r"(v), [t] "=&r"(t)
          : [lo] "r"(lo4), [hi] "r"(hi4)
          : "cc");
  return v;
}
#endif

#ifdef MP_DSP
/* Rotate right by 8. */
static inline uint32_t mp_ror8(uint32_t x) { return (x >> 8) | (x << 24); }
/* SXTB16 of x rotated right by 8 (bytes 1 and 3 as signed halfwords): one instruction with
 * SXTB16's rotation, which the compiler does not fold on its own. */
#if defined(MP_EMULATE_DSP)
static inline uint32_t mp_sxtb16_ror8(uint32_t x) { return mp_sxtb16(mp_ror8(x)); }
#else
static inline uint32_t mp_sxtb16_ror8(uint32_t x) {
  uint32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
  return r;
}
#endif
/* Halfword packing: the low halves of a and b, and the high halves of a and b, as (first,
 * second). PKHBT / PKHTB on the core (ACLE has no intrinsic for them), plain C elsewhere. */
#if defined(MP_EMULATE_DSP)
static inline uint32_t mp_pack_low(uint32_t a, uint32_t b) { return (a & 0xFFFFu) | (b << 16); }
static inline uint32_t mp_pack_high(uint32_t a, uint32_t b) { return (a >> 16) | (b & 0xFFFF0000u); }
#else
static inline uint32_t mp_pack_low(uint32_t a, uint32_t b) {
  uint32_t r;
  __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
static inline uint32_t mp_pack_high(uint32_t a, uint32_t b) {
  uint32_t r;
  __asm__("pkhtb %0, %2, %1, asr #16" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
#endif
static inline uint32_t mp_load4(const int8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
/* int16 element i of a buffer of any alignment (kernel scratch lies anywhere in the arena). */
static inline int32_t mp_get16(const int8_t *base, int32_t i) {
  int16_t v;
  memcpy(&v, base + 2 * i, 2);
  return v;
}
static inline void mp_put16(int8_t *base, int32_t i, int32_t v) {
  const int16_t s = (int16_t)v;
  memcpy(base + 2 * i, &s, 2);
}
#endif

#ifdef MP_DSP
/* Four weight rows against one input run of n values, added to acc[0..3]: each group of four
 * inputs is sign-extended and offset once into the halfword pairs (x0, x2), (x1, x3) that
 * SXTB16 also makes of the weights; the last n % 4 values one by one. The scratch-free conv
 * and dense kernels' inner loop. */
static inline void mp_dot4(const int8_t *x, const int8_t *w0, const int8_t *w1, const int8_t *w2, const int8_t *w3,
                           int32_t n, int32_t x_offset, int32_t acc[4]) {
  const uint32_t off = ((uint32_t)(uint16_t)x_offset << 16) | (uint16_t)x_offset;
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], i;
  for (i = 0; i + 4 <= n; i += 4) {
    const uint32_t xv = mp_load4(x + i);
    const uint32_t xe = mp_sadd16(mp_sxtb16(xv), off), xo = mp_sadd16(mp_sxtb16_ror8(xv), off);
    uint32_t wv = mp_load4(w0 + i);
    a0 = mp_smlad(xo, mp_sxtb16_ror8(wv), mp_smlad(xe, mp_sxtb16(wv), a0));
    wv = mp_load4(w1 + i);
    a1 = mp_smlad(xo, mp_sxtb16_ror8(wv), mp_smlad(xe, mp_sxtb16(wv), a1));
    wv = mp_load4(w2 + i);
    a2 = mp_smlad(xo, mp_sxtb16_ror8(wv), mp_smlad(xe, mp_sxtb16(wv), a2));
    wv = mp_load4(w3 + i);
    a3 = mp_smlad(xo, mp_sxtb16_ror8(wv), mp_smlad(xe, mp_sxtb16(wv), a3));
  }
  for (; i < n; ++i) {
    const int32_t xv = (int32_t)x[i] + x_offset;
    a0 += xv * w0[i], a1 += xv * w1[i], a2 += xv * w2[i], a3 += xv * w3[i];
  }
  acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}
#endif

static inline int32_t mp_dot(const int8_t *x, const int8_t *w, int32_t n, int32_t x_offset, int32_t acc) {
  int32_t k = 0;
#ifdef MP_DSP
  const uint32_t off = ((uint32_t)(uint16_t)x_offset << 16) | (uint16_t)x_offset;
  for (; k + 4 <= n; k += 4) {
    uint32_t xv, wv;
    memcpy(&xv, x + k, 4);
    memcpy(&wv, w + k, 4);
    /* bytes 0 and 2, then bytes 1 and 3, as signed halfwords */
    acc = mp_smlad(mp_sadd16(mp_sxtb16(xv), off), mp_sxtb16(wv), acc);
    acc = mp_smlad(mp_sadd16(mp_sxtb16_ror8(xv), off), mp_sxtb16_ror8(wv), acc);
  }
#endif
  for (; k < n; ++k) acc += ((int32_t)x[k] + x_offset) * (int32_t)w[k];
  return acc;
}

#endif
