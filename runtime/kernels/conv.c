#include "conv.h"

#include "dot.h"
#include "fixed_point.h"

static inline int8_t conv_output(const mp_conv_params *p, int32_t acc, int32_t oc) {
  return mp_clamp8(mp_requantize(acc, p->multiplier[oc], p->shift[oc]) + p->output_zero_point, p->act_min, p->act_max);
}

int32_t mp_conv_scratch_bytes(const mp_conv_params *p) {
  /* two im2col columns of int16, rounded up to a group of four (at most 12 bytes more for the
   * pair), aligned to 4 bytes inside: see fill_column */
  return 2 * 2 * p->win.kernel_h * p->win.kernel_w * p->win.in.c + 12 + 3;
}

#ifdef MP_DSP
/* Both DSP paths read the weights of a kernel row, (kernel_w * in_c) contiguous bytes of the
 * OHWI layout, in groups of four from the row's start: SXTB16 of a group gives the halfword
 * pairs (w0, w2) and, rotated, (w1, w3). The scratch-free path takes the row's last
 * (kernel_w * in_c) % 4 weights one by one; the im2col path reads them as the row's last
 * four weights against a column group that holds zeros where those overlap (fill_column). */

/* Without scratch: four output channels at a time share each group of four inputs, which is
 * sign-extended and offset once (the pairs (x0, x2) and (x1, x3)) and multiplied with the
 * four channels' weight pairs by SMLAD. */
static void pixel_channels4(const mp_conv_params *p, const int8_t *input, int32_t ih0, int32_t iw0, int32_t ky_lo,
                            int32_t ky_hi, int32_t kx_lo, int32_t kx_hi, int32_t oc, int32_t acc[4]) {
  const mp_window *k = &p->win;
  const int32_t in_c = k->in.c, n = (kx_hi - kx_lo) * in_c, filter = k->kernel_h * k->kernel_w * in_c;
  int32_t ky;
  for (ky = ky_lo; ky < ky_hi; ++ky) {
    const int8_t *x = input + ((int64_t)(ih0 + ky * k->dilation_h) * k->in.w + iw0 + kx_lo) * in_c;
    const int8_t *w0 = p->weights + (int64_t)oc * filter + ((int64_t)ky * k->kernel_w + kx_lo) * in_c;
    mp_dot4(x, w0, w0 + filter, w0 + 2 * filter, w0 + 3 * filter, n, p->input_offset, acc);
  }
}

/* With scratch: the im2col columns of two output pixels, interleaved. The filter's
 * K = kernel_h * kernel_w * in_c inputs (OHWI order, offset to int16) go in groups of four;
 * a group takes 16 bytes: pixel 0's pairs (x0, x2), (x1, x3), then pixel 1's. When K is not
 * a multiple of 4, one more group holds positions K-4 .. K-1 with zeros where they belong to
 * the previous group: the kernel reads it with the filter's last four weights (in bounds), so
 * any channel count stays on the SMLAD loop. A filter of K < 4 is stored as it is, 4 bytes per
 * input (pixel 0's, then 1's). Taps outside the input hold 0 (the real value of padding). */

