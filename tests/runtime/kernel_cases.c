/* Kernel cases: the runtime's conv, depthwise and dense kernels on fixed layer shapes (the
 * benchmark's) and on seeded random ones (odd channel counts, borders, strides, dilations),
 * with random quantisation parameters. Writes every output to kernel_outputs.bin and one
 * line per case to the console:
 *   CASE name kind macs scratch_bytes ticks_scratch ticks_plain outputs columns pixels edge_outputs
 * Built three ways: portable, DSP emulated on the host (MP_EMULATE_DSP) and for the
 * Cortex-M4 (MP_USE_DSP, run on QEMU with -icount, where ticks count instructions / 40).
 * With the DSP path each conv runs with and without its scratch and the two outputs must be
 * equal; the outputs of the builds must be equal file for file (the ctest compares them).
 * Also holds mp_requantize to mp_requantize_reference on edge and random values.
 * Exit status 0: all equal; 1: a mismatch (printed). */
#include <stdint.h>
#include <string.h>

#include "kernels/add.h"
#include "kernels/conv.h"
#include "kernels/depthwise_conv.h"
#include "kernels/fixed_point.h"
#include "kernels/fully_connected.h"
#include "kernels/pooling.h"
#include "platform.h"

#define MAX_IN (32 * 32 * 16)
#define MAX_OUT (32 * 32 * 64)
#define MAX_W (64 * 1024)
#define MAX_C 1024
#define MAX_SCRATCH 8192

static int8_t in_buf[MAX_IN], out_a[MAX_OUT], out_b[MAX_OUT], w_buf[MAX_W];
static int32_t bias[MAX_C], mult[MAX_C], shift[MAX_C];
static int8_t scratch[MAX_SCRATCH + 1];
static uint32_t rng = 12345u;
static long out_file;
static int failures;

static uint32_t next(void) {
  rng = rng * 1664525u + 1013904223u;
  return rng >> 8;
}
static int32_t uniform(int32_t lo, int32_t hi) { return lo + (int32_t)(next() % (uint32_t)(hi - lo + 1)); }

static void fill8(int8_t *p, int32_t n) {
  int32_t i;
  for (i = 0; i < n; ++i) p[i] = (int8_t)uniform(-128, 127);
}

/* Per-channel requantisation of a layer with `taps` products per output: multipliers in
 * [2^30, 2^31), shifts that bring the accumulator's spread near the int8 range. */
static void fill_quant(int32_t channels, int32_t taps) {
  int32_t c, bits = 0;
  while ((1 << bits) < taps) ++bits;
  for (c = 0; c < channels; ++c) {
    bias[c] = uniform(-4096, 4096);
    mult[c] = (int32_t)(0x40000000u + (next() & 0x3fffffffu));
    shift[c] = -(8 + bits / 2 + uniform(0, 3));
  }
}

static void put(const char *s) { plat_puts(s); }
static void put_i(int64_t v) {
  char b[24];
  int n = 0, neg = v < 0;
  uint64_t u = neg ? (uint64_t)(-v) : (uint64_t)v;
  do b[n++] = (char)('0' + u % 10), u /= 10; while (u);
  if (neg) put("-");
  while (n) {
    char c[2];
    c[0] = b[--n], c[1] = 0;
    put(c);
  }
}

/* Output pixels whose window reaches into the padding. */
static int64_t edge_pixels(const mp_window *k) {
  int32_t o, ih = 0, iw = 0;
  for (o = 0; o < k->out.h; ++o)
    ih += o * k->stride_h - k->pad_top >= 0 && o * k->stride_h - k->pad_top + (k->kernel_h - 1) * k->dilation_h < k->in.h;
  for (o = 0; o < k->out.w; ++o)
    iw += o * k->stride_w - k->pad_left >= 0 && o * k->stride_w - k->pad_left + (k->kernel_w - 1) * k->dilation_w < k->in.w;
  return (int64_t)k->out.h * k->out.w - (int64_t)ih * iw;
}

static void report(const char *name, const char *kind, int64_t macs, int32_t scratch_bytes, uint64_t t_scratch,
                   uint64_t t_plain, int64_t outputs, int64_t columns, int64_t pixels, int64_t edge_outputs) {
  put("CASE "), put(name), put(" "), put(kind), put(" "), put_i(macs), put(" "), put_i(scratch_bytes), put(" ");
  put_i((int64_t)t_scratch), put(" "), put_i((int64_t)t_plain), put(" "), put_i(outputs), put(" "), put_i(columns);
  put(" "), put_i(pixels), put(" "), put_i(edge_outputs), put("\n");
}

