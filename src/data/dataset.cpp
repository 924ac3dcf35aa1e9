// Operations on in-memory datasets: subsets, the seeded train/validation split,
// normalisation statistics and per-sample augmentation. Random numbers are derived from
// raw mt19937_64 output (whose sequence the standard fixes) so results match everywhere.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "data/dataset.h"
#include "graph/graph.h"

namespace mcuprune {

namespace {

// Uniform integer in [0, bound), unbiased by rejection. std::uniform_int_distribution
// would do, but its algorithm is implementation-defined, and splits must be
// reproducible across standard libraries.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound) {
  // Values below `threshold` would make the low residues slightly more likely.
  const uint64_t threshold = (0 - bound) % bound;  // == 2^64 mod bound
  for (;;) {
    const uint64_t r = rng();
    if (r >= threshold) return r % bound;
  }
}

// "fashion-mnist/train" -> "fashion-mnist", so the split's parts get sibling names.
std::string base_name(const std::string& name) {
  const std::string suffix = "/train";
  if (name.size() >= suffix.size() &&
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
    return name.substr(0, name.size() - suffix.size());
  return name;
}

}  // namespace

Dataset Dataset::subset(const std::vector<size_t>& indices, const std::string& new_name) const {
  Dataset out;
  out.name = new_name;
  out.height = height;
  out.width = width;
  out.channels = channels;
  out.num_classes = num_classes;
  out.class_names = class_names;
  out.float_samples = float_samples;
  out.audio = audio;
  out.front_end = front_end;
  out.noise = noise;
  const size_t cs = size_t(front_end.clip_samples);
  if (!clips.empty()) out.clips.resize(indices.size() * cs);
  const size_t sb = sample_bytes();
  if (float_samples)
    out.features.resize(indices.size() * sb);
  else
    out.images.resize(indices.size() * sb);
  out.labels.resize(indices.size());
  if (!sources.empty()) out.sources.resize(indices.size());
  for (size_t k = 0; k < indices.size(); ++k) {
    const size_t i = indices[k];
    if (i >= size())
      throw UserError("dataset '" + name + "': subset index " + std::to_string(i) +
                      " is out of range (the dataset has " + std::to_string(size()) +
                      " samples)");
    if (sb && float_samples)
      std::memcpy(out.features.data() + k * sb, sample_features(i), sb * sizeof(float));
    else if (sb)
      std::memcpy(out.images.data() + k * sb, sample(i), sb);
    out.labels[k] = labels[i];
    if (!sources.empty()) out.sources[k] = sources[i];
    if (!clips.empty()) std::memcpy(out.clips.data() + k * cs, clip(i), cs * sizeof(int16_t));
  }
  return out;
}

void Dataset::truncate(size_t n) {
  if (n >= size()) return;
  if (float_samples)
    features.resize(n * sample_values());
  else
    images.resize(n * sample_values());
  labels.resize(n);
  if (!sources.empty()) sources.resize(n);
  if (!clips.empty()) clips.resize(n * size_t(front_end.clip_samples));
}

DatasetSplits split_validation(const Dataset& train, double fraction, uint64_t seed) {
  if (!(fraction >= 0.0 && fraction < 1.0))
    throw UserError("validation fraction must be in [0, 1), got " + std::to_string(fraction) +
                    " (e.g. 0.1 keeps 10% of the training set for validation)");
  const size_t n = train.size();
  const size_t n_val = size_t(std::llround(fraction * double(n)));

  std::vector<size_t> perm(n);
  for (size_t i = 0; i < n; ++i) perm[i] = i;
  // Fisher-Yates, written out because std::shuffle's use of the engine is unspecified.
  std::mt19937_64 rng(seed);
  for (size_t i = n; i > 1; --i) std::swap(perm[i - 1], perm[uniform_below(rng, i)]);

  const std::string base = base_name(train.name);
  const std::string prefix = base.empty() ? "" : base + "/";
  // The training part stays in shuffled order so that a later limit takes a random
  // subset rather than the file's first (possibly class-sorted) samples.
  DatasetSplits s;
  s.val = train.subset(std::vector<size_t>(perm.begin(), perm.begin() + n_val), prefix + "val");
  s.train =
      train.subset(std::vector<size_t>(perm.begin() + n_val, perm.end()), prefix + "train");
  return s;
}

std::vector<float> normalised_sample(const Dataset& d, size_t i, const InputNormalization& n) {
  std::vector<float> x(d.sample_values());
  for (size_t k = 0; k < x.size(); ++k) {
    const size_t c = k % size_t(d.channels);
    const float v = d.value(i, k);
    x[k] = n.empty() ? v : (v - n.mean[c]) / n.stddev[c];
  }
  return x;
}

Normalization compute_normalization(const Dataset& d) {
  if (d.size() == 0 || d.channels <= 0 || d.sample_bytes() == 0)
    throw UserError("cannot compute normalisation statistics of dataset '" + d.name +
                    "': it has no pixels (" + std::to_string(d.size()) + " samples)");
  const size_t c = size_t(d.channels);
  if (d.float_samples) {
    // Float samples: sums in double, in one fixed order.
    std::vector<double> sum(c, 0.0), sum_sq(c, 0.0);
    const size_t total = d.features.size();
    for (size_t i = 0; i < total; ++i) {
      const double v = d.features[i];
      sum[i % c] += v;
      sum_sq[i % c] += v * v;
    }
    const double count = double(total / c);
    Normalization out;
    for (size_t k = 0; k < c; ++k) {
      const double mean = sum[k] / count;
      out.mean.push_back(float(mean));
      out.stddev.push_back(float(std::sqrt(std::max(0.0, sum_sq[k] / count - mean * mean))));
    }
    return out;
  }
  // Integer sums are exact (60000 x 784 x 255^2 is far below 2^64), so the result does
  // not depend on summation order.
  std::vector<uint64_t> sum(c, 0), sum_sq(c, 0);
  const size_t total = d.images.size();
  for (size_t i = 0; i < total; ++i) {
    const uint64_t v = d.images[i];
    sum[i % c] += v;
    sum_sq[i % c] += v * v;
  }
  const double count = double(total / c);
  Normalization out;
  for (size_t k = 0; k < c; ++k) {
    const double mean = double(sum[k]) / count / 255.0;
    const double mean_sq = double(sum_sq[k]) / count / (255.0 * 255.0);
    out.mean.push_back(float(mean));
    // Population std; may be exactly 0 for a constant channel, callers guard division.
    out.stddev.push_back(float(std::sqrt(std::max(0.0, mean_sq - mean * mean))));
  }
  return out;
}

void augment_sample(const uint8_t* src, uint8_t* dst, int height, int width, int channels,
                    const Augmentation& aug, std::mt19937_64& rng) {
  const size_t bytes = size_t(height) * width * channels;
  // Work from a copy when augmenting in place, since the crop reads shifted pixels.
  std::vector<uint8_t> copy;
  if (src < dst + bytes && dst < src + bytes) {
    copy.assign(src, src + bytes);
    src = copy.data();
  }
  const int pad = std::max(aug.crop_padding, 0);
  // Draw order is part of the contract (crop row, crop column, then flip) so that a
  // given seed always produces the same sample.
  int dy = 0, dx = 0;
  if (pad > 0) {
    dy = int(uniform_below(rng, uint64_t(2 * pad + 1))) - pad;
    dx = int(uniform_below(rng, uint64_t(2 * pad + 1))) - pad;
  }
  const bool flip = aug.horizontal_flip && uniform_below(rng, 2) == 1;

  // dst(y, x) = padded source at (y + dy, x' + dx) with x' the (possibly mirrored) column;
  // pixels that fall into the zero padding stay 0.
  const size_t row = size_t(width) * channels;
  for (int y = 0; y < height; ++y) {
    uint8_t* out = dst + size_t(y) * row;
    const int sy = y + dy;
    if (sy < 0 || sy >= height) {
      std::memset(out, 0, row);
      continue;
    }
    const uint8_t* in = src + size_t(sy) * row;
    for (int x = 0; x < width; ++x) {
      const int sx = (flip ? width - 1 - x : x) + dx;
      uint8_t* o = out + size_t(x) * channels;
      if (sx < 0 || sx >= width)
        std::memset(o, 0, size_t(channels));
      else
        std::memcpy(o, in + size_t(sx) * channels, size_t(channels));
    }
  }
}

}  // namespace mcuprune