static void fill_column(const mp_conv_params *p, const int8_t *input, int32_t ih0, int32_t iw0, int8_t *col,
                        int32_t pixel) {
  const mp_window *k = &p->win;
  const int32_t in_c = k->in.c, n = k->kernel_w * in_c, K = k->kernel_h * n;
  const uint32_t off = ((uint32_t)(uint16_t)p->input_offset << 16) | (uint16_t)p->input_offset;
  int32_t ky, kx, i, kx_lo, kx_hi, ky_lo, ky_hi;
  int8_t *g = col + 8 * pixel;
  if ((n & 3) == 0 && iw0 >= 0 && iw0 + k->kernel_w <= k->in.w && ih0 >= 0 &&
      ih0 + (k->kernel_h - 1) * k->dilation_h < k->in.h) {
    /* a window inside the input with whole groups per kernel row (the common case): each row
     * is n contiguous inputs, converted eight at a time (16-byte groups of the pair's layout) */
    const int8_t *x = input + ((int64_t)ih0 * k->in.w + iw0) * in_c;
    const int32_t rows = k->dilation_h * k->in.w * in_c;
    uint32_t *gw = (uint32_t *)(void *)g; /* 4-byte aligned: see conv_im2col */
    for (ky = 0; ky < k->kernel_h; ++ky, x += rows) {
      const int8_t *xi = x, *end8 = x + (n & ~7);
      for (; xi != end8; xi += 8, gw += 8) {
        const uint32_t a = mp_load4(xi), b = mp_load4(xi + 4);
        gw[0] = mp_sadd16(mp_sxtb16(a), off), gw[1] = mp_sadd16(mp_sxtb16_ror8(a), off);
        gw[4] = mp_sadd16(mp_sxtb16(b), off), gw[5] = mp_sadd16(mp_sxtb16_ror8(b), off);
      }
      if (n & 4) {
        const uint32_t a = mp_load4(xi);
        gw[0] = mp_sadd16(mp_sxtb16(a), off), gw[1] = mp_sadd16(mp_sxtb16_ror8(a), off);
        gw += 4;
      }
    }
    return;
  }
  if ((in_c & 3) == 0) {
    /* a border window, whole groups per tap: each tap's in_c inputs converted, or zeros */
    uint32_t *gw = (uint32_t *)(void *)g;
    for (ky = 0; ky < k->kernel_h; ++ky) {
      const int32_t ih = ih0 + ky * k->dilation_h;
      for (kx = 0; kx < k->kernel_w; ++kx) {
        const int32_t iw = iw0 + kx;
        uint32_t *end = gw + in_c;
        if (ih >= 0 && ih < k->in.h && iw >= 0 && iw < k->in.w) {
          const int8_t *xi = input + ((int64_t)ih * k->in.w + iw) * in_c;
          for (; gw != end; gw += 4, xi += 4) {
            const uint32_t a = mp_load4(xi);
            gw[0] = mp_sadd16(mp_sxtb16(a), off), gw[1] = mp_sadd16(mp_sxtb16_ror8(a), off);
          }
        } else {
          for (; gw != end; gw += 4) gw[0] = gw[1] = 0;
        }
      }
    }
    return;
  }
  mp_tap_range(iw0, 1, k->kernel_w, k->in.w, &kx_lo, &kx_hi);
  mp_tap_range(ih0, k->dilation_h, k->kernel_h, k->in.h, &ky_lo, &ky_hi);
  if (K < 4) { /* inputs one by one, in order */
    for (i = 0; i < K; ++i) mp_put16(col, 2 * i + pixel, 0);
    for (ky = ky_lo; ky < ky_hi; ++ky)
      for (kx = kx_lo; kx < kx_hi; ++kx) {
        const int8_t *x = input + ((int64_t)(ih0 + ky * k->dilation_h) * k->in.w + iw0 + kx) * in_c;
        for (i = 0; i < in_c; ++i) mp_put16(col, 2 * (ky * n + kx * in_c + i) + pixel, x[i] + p->input_offset);
      }
    return;
  }
  {
    /* Any other window: the filter positions in order, row by row, as runs of inputs and of
     * the input's zero point (taps outside: zero once the offset is added), through a staging
     * word: whole groups straight from the input, a group straddling two runs byte by byte.
     * The K % 4 last positions go to the extra group, after zeros in the lanes of the
     * previous group. */
    const uint8_t zp_in = (uint8_t)(int8_t)(-p->input_offset);
    const uint32_t pad4 = 0x01010101u * zp_in;
    uint32_t *gw = (uint32_t *)(void *)g; /* 4-byte aligned: see conv_im2col */
    uint32_t staged = 0;
    int32_t have = 0;
#define MP_FILL_EMIT(V)                                                         \
  do {                                                                          \
    const uint32_t v_ = (V);                                                    \
    gw[0] = mp_sadd16(mp_sxtb16(v_), off), gw[1] = mp_sadd16(mp_sxtb16_ror8(v_), off); \
    gw += 4;                                                                    \
  } while (0)
#define MP_FILL_STAGE(B)                                                        \
  do {                                                                          \
    staged |= (uint32_t)(uint8_t)(B) << (8 * have);                             \
    if (++have == 4) {                                                          \
      MP_FILL_EMIT(staged);                                                     \
      staged = 0, have = 0;                                                     \
    }                                                                           \
  } while (0)
    for (ky = 0; ky < k->kernel_h; ++ky) {
      const int row_in = ky >= ky_lo && ky < ky_hi;
      const int32_t lo = row_in ? kx_lo * in_c : n, hi = row_in ? kx_hi * in_c : n;
      const int8_t *x = input + ((int64_t)(ih0 + ky * k->dilation_h) * k->in.w + iw0) * in_c;
      int32_t j = 0;
      for (; j < lo; ++j) MP_FILL_STAGE(zp_in); /* taps left of the input (or a row outside) */
      for (; j < hi && have != 0; ++j) MP_FILL_STAGE(x[j]);
      for (; j + 4 <= hi; j += 4) MP_FILL_EMIT(mp_load4(x + j));
      for (; j < hi; ++j) MP_FILL_STAGE(x[j]);
      for (; j < n && have != 0; ++j) MP_FILL_STAGE(zp_in); /* taps right of the input */
      for (; j + 4 <= n; j += 4) MP_FILL_EMIT(pad4);
      for (; j < n; ++j) MP_FILL_STAGE(zp_in);
    }
    if (have != 0) /* the extra group: zeros (as the zero point) in the previous group's lanes */
      MP_FILL_EMIT((staged << (8 * (4 - have))) | (pad4 >> (8 * have)));
#undef MP_FILL_STAGE
#undef MP_FILL_EMIT
  }
}