static void compare(const char *name, const int8_t *a, const int8_t *b, int32_t n) {
  int32_t i;
  for (i = 0; i < n; ++i)
    if (a[i] != b[i]) {
      put("MISMATCH "), put(name), put(" at "), put_i(i), put(": "), put_i(a[i]), put(" vs "), put_i(b[i]), put("\n");
      ++failures;
      return;
    }
}

static void set_window(mp_window *k, int32_t h, int32_t w, int32_t c, int32_t oc, int32_t kh, int32_t kw, int32_t s,
                       int32_t d, int same) {
  const int32_t ekh = (kh - 1) * d + 1, ekw = (kw - 1) * d + 1;
  k->in.h = h, k->in.w = w, k->in.c = c, k->out.c = oc;
  k->kernel_h = kh, k->kernel_w = kw, k->stride_h = k->stride_w = s, k->dilation_h = k->dilation_w = d;
  if (same) {
    const int32_t oh = (h + s - 1) / s, ow = (w + s - 1) / s;
    const int32_t ph = (oh - 1) * s + ekh - h, pw = (ow - 1) * s + ekw - w;
    k->out.h = oh, k->out.w = ow, k->pad_top = ph > 0 ? ph / 2 : 0, k->pad_left = pw > 0 ? pw / 2 : 0;
  } else {
    k->out.h = (h - ekh) / s + 1, k->out.w = (w - ekw) / s + 1, k->pad_top = k->pad_left = 0;
  }
}

static void set_offsets(int32_t *input_offset, int32_t *zero_point, int32_t *lo, int32_t *hi) {
  *input_offset = uniform(-127, 128);
  *zero_point = uniform(-128, 127);
  *lo = next() & 1 ? -128 : *zero_point;
  *hi = next() % 4 == 0 ? 100 : 127;
  if (*lo > *hi) *lo = -128;
}

static void conv_case(const char *name, int32_t h, int32_t w, int32_t c, int32_t oc, int32_t kh, int32_t kw, int32_t s,
                      int32_t d, int same) {
  mp_conv_params p;
  uint64_t t0, t1, t2;
  int32_t n, sb;
  int64_t macs;
  memset(&p, 0, sizeof p);
  set_window(&p.win, h, w, c, oc, kh, kw, s, d, same);
  set_offsets(&p.input_offset, &p.output_zero_point, &p.act_min, &p.act_max);
  fill8(in_buf, h * w * c);
  fill8(w_buf, oc * kh * kw * c);
  fill_quant(oc, kh * kw * c);
  p.weights = w_buf, p.bias = bias, p.multiplier = mult, p.shift = shift;
  n = p.win.out.h * p.win.out.w * oc;
  sb = mp_conv_scratch_bytes(&p);
  macs = (int64_t)p.win.out.h * p.win.out.w * oc * kh * kw * c;
  /* the scratch at an odd address: kernels may not assume alignment */
  t0 = plat_ticks();
  mp_conv(&p, in_buf, out_a, sb <= MAX_SCRATCH ? scratch + 1 : 0);
  t1 = plat_ticks();
  mp_conv(&p, in_buf, out_b, 0);
  t2 = plat_ticks();
  compare(name, out_a, out_b, n);
  plat_write(out_file, out_a, n);
  report(name, kh == 1 && kw == 1 ? "conv1x1" : "conv", macs, sb, t1 - t0, t2 - t1, n,
         (int64_t)p.win.out.h * p.win.out.w * kh * kw * c, (int64_t)p.win.out.h * p.win.out.w, edge_pixels(&p.win) * oc);
}

