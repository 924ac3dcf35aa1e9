// Datasets held in memory as uint8 pixels or float features (H x W x C per sample, the IR's
// layout) plus int labels: readers for IDX (MNIST format), CIFAR-10 binary, image folders,
// NumPy .npz arrays and Speech Commands audio (data/audio.h), the seeded validation split,
// normalisation statistics and augmentation. No LibTorch here; src/nn turns samples into
// tensors.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace mcuprune {

struct Dataset {
  std::string name;  // e.g. "fashion-mnist/train"
  int height = 0, width = 0, channels = 0;
  int num_classes = 0;
  std::vector<std::string> class_names;  // size num_classes
  // The samples, size() * height * width * channels values in HWC order, in one of two
  // kinds: uint8 pixels (`images`; a sample's value is pixel / 255) or float values
  // (`features`, when `float_samples`; the value itself: audio features, .npz arrays).
  bool float_samples = false;
  std::vector<uint8_t> images;
  std::vector<float> features;
  std::vector<int32_t> labels;           // size(), each in [0, num_classes)
  // Audio datasets only: the source of each sample ("yes/0a7c2a8d_nohash_0.wav", or
  // "_silence_/<noise file>@<offset>"), for messages and the device check.
  std::vector<std::string> sources;
  // Audio datasets: the front end that computed the features (a zoo model trained on them
  // gets it as its first operator, so that it runs on raw audio on the device).
  bool audio = false;
  MfccParams front_end;
  // Audio training splits read with LoadOptions::keep_audio: every sample's clip (clip_samples
  // int16 values) and the background noise recordings, for augmentation before the front end.
  std::vector<int16_t> clips;
  std::vector<std::vector<float>> noise;
  bool has_clips() const { return audio && !clips.empty(); }
  const int16_t* clip(size_t i) const { return clips.data() + i * size_t(front_end.clip_samples); }

  size_t size() const { return labels.size(); }
  size_t sample_values() const { return size_t(height) * width * channels; }
  size_t sample_bytes() const { return sample_values(); }  // uint8 samples
  const uint8_t* sample(size_t i) const { return images.data() + i * sample_bytes(); }
  const float* sample_features(size_t i) const { return features.data() + i * sample_values(); }
  // Value k of sample i as the model sees it before normalisation (pixel / 255 or the float).
  float value(size_t i, size_t k) const {
    return float_samples ? features[i * sample_values() + k]
                         : images[i * sample_values() + k] / 255.0f;
  }
  // A new dataset with the given samples, in that order.
  Dataset subset(const std::vector<size_t>& indices, const std::string& new_name) const;
  // Keeps the first n samples (no-op when n >= size()).
  void truncate(size_t n);
};

// Reads an IDX image file (magic 0x00000803, u8, N x H x W) and an IDX label file
// (magic 0x00000801, u8, N). Either may be gzip-compressed (detected by content).
// Throws UserError naming the file and the problem (missing, bad magic, truncated,
// count mismatch, label >= num_classes).
Dataset read_idx(const std::string& images_path, const std::string& labels_path,
                 int num_classes = 10);

// Reads CIFAR-10 binary batches from a directory: data_batch_1..5.bin (train=true) or
// test_batch.bin (train=false); each record is 1 label byte + 3072 bytes (CHW planes),
// converted to HWC. batches.meta.txt, if present, gives the class names.
Dataset read_cifar10(const std::string& dir, bool train);

// Reads an image folder: one sub-folder per class (sorted names = class ids), PNG/JPEG/
// BMP files decoded with stb_image. If height/width/channels are > 0 images are resized
// (bilinear) / converted to that shape; if 0, every image must have the shape of the
// first one (an image of another size is an error naming the file).
struct ImageFolderOptions {
  int height = 0, width = 0, channels = 0;
};
Dataset read_image_folder(const std::string& dir, const ImageFolderOptions& opt = {});

struct DatasetSplits {
  Dataset train, val, test;
  std::vector<std::string> notes;  // what the reader wants the user to know (printed by load_dataset)
};

// Options of load_dataset.
struct LoadOptions {
  double val_fraction = 0.1;  // carved from the training set, seeded
  uint64_t seed = 1;
  int limit_train = 0;        // >0: keep only this many training samples (after shuffling)
  int limit_test = 0;         // >0: keep only this many test samples
  ImageFolderOptions image;   // for image folders
  // Audio folders (Speech Commands layout, data/audio.h): the keywords (empty: the standard
  // ten) and the shares of _silence_ and _unknown_ samples per keyword sample.
  std::vector<std::string> keywords;
  double silence_share = 0.10, unknown_share = 0.10;
  bool keep_audio = false;    // keep the training split's clips (audio augmentation)
  bool quiet = false;         // do not print the reader's notes to stderr
};

// Known dataset names (fashion-mnist, mnist) or a path: a directory holding IDX files
// (train-images-idx3-ubyte[.gz], ...), a CIFAR-10 binary directory, an image folder
// with train/ and test/ sub-folders, a Speech Commands audio folder (its own validation and
// test splits), or a NumPy .npz file (its x_val/y_val when present). "fashion-mnist" resolves to Debian's package data
// (/usr/share/datasets/fashion-mnist) or $MCUPRUNE_DATA/fashion-mnist.
// Throws UserError listing the known names when nothing matches.
DatasetSplits load_dataset(const std::string& name_or_path, const LoadOptions& opt);
std::vector<std::string> known_dataset_names();

// Seeded split: returns {train, val} with round(fraction * n) samples in val.
DatasetSplits split_validation(const Dataset& train, double fraction, uint64_t seed);

// Per-channel mean and standard deviation of the sample values (pixel/255 or the floats).
struct Normalization {
  std::vector<float> mean, stddev;
};
Normalization compute_normalization(const Dataset& d);

// Sample i as a model's float input: HWC, pixel / 255 (or the float value), then the
// model's normalisation.
std::vector<float> normalised_sample(const Dataset& d, size_t i, const InputNormalization& n);

// Augmentation applied to one HWC uint8 sample: random crop after zero padding by
// `crop_padding` pixels and a random horizontal flip.
struct Augmentation {
  int crop_padding = 0;
  bool horizontal_flip = false;
  bool enabled() const { return crop_padding > 0 || horizontal_flip; }  // the image augmentations
  // Audio (data/audio.h, augment_clip): the clip shifted in time and background noise mixed
  // in, then the front end run again, every time a sample is drawn.
  bool audio = false;
};
void augment_sample(const uint8_t* src, uint8_t* dst, int height, int width, int channels,
                    const Augmentation& aug, std::mt19937_64& rng);

}  // namespace mcuprune