/* Two output pixels (the interleaved columns, c 4-byte aligned) by two output channels
 * (weight rows w0, w1) over `groups` groups of four: four accumulators, eight SMLAD per group.
 * On the core one loop of two groups, 17 instructions per 16 MACs; elsewhere the same sums in C. */
static inline void groups2x2(const int8_t *c, const int8_t *w0, const int8_t *w1, int32_t groups, int32_t acc[4]) {
  int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
#if defined(MP_EMULATE_DSP)
  for (; groups > 0; --groups, c += 16, w0 += 4, w1 += 4) {
    const uint32_t wa = mp_load4(w0), wb = mp_load4(w1);
    const uint32_t wae = mp_sxtb16(wa), wao = mp_sxtb16_ror8(wa), wbe = mp_sxtb16(wb), wbo = mp_sxtb16_ror8(wb);
    const uint32_t xa = mp_load4(c), xb = mp_load4(c + 4), xc = mp_load4(c + 8), xd = mp_load4(c + 12);
    a00 = mp_smlad(xb, wao, mp_smlad(xa, wae, a00));
    a01 = mp_smlad(xb, wbo, mp_smlad(xa, wbe, a01));
    a10 = mp_smlad(xd, wao, mp_smlad(xc, wae, a10));
    a11 = mp_smlad(xd, wbo, mp_smlad(xc, wbe, a11));
  }
#else
  uint32_t xa, xb, xc, xd, we, wv;
  int32_t pairs = groups >> 1;
#define MP_CONV_ASM_GROUP                        \
  "ldrd %[xc], %[xd], [%[c], #8]\n\t"          \
  "ldrd %[xa], %[xb], [%[c]], #16\n\t"         \
  "ldr %[wv], [%[w0]], #4\n\t"                 \
  "sxtb16 %[we], %[wv]\n\t"                    \
  "sxtb16 %[wv], %[wv], ror #8\n\t"            \
  "smlad %[a00], %[xa], %[we], %[a00]\n\t"     \
  "smlad %[a00], %[xb], %[wv], %[a00]\n\t"     \
  "smlad %[a10], %[xc], %[we], %[a10]\n\t"     \
  "smlad %[a10], %[xd], %[wv], %[a10]\n\t"     \
  "ldr %[wv], [%[w1]], #4\n\t"                 \
  "sxtb16 %[we], %[wv]\n\t"                    \
  "sxtb16 %[wv], %[wv], ror #8\n\t"            \
  "smlad %[a01], %[xa], %[we], %[a01]\n\t"     \
  "smlad %[a01], %[xb], %[wv], %[a01]\n\t"     \
  "smlad %[a11], %[xc], %[we], %[a11]\n\t"     \
  "smlad %[a11], %[xd], %[wv], %[a11]\n\t"
#define MP_CONV_ASM_OPERANDS                                                                                \
  : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [c] "+r"(c), [w0] "+r"(w0),       \
    [w1] "+r"(w1), [n] "+r"(pairs), [xa] "=&r"(xa), [xb] "=&r"(xb), [xc] "=&r"(xc), [xd] "=&r"(xd),          \
    [we] "=&r"(we), [wv] "=&r"(wv)                                                                          \
  :                                                                                                         \
  : "cc", "memory"
  /* an odd group first, then pairs of groups per loop turn (17 instructions per 16 MACs) */
  if (groups & 1) __asm__ volatile(MP_CONV_ASM_GROUP MP_CONV_ASM_OPERANDS);
  if (pairs > 0)
    __asm__ volatile("1:\n\t" MP_CONV_ASM_GROUP MP_CONV_ASM_GROUP
                     "subs %[n], %[n], #1\n\t"
                     "bne 1b\n\t" MP_CONV_ASM_OPERANDS);
#undef MP_CONV_ASM_OPERANDS
#undef MP_CONV_ASM_GROUP
#endif
  acc[0] = a00, acc[1] = a01, acc[2] = a10, acc[3] = a11;
}