static void depthwise_case(const char *name, int32_t h, int32_t w, int32_t c, int32_t m, int32_t kh, int32_t kw,
                           int32_t s, int32_t d, int same) {
  mp_depthwise_conv_params p;
  uint64_t t0, t1, t2;
  int32_t n, sb;
  memset(&p, 0, sizeof p);
  set_window(&p.win, h, w, c, c * m, kh, kw, s, d, same);
  p.depth_multiplier = m;
  set_offsets(&p.input_offset, &p.output_zero_point, &p.act_min, &p.act_max);
  fill8(in_buf, h * w * c);
  fill8(w_buf, kh * kw * c * m);
  fill_quant(c * m, kh * kw);
  p.weights = w_buf, p.bias = bias, p.multiplier = mult, p.shift = shift;
  n = p.win.out.h * p.win.out.w * c * m;
  sb = mp_depthwise_conv_scratch_bytes(&p);
  t0 = plat_ticks();
  mp_depthwise_conv(&p, in_buf, out_a, sb > 0 && sb <= MAX_SCRATCH ? scratch + 1 : 0);
  t1 = plat_ticks();
  mp_depthwise_conv(&p, in_buf, out_b, 0);
  t2 = plat_ticks();
  compare(name, out_a, out_b, n);
  plat_write(out_file, out_a, n);
  report(name, "depthwise", (int64_t)n * kh * kw, sb, t1 - t0, t2 - t1, n, 0, (int64_t)p.win.out.h * p.win.out.w,
         edge_pixels(&p.win) * c * m);
}

static void dense_case(const char *name, int32_t in, int32_t out) {
  mp_fully_connected_params p;
  uint64_t t0, t1, t2;
  int32_t sb;
  memset(&p, 0, sizeof p);
  p.in_features = in, p.out_features = out;
  set_offsets(&p.input_offset, &p.output_zero_point, &p.act_min, &p.act_max);
  fill8(in_buf, in);
  fill8(w_buf, in * out);
  fill_quant(out, in);
  p.weights = w_buf, p.bias = bias, p.multiplier = mult[0], p.shift = shift[0];
  sb = mp_fully_connected_scratch_bytes(&p);
  t0 = plat_ticks();
  mp_fully_connected(&p, in_buf, out_a, sb <= MAX_SCRATCH ? scratch + 1 : 0);
  t1 = plat_ticks();
  mp_fully_connected(&p, in_buf, out_b, 0);
  t2 = plat_ticks();
  compare(name, out_a, out_b, out);
  plat_write(out_file, out_a, out);
  report(name, "dense", (int64_t)in * out, sb, t1 - t0, t2 - t1, out, in, 1, 0);
}

/* ADD of two int8 tensors of n values with TFLite's parameters (inputs rescaled to twice the
 * larger input scale after a left shift of 20): the two-input loop against the reference,
 * into a separate buffer and in place (the output is input a's buffer, as the planner may
 * place it). */
static void add_case(const char *name, int32_t n, int32_t output_shift) {
  mp_add_params p;
  const int8_t *in[2];
  uint64_t t0, t1, t2;
  int32_t j, larger = (int32_t)(next() & 1);
  memset(&p, 0, sizeof p);
  p.n_inputs = 2, p.size = n, p.left_shift = 20;
  for (j = 0; j < 2; ++j) {
    p.input_zero_point[j] = uniform(-128, 127);
    /* the larger input scale gives 0.5 (2^30, shift 0), the other less */
    p.input_multiplier[j] = j == larger ? 0x40000000 : (int32_t)(0x40000000u + (next() & 0x3fffffffu));
    p.input_shift[j] = j == larger ? 0 : -uniform(1, 3);
  }
  p.output_multiplier = (int32_t)(0x40000000u + (next() & 0x3fffffffu));
  p.output_shift = output_shift;
  set_offsets(&j, &p.output_zero_point, &p.act_min, &p.act_max); /* j: the input offset, unused */
  fill8(in_buf, 2 * n);
  in[0] = in_buf, in[1] = in_buf + n;
  t0 = plat_ticks();
  mp_add(&p, in, out_a);
  t1 = plat_ticks();
  mp_add_reference(&p, in, out_b);
  t2 = plat_ticks();
  compare(name, out_a, out_b, n);
  memcpy(w_buf, in_buf, (size_t)n); /* in place: the output over input a */
  in[0] = w_buf;
  mp_add(&p, in, w_buf);
  compare(name, w_buf, out_b, n);
  plat_write(out_file, out_a, n);
  report(name, "add", n, 0, t1 - t0, t2 - t1, n, 0, 0, 0);
}

/* The pools' reference: each output value over its taps one by one, bounds checked per tap
 * (the runtime's pooling before this round). */
