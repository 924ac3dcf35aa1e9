// Audio datasets: clips read with libsndfile (any format it knows; channels mixed down,
// other sample rates resampled with libsamplerate, clips padded or cut to the front end's
// length), the Speech Commands layout with its 12-class task, and the feature cache.
// No LibTorch here. Documented in docs/datasets.md.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/mfcc.h"

namespace mcuprune {

// One decoded clip: mono float samples (int16 / 32768 scale) at the requested rate.
struct AudioClip {
  std::vector<float> samples;
  int source_rate = 0;      // the file's own rate
  int source_channels = 0;  // the file's own channel count
};

// Reads an audio file as mono at `rate` Hz. Throws UserError naming the file when it is
// missing, not audio, corrupt, truncated (fewer frames than its header declares) or empty.
AudioClip read_audio(const std::string& path, int rate);

// The clip padded with zeros at the end or cut to exactly `length` samples.
std::vector<float> fit_clip(const std::vector<float>& samples, int length);

// Audio augmentation (Augmentation::audio), the ranges of the TensorFlow speech_commands
// reference (train.py / MLPerf Tiny's kws_util.py): the clip shifted by a uniform whole number
// of samples in [-100 ms, +100 ms] (the gap filled with zeros); then, with probability 0.8, a
// random 1 s window of a random background recording mixed in at a volume uniform in [0, 0.1)
// and the sum clipped to [-1, 1]. The foreground is first divided by its peak, as the
// reference does before mixing. Draws, in order: shift, mix or not, recording, offset, volume.
constexpr double kAugmentShiftMs = 100.0, kAugmentNoiseProbability = 0.8, kAugmentNoiseVolume = 0.1;
std::vector<float> augment_clip(const Dataset& d, size_t i, std::mt19937_64& rng);

// Options of the Speech Commands reader (the defaults are the reference task's).
struct AudioOptions {
  std::vector<std::string> keywords;  // empty: default_keywords()
  double silence_share = 0.10;        // _silence_ samples per keyword sample, each split
  double unknown_share = 0.10;        // _unknown_ samples per keyword sample, each split
  double validation_percent = 10.0;   // the hash split, when the folder has no list files
  double testing_percent = 10.0;
  uint64_t seed = 1;                  // silence clips and the choice of unknown words
  bool keep_audio = false;            // keep the training split's clips (Dataset::clips)
  MfccParams mfcc;
};

// The ten keywords of the reference task: yes, no, up, down, left, right, on, off, stop, go.
std::vector<std::string> default_keywords();

// Which split a file of the dataset belongs to by the Speech Commands README's rule: SHA-1
// of the file name without its "_nohash_..." suffix (so one speaker's clips stay together),
// as a percentage of 2^27 - 1: "validation" below validation_percent, "testing" below the
// sum, else "training".
std::string speech_commands_split(const std::string& file_name, double validation_percent,
                                  double testing_percent);

// True when `dir` looks like a Speech Commands folder: a _background_noise_ folder, a
// validation_list.txt / testing_list.txt, or sub-folders holding .wav files.
bool is_speech_commands_dir(const std::string& dir);

// Reads a Speech Commands folder into MFCC feature datasets (frames x coefficients x 1,
// float), classes _silence_, _unknown_, then the keywords in the given order. Splits come
// from validation_list.txt / testing_list.txt when present, else from the hash rule.
// Features are cached under <dir>/.mcuprune-cache (or, when the folder is read-only, under
// $XDG_CACHE_HOME/mcuprune); nothing else is written. `notes` receives what a user should
// know (resampled files, mixed-down files, padded and cut clips, the cache used).
DatasetSplits read_speech_commands(const std::string& dir, const AudioOptions& opt,
                                   std::vector<std::string>& notes);

// The clip of a dataset sample as the front end sees it (clip_samples values), from its
// source (Dataset::sources): the word's file, or the background noise window and volume of a
// _silence_ sample. For the device check, which feeds the clips themselves.
std::vector<float> source_clip(const std::string& dir, const std::string& source, const MfccParams& p);

}  // namespace mcuprune