/* The whole filter of two channels on the interleaved pair: its full groups, then the extra
 * group with the filter's last four weights. */
static inline void block2x2(const int8_t *c, const int8_t *w0, const int8_t *w1, int32_t K, int32_t acc[4]) {
  const int32_t full = K & ~3;
  int32_t i;
  if (K < 4) {
    for (i = 0; i < K; ++i, c += 4) {
      const int32_t x0 = mp_get16(c, 0), x1 = mp_get16(c, 1);
      acc[0] += x0 * w0[i], acc[1] += x0 * w1[i];
      acc[2] += x1 * w0[i], acc[3] += x1 * w1[i];
    }
    return;
  }
  groups2x2(c, w0, w1, full / 4, acc);
  if (full < K) groups2x2(c + 4 * full, w0 + K - 4, w1 + K - 4, 1, acc);
}

/* One pixel's column (pixel 0 or 1 of the interleaved pair) by one filter. */
static inline int32_t column_dot(const int8_t *c, int32_t pixel, const int8_t *w, int32_t K, int32_t acc) {
  const int32_t groups = (K + 3) / 4;
  int32_t i;
  if (K < 4) {
    for (i = 0; i < K; ++i) acc += mp_get16(c, 2 * i + pixel) * w[i];
    return acc;
  }
  for (i = 0; i < groups; ++i, c += 16) {
    const uint32_t wv = mp_load4(w + (i + 1 < groups ? 4 * i : K - 4));
    uint32_t xe, xo;
    memcpy(&xe, c + 8 * pixel, 4);
    memcpy(&xo, c + 8 * pixel + 4, 4);
    acc = mp_smlad(xe, mp_sxtb16(wv), acc);
    acc = mp_smlad(xo, mp_sxtb16_ror8(wv), acc);
  }
  return acc;
}