static void pool_reference(const mp_window *k, const int8_t *input, int8_t *output, int is_max) {
  int32_t oh, ow, c, ky, kx;
  for (oh = 0; oh < k->out.h; ++oh)
    for (ow = 0; ow < k->out.w; ++ow)
      for (c = 0; c < k->in.c; ++c) {
        int32_t acc = is_max ? -128 : 0, count = 0;
        for (ky = 0; ky < k->kernel_h; ++ky) {
          const int32_t ih = oh * k->stride_h - k->pad_top + ky * k->dilation_h;
          if (ih < 0 || ih >= k->in.h) continue;
          for (kx = 0; kx < k->kernel_w; ++kx) {
            const int32_t iw = ow * k->stride_w - k->pad_left + kx * k->dilation_w;
            int32_t x;
            if (iw < 0 || iw >= k->in.w) continue;
            x = input[(ih * k->in.w + iw) * k->in.c + c];
            acc = is_max ? (x > acc ? x : acc) : acc + x;
            ++count;
          }
        }
        if (!is_max) acc = count ? mp_rounded_average(acc, count) : 0;
        output[(oh * k->out.w + ow) * k->in.c + c] = mp_clamp8(acc, -128, 127);
      }
}

static void pool_case(const char *name, int32_t h, int32_t w, int32_t c, int32_t kh, int32_t kw, int32_t s, int same,
                      int is_max) {
  mp_pool_params p;
  uint64_t t0, t1, t2;
  int32_t n;
  memset(&p, 0, sizeof p);
  set_window(&p.win, h, w, c, c, kh, kw, s, 1, same);
  fill8(in_buf, h * w * c);
  n = p.win.out.h * p.win.out.w * c;
  t0 = plat_ticks();
  if (is_max)
    mp_max_pool(&p, in_buf, out_a);
  else
    mp_avg_pool(&p, in_buf, out_a);
  t1 = plat_ticks();
  pool_reference(&p.win, in_buf, out_b, is_max);
  t2 = plat_ticks();
  compare(name, out_a, out_b, n);
  plat_write(out_file, out_a, n);
  report(name, is_max ? "maxpool" : "avgpool", (int64_t)n * kh * kw, 0, t1 - t0, t2 - t1, n, 0,
         (int64_t)p.win.out.h * p.win.out.w, 0);
}

static void requantize_cases(void) {
  static const int32_t edges[] = {0, 1, -1, 2, -2, 3, -3, 127, -128, 0x3fffffff, -0x40000000, 0x7fffffff,
                                  (int32_t)0x80000000u, 0x7ffffffe, (int32_t)0x80000001u, 0x40000000, 65535, -65536};
  const int32_t ne = (int32_t)(sizeof edges / sizeof edges[0]);
  int32_t i, j, s, bad = 0;
  for (s = -31; s <= 8 && !bad; ++s)
    for (i = 0; i < ne; ++i)
      for (j = 0; j < ne; ++j) {
        const int32_t m = edges[j] == (int32_t)0x80000000u ? 0x7fffffff : edges[j] < 0 ? -edges[j] : edges[j];
        if ((mp_requantize_lean_ok(m, s) && mp_requantize_lean(edges[i], m, s) != mp_requantize_reference(edges[i], m, s)) ||
            mp_requantize(edges[i], m, s) != mp_requantize_reference(edges[i], m, s) ||
            mp_requantize(edges[i], edges[j], s) != mp_requantize_reference(edges[i], edges[j], s))
          bad = 1;
      }
  for (i = 0; i < 200000 && !bad; ++i) {
    const int32_t x = (int32_t)(next() << 8 ^ next()) >> (next() % 24);
    const int32_t m = (int32_t)(next() << 8 ^ next()) & 0x7fffffff;
    s = -(int32_t)(next() % 32) + (i % 8 == 0 ? (int32_t)(next() % 4) : 0);
    if (mp_requantize(x, m, s) != mp_requantize_reference(x, m, s)) bad = 1;
    if (mp_requantize_lean_ok(m, s) && mp_requantize_lean(x, m, s) != mp_requantize_reference(x, m, s)) bad = 1;
  }
  if (bad) {
    put("MISMATCH mp_requantize against mp_requantize_reference\n");
    ++failures;
  }
}