/* The requantisation of one op's outputs, its fields in locals. */
typedef struct {
  const int32_t *multiplier, *shift;
  int32_t zero_point, lo, hi, lean; /* lean: every channel suits mp_requantize_lean */
} requant;

#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline int8_t requant_at(const requant *r, int32_t acc, int32_t oc) {
  const int32_t v = r->lean ? mp_requantize_lean(acc, r->multiplier[oc], r->shift[oc])
                            : mp_requantize(acc, r->multiplier[oc], r->shift[oc]);
  return mp_clamp8(v + r->zero_point, r->lo, r->hi);
}

static inline uint32_t pack4(int32_t b0, int32_t b1, int32_t b2, int32_t b3) {
  return (uint32_t)(uint8_t)b0 | (uint32_t)(uint8_t)b1 << 8 | (uint32_t)(uint8_t)b2 << 16 | (uint32_t)(uint8_t)b3 << 24;
}
/* Two bytes at any address (one unaligned STRH on the core). */
static inline void put2(int8_t *y, uint32_t v) {
  const uint16_t h = (uint16_t)v;
  memcpy(y, &h, 2);
}

/* Every output channel of a pixel pair (pixel 1 when `two`), two channels at a time. lean:
 * 0 any requantisation, 1 every channel suits mp_requantize_lean, 2 also with its shift >= -23
 * (the zero point folds in). Kept out of line: its few live values then stay in registers. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void pair_channels(const mp_conv_params *p, const int8_t *col, int8_t *y0, int8_t *y1, int32_t two,
                          int32_t lean) {
  const mp_window *k = &p->win;
  const int32_t out_c = k->out.c, kernel_h = k->kernel_h, row = k->kernel_w * k->in.c, filter = kernel_h * row;
  const int32_t *bias = p->bias;
  const int8_t *w0 = p->weights;
  const uint32_t zp21 = 2u * (uint32_t)p->output_zero_point + 1u;
  const uint32_t lo4 = 0x01010101u * (uint8_t)(int8_t)p->act_min, hi4 = 0x01010101u * (uint8_t)(int8_t)p->act_max;
  requant r;
  int32_t oc;
  r.multiplier = p->multiplier, r.shift = p->shift, r.zero_point = p->output_zero_point, r.lo = p->act_min,
  r.hi = p->act_max, r.lean = lean != 0;
  for (oc = 0; oc < out_c && two && out_c >= 2; oc += 2, w0 += 2 * filter) {
    int32_t acc[4];
    if (oc + 2 > out_c) /* an odd count: the last pair overlaps the previous one (same values again) */
      oc = out_c - 2, w0 -= filter;
    acc[0] = acc[2] = bias[oc];
    acc[1] = acc[3] = bias[oc + 1];
    block2x2(col, w0, w0 + filter, filter, acc);
    if (lean == 2) {
      /* the zero point folded into the rounding term ((H >> e) + zp = (H + zp 2^e) >> e, with
       * e <= 22 inside int32: see depthwise_conv.c), the four outputs saturated, packed as
       * bytes (y0's two, y1's two), clamped together and stored as two halfwords */
      const int32_t m0 = r.multiplier[oc], m1 = r.multiplier[oc + 1];
      const int32_t e0 = -r.shift[oc] - 1, e1 = -r.shift[oc + 1] - 1;
      const int32_t r0 = (int32_t)(zp21 << (e0 - 1)), r1 = (int32_t)(zp21 << (e1 - 1));
      const uint32_t v = mp_clamp8x4(pack4(mp_ssat8(mp_requantize_lean_fast(acc[0], m0, r0, e0)),
                                           mp_ssat8(mp_requantize_lean_fast(acc[1], m1, r1, e1)),
                                           mp_ssat8(mp_requantize_lean_fast(acc[2], m0, r0, e0)),
                                           mp_ssat8(mp_requantize_lean_fast(acc[3], m1, r1, e1))),
                                     lo4, hi4);
      put2(y0 + oc, v);
      put2(y1 + oc, v >> 16);
    } else if (lean) { /* each channel's multiplier, shift and rounding once for both pixels */
      int32_t j;
      for (j = 0; j < 2; ++j) {
        const int32_t m = r.multiplier[oc + j], e1 = -r.shift[oc + j] - 1, round = 1 << (e1 - 1);
        y0[oc + j] = mp_clamp8(mp_requantize_lean_fast(acc[j], m, round, e1) + r.zero_point, r.lo, r.hi);
        y1[oc + j] = mp_clamp8(mp_requantize_lean_fast(acc[2 + j], m, round, e1) + r.zero_point, r.lo, r.hi);
      }
    } else {
      y0[oc] = requant_at(&r, acc[0], oc);
      y0[oc + 1] = requant_at(&r, acc[1], oc + 1);
      y1[oc] = requant_at(&r, acc[2], oc);
      y1[oc + 1] = requant_at(&r, acc[3], oc + 1);
    }
  }
  for (; oc < out_c; ++oc, w0 += filter) {
    y0[oc] = requant_at(&r, column_dot(col, 0, w0, filter, bias[oc]), oc);
    if (two) y1[oc] = requant_at(&r, column_dot(col, 1, w0, filter, bias[oc]), oc);
  }
}

static void conv_im2col(const mp_conv_params *p, const int8_t *input, int8_t *output, int8_t *scratch) {
  const mp_window *k = &p->win;
  const int32_t out_c = k->out.c, pixels = k->out.h * k->out.w;
  int32_t px, lean = 1, fold, oc;
  for (oc = 0; oc < out_c; ++oc) lean = lean && mp_requantize_lean_ok(p->multiplier[oc], p->shift[oc]);
  fold = lean;
  for (oc = 0; oc < out_c; ++oc) fold = fold && p->shift[oc] >= -23;
  if (fold) lean = 2;
  scratch += (4 - (int32_t)((uintptr_t)scratch & 3)) & 3;
  for (px = 0; px < pixels; px += 2) {
    int32_t two;
    int8_t *y0;
    if (px + 2 > pixels && pixels >= 2) px = pixels - 2; /* an odd count: the last pair overlaps */
    two = px + 1 < pixels;
    y0 = output + (int64_t)px * out_c;
    fill_column(p, input, (px / k->out.w) * k->stride_h - k->pad_top, (px % k->out.w) * k->stride_w - k->pad_left,
                scratch, 0);
    if (two)
      fill_column(p, input, ((px + 1) / k->out.w) * k->stride_h - k->pad_top,
                  ((px + 1) % k->out.w) * k->stride_w - k->pad_left, scratch, 1);
    pair_channels(p, scratch, y0, y0 + out_c, two, lean);
  }
}
#endif

#ifndef MP_DSP
/* Without the DSP extension, with scratch: the im2col columns of two output pixels as int16
 * (offset added), one after the other, and a block of two pixels by two output channels
 * whose four accumulators share each column value and weight: four multiply-accumulates per
 * four loads. Taps outside the input hold 0. */