int main(void) {
  int32_t k;
  char name[32];
  out_file = plat_open("kernel_outputs.bin", 1);
  if (out_file < 0) {
    put("cannot open kernel_outputs.bin\n");
    return 2;
  }
  requantize_cases();
  /* the benchmark's shapes (NHWC, stride 1, same padding) */
  conv_case("conv3x3_28x28x16_16", 28, 28, 16, 16, 3, 3, 1, 1, 1);
  conv_case("conv3x3_14x14x32_32", 14, 14, 32, 32, 3, 3, 1, 1, 1);
  conv_case("conv3x3_7x7x64_64", 7, 7, 64, 64, 3, 3, 1, 1, 1);
  conv_case("conv3x3_32x32x16_16", 32, 32, 16, 16, 3, 3, 1, 1, 1);
  conv_case("conv1x1_16x16x32_64", 16, 16, 32, 64, 1, 1, 1, 1, 1);
  depthwise_case("dw3x3_25x5x64", 25, 5, 64, 1, 3, 3, 1, 1, 1);
  dense_case("dense_1024_64", 1024, 64);
  /* odd channel counts, as pruning leaves them */
  conv_case("conv3x3_28x28x5_7", 28, 28, 5, 7, 3, 3, 1, 1, 1);
  conv_case("conv3x3_14x14x13_27", 14, 14, 13, 27, 3, 3, 1, 1, 1);
  conv_case("conv3x3_14x14x27_13", 14, 14, 27, 13, 3, 3, 1, 1, 1);
  conv_case("conv3x3_7x7x27_61", 7, 7, 27, 61, 3, 3, 1, 1, 1);
  conv_case("conv1x1_16x16x27_13", 16, 16, 27, 13, 1, 1, 1, 1, 1);
  conv_case("conv1x1_16x16x13_61", 16, 16, 13, 61, 1, 1, 1, 1, 1);
  depthwise_case("dw3x3_25x5x27", 25, 5, 27, 1, 3, 3, 1, 1, 1);
  depthwise_case("dw3x3_14x14x13", 14, 14, 13, 1, 3, 3, 1, 1, 1);
  depthwise_case("dw3x3_14x14x64", 14, 14, 64, 1, 3, 3, 1, 1, 1);
  depthwise_case("dw3x3_s2_14x14x27", 14, 14, 27, 1, 3, 3, 2, 1, 1);
  dense_case("dense_1000_13", 1000, 13);
  dense_case("dense_343_27", 343, 27);
  depthwise_case("dw3x3_valid_16x16x64", 16, 16, 64, 1, 3, 3, 1, 1, 0); /* every window inside */
  add_case("add_16x16x32", 16 * 16 * 32, -19);
  add_case("add_7x7x13", 7 * 7 * 13, -17);
  add_case("add_8x8x5_any", 8 * 8 * 5, -1); /* an output scale the fast loops do not take */
  for (k = 0; k < 8; ++k) add_case("add_random", uniform(1, 300), -uniform(2, 24));
  pool_case("maxpool2x2_28x28x16", 28, 28, 16, 2, 2, 2, 0, 1);
  pool_case("avgpool2x2_28x28x16", 28, 28, 16, 2, 2, 2, 0, 0);
  pool_case("maxpool3x3_s2_15x15x13", 15, 15, 13, 3, 3, 2, 1, 1);
  for (k = 0; k < 12; ++k) {
    const int32_t kh = uniform(1, 4), kw = uniform(1, 4);
    pool_case("pool_random", uniform(kh, 12), uniform(kw, 12), uniform(1, 19), kh, kw, uniform(1, 3), (int)(next() & 1),
              (int)(k & 1));
  }
  /* seeded random layers */
  for (k = 0; k < 60; ++k) {
    const int32_t kh = uniform(1, 4), kw = uniform(1, 4), s = uniform(1, 3), d = k % 5 == 0 ? 2 : 1;
    const int32_t h = uniform((kh - 1) * d + 1, 12), w = uniform((kw - 1) * d + 1, 12);
    memcpy(name, "random_00", 10);
    name[7] = (char)('0' + k / 10), name[8] = (char)('0' + k % 10);
    if (k % 3 == 0)
      depthwise_case(name, h, w, uniform(1, 19), uniform(1, 2), kh, kw, s, d, (int)(next() & 1));
    else if (k % 7 == 1)
      dense_case(name, uniform(1, 77), uniform(1, 13));
    else
      conv_case(name, h, w, uniform(1, 19), uniform(1, 13), kh, kw, s, d, (int)(next() & 1));
  }
  plat_close(out_file);
  put(failures ? "KERNEL CASES FAILED\n" : "KERNEL CASES OK\n");
  return failures ? 1 : 0;
}