static void fill_column_portable(const mp_conv_params *p, const int8_t *input, int32_t ih0, int32_t iw0, int16_t *col) {
  const mp_window *k = &p->win;
  const int32_t in_c = k->in.c, n = k->kernel_w * in_c, K = k->kernel_h * n, off = p->input_offset;
  int32_t ky, i, kx_lo, kx_hi, ky_lo, ky_hi;
  mp_tap_range(iw0, 1, k->kernel_w, k->in.w, &kx_lo, &kx_hi);
  mp_tap_range(ih0, k->dilation_h, k->kernel_h, k->in.h, &ky_lo, &ky_hi);
  if (ky_lo > 0 || ky_hi < k->kernel_h || kx_lo > 0 || kx_hi < k->kernel_w)
    for (i = 0; i < K; ++i) col[i] = 0;
  for (ky = ky_lo; ky < ky_hi; ++ky) {
    const int8_t *x = input + ((int64_t)(ih0 + ky * k->dilation_h) * k->in.w + iw0 + kx_lo) * in_c;
    int16_t *c = col + ky * n + kx_lo * in_c;
    const int32_t count = (kx_hi - kx_lo) * in_c;
    for (i = 0; i < count; ++i) c[i] = (int16_t)(x[i] + off);
  }
}

/* Kept out of line: its eleven live values then stay in registers. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void block2x2_portable(const int16_t *c0, const int16_t *c1, const int8_t *w0, const int8_t *w1, int32_t K,
                              int32_t *p00, int32_t *p01, int32_t *p10, int32_t *p11) {
  int32_t a00 = *p00, a01 = *p01, a10 = *p10, a11 = *p11;
  const int16_t *end = c0 + K;
  for (; c0 != end; ++c0, ++c1, ++w0, ++w1) {
    const int32_t x0 = *c0, x1 = *c1, wa = *w0, wb = *w1;
    a00 += x0 * wa, a01 += x0 * wb, a10 += x1 * wa, a11 += x1 * wb;
  }
  *p00 = a00, *p01 = a01, *p10 = a10, *p11 = a11;
}

static void conv_im2col_portable(const mp_conv_params *p, const int8_t *input, int8_t *output, int16_t *scratch) {
  const mp_window *k = &p->win;
  const int32_t out_c = k->out.c, pixels = k->out.h * k->out.w, K = k->kernel_h * k->kernel_w * k->in.c;
  const int32_t zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
  int16_t *c0 = scratch, *c1 = scratch + K;
  int32_t px, oc, lean = 1;
  for (oc = 0; oc < out_c; ++oc) lean = lean && mp_requantize_lean_ok(p->multiplier[oc], p->shift[oc]);
  for (px = 0; px < pixels; px += 2) {
    int8_t *y0, *y1;
    if (px + 2 > pixels) px = pixels - 2; /* an odd count: the last pair overlaps */
    y0 = output + (int64_t)px * out_c, y1 = y0 + out_c;
    fill_column_portable(p, input, (px / k->out.w) * k->stride_h - k->pad_top,
                         (px % k->out.w) * k->stride_w - k->pad_left, c0);
    fill_column_portable(p, input, ((px + 1) / k->out.w) * k->stride_h - k->pad_top,
                         ((px + 1) % k->out.w) * k->stride_w - k->pad_left, c1);
    for (oc = 0; oc < out_c; oc += 2) {
      const int8_t *w0, *w1;
      int32_t a00, a01, a10, a11, j;
      if (oc + 2 > out_c) oc = out_c - 2; /* an odd count: the last pair overlaps */
      w0 = p->weights + (int64_t)oc * K, w1 = w0 + K;
      a00 = a10 = p->bias[oc], a01 = a11 = p->bias[oc + 1];
      block2x2_portable(c0, c1, w0, w1, K, &a00, &a01, &a10, &a11);
      for (j = 0; j < 2; ++j) {
        const int32_t a0 = j ? a01 : a00, a1 = j ? a11 : a10, m = p->multiplier[oc + j], sh = p->shift[oc + j];
        if (lean) {
          const int32_t round = mp_requantize_lean_round(sh), e1 = -sh - 1;
          y0[oc + j] = mp_clamp8(mp_requantize_lean_fast(a0, m, round, e1) + zp, lo, hi);
          y1[oc + j] = mp_clamp8(mp_requantize_lean_fast(a1, m, round, e1) + zp, lo, hi);
        } else {
          y0[oc + j] = mp_clamp8(mp_requantize(a0, m, sh) + zp, lo, hi);
          y1[oc + j] = mp_clamp8(mp_requantize(a1, m, sh) + zp, lo, hi);
        }
      }
    }
  }
}
#endif

void mp_conv(const mp_conv_params *p, const int8_t *input, int8_t *output, void *scratch) {
  const mp_window *k = &p->win;
  const int32_t in_c = k->in.c, out_c = k->out.c;
  const int64_t filter_size = (int64_t)k->kernel_h * k->kernel_w * in_c;
  int32_t oh, ow, oc, ky, kx, ky_lo, ky_hi, kx_lo, kx_hi;
#ifdef MP_DSP
  if (scratch && k->dilation_w == 1) {
    conv_im2col(p, input, output, (int8_t *)scratch);
    return;
  }
#else
  if (scratch && k->dilation_w == 1 && out_c >= 2 && k->out.h * k->out.w >= 2) {
    /* int16 columns: 2-byte aligned inside the scratch (it has 15 bytes to spare) */
    conv_im2col_portable(p, input, output, (int16_t *)(void *)((int8_t *)scratch + ((uintptr_t)scratch & 1)));
    return;
  }
#endif
  for (oh = 0; oh < k->out.h; ++oh) {
    const int32_t ih0 = oh * k->stride_h - k->pad_top;
    mp_tap_range(ih0, k->dilation_h, k->kernel_h, k->in.h, &ky_lo, &ky_hi);
    for (ow = 0; ow < k->out.w; ++ow) {
      const int32_t iw0 = ow * k->stride_w - k->pad_left;
      int8_t *y = output + ((int64_t)oh * k->out.w + ow) * out_c;
      mp_tap_range(iw0, k->dilation_w, k->kernel_w, k->in.w, &kx_lo, &kx_hi);
      oc = 0;
#ifdef MP_DSP
      if (k->dilation_w == 1 && kx_lo < kx_hi && out_c >= 4)
        for (; oc < out_c; oc += 4) {
          int32_t acc[4];
          if (oc + 4 > out_c) oc = out_c - 4; /* the last group overlaps the previous one */
          acc[0] = p->bias[oc], acc[1] = p->bias[oc + 1], acc[2] = p->bias[oc + 2], acc[3] = p->bias[oc + 3];
          pixel_channels4(p, input, ih0, iw0, ky_lo, ky_hi, kx_lo, kx_hi, oc, acc);
          y[oc] = conv_output(p, acc[0], oc);
          y[oc + 1] = conv_output(p, acc[1], oc + 1);
          y[oc + 2] = conv_output(p, acc[2], oc + 2);
          y[oc + 3] = conv_output(p, acc[3], oc + 3);
        }
#endif
      for (; oc < out_c; ++oc) {
        int32_t acc = p->bias[oc];
        const int8_t *wo = p->weights + (int64_t)oc * filter_size;
        for (ky = ky_lo; ky < ky_hi && kx_lo < kx_hi; ++ky) {
          /* pointers to the first tap inside the input (never before the tensor) */
          const int8_t *x =
              input + ((int64_t)(ih0 + ky * k->dilation_h) * k->in.w + iw0 + (int64_t)kx_lo * k->dilation_w) * in_c;
          const int8_t *w = wo + ((int64_t)ky * k->kernel_w + kx_lo) * in_c;
          if (k->dilation_w == 1) { /* the taps of a row are contiguous: one dot product */
            acc = mp_dot(x, w, (kx_hi - kx_lo) * in_c, p->input_offset, acc);
          } else {
            for (kx = 0; kx < kx_hi - kx_lo; ++kx)
              acc = mp_dot(x + (int64_t)kx * k->dilation_w * in_c, w + (int64_t)kx * in_c, in_c, p->input_offset, acc);
          }
        }
        y[oc] = conv_output(p, acc, oc);
      }
    }
  }
}
