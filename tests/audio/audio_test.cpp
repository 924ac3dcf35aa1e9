// Audio datasets and the host front end: decoding, resampling, mixing down, corrupt files,
// the Speech Commands split rule, the 12-class task with its shares, the feature cache, and
// the MFCC against a pure tone and an independent numpy reference. The espeak-ng dataset is
// made once per test run by tests/tools/make_kws_dataset.sh (ctest fixture; its path comes in
// MCUPRUNE_KWS_DATA).
#include <gtest/gtest.h>
#include <sndfile.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "data/audio.h"
#include "data/dataset.h"
#include "data/mfcc.h"
#include "data/npz.h"
#include "graph/graph.h"

namespace fs = std::filesystem;
using namespace mcuprune;

namespace {

std::string temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("mcuprune_audio_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

// Writes interleaved float samples as 16-bit PCM WAV.
void write_wav(const std::string& path, const std::vector<float>& inter, int rate, int channels) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  ASSERT_NE(f, nullptr) << sf_strerror(nullptr);
  sf_writef_float(f, inter.data(), sf_count_t(inter.size() / channels));
  sf_close(f);
}

std::vector<float> tone(double hz, int n, int rate, double amp = 0.5) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[i] = float(amp * std::sin(2 * M_PI * hz * i / rate));
  return v;
}

std::string kws_data() {
  const char* d = std::getenv("MCUPRUNE_KWS_DATA");
  return d ? d : "";
}

std::string expect_user_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no UserError";
  return "";
}

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST(ReadAudio, DecodesResamplesAndMixesDown) {
  const std::string d = temp_dir("read");
  write_wav(d + "/a.wav", tone(440, 16000, 16000), 16000, 1);
  AudioClip a = read_audio(d + "/a.wav", 16000);
  ASSERT_EQ(a.samples.size(), 16000u);
  EXPECT_EQ(a.source_rate, 16000);
  EXPECT_NEAR(a.samples[40], 0.5 * std::sin(2 * M_PI * 440 * 40 / 16000.0), 1e-4);

  // 22050 Hz: resampled to 16 kHz, the tone keeps its frequency (zero crossings per second).
  write_wav(d + "/b.wav", tone(500, 22050, 22050), 22050, 1);
  AudioClip b = read_audio(d + "/b.wav", 16000);
  EXPECT_EQ(b.source_rate, 22050);
  EXPECT_NEAR(double(b.samples.size()), 16000.0, 2.0);
  int crossings = 0;
  for (size_t i = 200; i + 200 < b.samples.size(); ++i) crossings += (b.samples[i - 1] < 0) != (b.samples[i] < 0);
  EXPECT_NEAR(crossings, 1000 * (b.samples.size() - 400) / 16000.0, 3);

  // Stereo: the mean of the channels.
  std::vector<float> st;
  for (int i = 0; i < 8000; ++i) {
    st.push_back(0.5f);
    st.push_back(-0.25f);
  }
  write_wav(d + "/c.wav", st, 16000, 2);
  AudioClip c = read_audio(d + "/c.wav", 16000);
  EXPECT_EQ(c.source_channels, 2);
  ASSERT_EQ(c.samples.size(), 8000u);
  EXPECT_NEAR(c.samples[100], 0.125, 1e-3);

  // Short clips are padded at the end, long ones cut.
  EXPECT_EQ(fit_clip(c.samples, 16000).size(), 16000u);
  EXPECT_EQ(fit_clip(c.samples, 16000)[12000], 0.0f);
  EXPECT_EQ(fit_clip(b.samples, 1000).size(), 1000u);
  fs::remove_all(d);
}

TEST(ReadAudio, CorruptTruncatedEmptyAndNonAudioFilesAreClearErrors) {
  const std::string d = temp_dir("bad");
  { std::ofstream(d + "/text.wav") << "this is not audio at all, just some text in a file"; }
  EXPECT_NE(expect_user_error([&] { read_audio(d + "/text.wav", 16000); }).find("text.wav"), std::string::npos);
  write_wav(d + "/ok.wav", tone(300, 16000, 16000), 16000, 1);
  const std::string full = slurp(d + "/ok.wav");
  { std::ofstream(d + "/cut.wav", std::ios::binary) << full.substr(0, full.size() / 2); }
  const std::string cut = expect_user_error([&] { read_audio(d + "/cut.wav", 16000); });
  EXPECT_NE(cut.find("cut.wav"), std::string::npos) << cut;
  EXPECT_NE(cut.find("truncated"), std::string::npos) << cut;
  { std::ofstream(d + "/head.wav", std::ios::binary) << full.substr(0, 20); }
  EXPECT_NE(expect_user_error([&] { read_audio(d + "/head.wav", 16000); }).find("head.wav"), std::string::npos);
  write_wav(d + "/empty.wav", {}, 16000, 1);
  EXPECT_NE(expect_user_error([&] { read_audio(d + "/empty.wav", 16000); }).find("no audio"), std::string::npos);
  EXPECT_NE(expect_user_error([&] { read_audio(d + "/missing.wav", 16000); }).find("not found"), std::string::npos);
  fs::remove_all(d);
}

// Percentages computed with Python's hashlib by the README's rule: 0a7c2a8d 56.836...,
// ffd2ba2f 55.301..., c1d39ce8 39.798..., a1b2c3d4 87.830...
TEST(SpeechCommandsSplit, FollowsTheReadmeHashRule) {
  struct Case {
    const char* name;
    double pct;
  } cases[] = {{"yes/0a7c2a8d_nohash_1.wav", 56.8363871934},
               {"ffd2ba2f_nohash_4.wav", 55.3017113752},
               {"c1d39ce8_nohash_8.wav", 39.7989954039},
               {"a1b2c3d4.wav", 87.8301321553}};
  for (const Case& c : cases) {
    EXPECT_EQ(speech_commands_split(c.name, c.pct + 0.01, 5), "validation") << c.name;
    EXPECT_EQ(speech_commands_split(c.name, c.pct - 0.01, 0.02), "testing") << c.name;
    EXPECT_EQ(speech_commands_split(c.name, c.pct - 0.01, 0.005), "training") << c.name;
  }
  // The suffix after _nohash_ does not matter: one speaker stays in one split.
  EXPECT_EQ(speech_commands_split("0a7c2a8d_nohash_0.wav", 56.84, 1), speech_commands_split("x/0a7c2a8d_nohash_7.wav", 56.84, 1));
}

TEST(Mfcc, APureToneLandsInItsMelBand) {
  MfccParams p;
  MfccFrontEnd fe(p);
  for (double hz : {300.0, 1000.0, 2500.0}) {
    auto clip = tone(hz, 16000, 16000);
    std::vector<double> m = fe.mel(clip.data(), 10);
    const int best = int(std::max_element(m.begin(), m.end()) - m.begin());
    // The band whose centre is nearest the tone in mel.
    auto to_mel = [](double f) { return 1127.0 * std::log(1 + f / 700.0); };
    const double lo = to_mel(p.lower_hz), hi = to_mel(p.upper_hz);
    int nearest = 0;
    double dist = 1e9;
    for (int k = 0; k < p.mel_bins; ++k) {
      const double centre = lo + (hi - lo) * (k + 1) / (p.mel_bins + 1);
      if (std::fabs(centre - to_mel(hz)) < dist) dist = std::fabs(centre - to_mel(hz)), nearest = k;
    }
    EXPECT_NEAR(best, nearest, 1) << hz << " Hz";
    // And most of the energy is there: the band holds more than 10x any band 3 away.
    for (int k = 0; k < p.mel_bins; ++k)
      if (std::abs(k - best) >= 3) {
        EXPECT_GT(m[best], 10 * m[k]) << hz << " Hz, band " << k;
      }
  }
  std::vector<float> out(size_t(p.frames()) * p.coefficients);
  auto clip = tone(1000, 16000, 16000);
  fe.compute(clip.data(), out.data());
  EXPECT_EQ(p.frames(), 49);
  for (float v : out) EXPECT_TRUE(std::isfinite(v));
  // Silence: every log mel is log(1e-6), so c0 = sqrt(2/40) * 40 * log(1e-6) and the rest 0.
  std::vector<float> zeros(16000, 0.0f);
  fe.compute(zeros.data(), out.data());
  EXPECT_NEAR(out[0], std::sqrt(2.0 / 40) * 40 * std::log(1e-6), 1e-4);
  EXPECT_NEAR(out[1], 0.0, 1e-4);
}

TEST(Mfcc, EqualsTheNumpyReference) {
  const std::string d = temp_dir("ref");
  MfccParams p;
  MfccFrontEnd fe(p);
  std::mt19937_64 rng(5);
  std::vector<std::vector<float>> clips;
  clips.push_back(tone(700, 16000, 16000, 0.3));
  std::vector<float> chirp(16000), noise(16000);
  std::normal_distribution<double> g(0, 0.1);
  for (int i = 0; i < 16000; ++i) {
    chirp[i] = float(0.4 * std::sin(2 * M_PI * (100 + 3000.0 * i / 16000) * i / 16000));
    noise[i] = float(g(rng)) * (i > 4000 && i < 9000 ? 3.0f : 0.2f);
  }
  clips.push_back(chirp);
  clips.push_back(noise);
  if (!kws_data().empty()) clips.push_back(fit_clip(read_audio(kws_data() + "/yes/" + fs::directory_iterator(kws_data() + "/yes")->path().filename().string(), 16000).samples, 16000));
  for (size_t c = 0; c < clips.size(); ++c) {
    { std::ofstream(d + "/clip.f32", std::ios::binary).write(reinterpret_cast<const char*>(clips[c].data()), 16000 * 4); }
    const std::string cmd = "/usr/bin/python3 " MCUPRUNE_SOURCE_DIR "/tests/audio/mfcc_reference.py " + d + "/clip.f32 " + d + "/ref.f64";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    const std::string ref = slurp(d + "/ref.f64");
    ASSERT_EQ(ref.size(), size_t(49 * 10 * 8));
    std::vector<float> out(490);
    fe.compute(clips[c].data(), out.data());
    double worst = 0;
    for (int i = 0; i < 490; ++i) {
      double r;
      std::memcpy(&r, ref.data() + i * 8, 8);
      worst = std::max(worst, std::fabs(r - out[i]));
    }
    EXPECT_LT(worst, 1e-4) << "clip " << c;
  }
  fs::remove_all(d);
}

TEST(SpeechCommands, TheTwelveClassTaskWithItsShares) {
  const std::string src = kws_data();
  ASSERT_FALSE(src.empty()) << "MCUPRUNE_KWS_DATA is not set (the ctest fixture makes the dataset)";
  const std::string d = temp_dir("sc");
  fs::copy(src, d, fs::copy_options::recursive);
  fs::remove_all(d + "/.mcuprune-cache");  // a cache of earlier runs on the source folder
  std::set<std::string> before;
  for (auto& e : fs::recursive_directory_iterator(d)) before.insert(e.path().string());
  AudioOptions o;
  std::vector<std::string> notes;
  DatasetSplits s = read_speech_commands(d, o, notes);
  ASSERT_EQ(s.train.class_names.size(), 12u);
  EXPECT_EQ(s.train.class_names[0], "_silence_");
  EXPECT_EQ(s.train.class_names[1], "_unknown_");
  EXPECT_EQ(s.train.class_names[2], "yes");
  EXPECT_EQ(s.train.height, 49);
  EXPECT_EQ(s.train.width, 10);
  EXPECT_TRUE(s.train.float_samples);
  std::map<std::string, int> split_of_speaker;
  for (const Dataset* part : {&s.train, &s.val, &s.test}) {
    size_t kw = 0, sil = 0, unk = 0;
    for (size_t i = 0; i < part->size(); ++i) {
      const int l = part->labels[i];
      (l == 0 ? sil : l == 1 ? unk : kw)++;
      const std::string& source = part->sources[i];
      if (l >= 1) {
        const std::string word = source.substr(0, source.find('/'));
        const std::vector<std::string> kws = default_keywords();
        EXPECT_EQ(l == 1, std::find(kws.begin(), kws.end(), word) == kws.end()) << source;
        const std::string speaker = source.substr(source.find('/') + 1, 8);
        const int which = part == &s.train ? 0 : part == &s.val ? 1 : 2;
        auto [it, fresh] = split_of_speaker.emplace(speaker, which);
        EXPECT_EQ(it->second, which) << "speaker " << speaker << " is in two splits";
        EXPECT_EQ(speech_commands_split(source, 10, 10), which == 0 ? "training" : which == 1 ? "validation" : "testing");
      } else {
        EXPECT_EQ(source.rfind("_silence_/", 0), 0u) << source;
      }
    }
    ASSERT_GT(kw, 0u) << part->name;
    EXPECT_EQ(sil, size_t(std::ceil(kw * 0.1 - 1e-9))) << part->name;
    EXPECT_EQ(unk, size_t(std::ceil(kw * 0.1 - 1e-9))) << part->name;
  }
  // The silence clips are background noise (not digital silence): their c0 is above silence's.
  for (size_t i = 0; i < s.train.size(); ++i)
    if (s.train.labels[i] == 0 && s.train.sources[i].find("*0.0") == std::string::npos) {
      EXPECT_GT(s.train.sample_features(i)[0], std::sqrt(2.0 / 40) * 40 * std::log(1e-6) + 1);
    }

  // Nothing but the cache was written into the folder.
  std::set<std::string> after;
  for (auto& e : fs::recursive_directory_iterator(d))
    if (e.path().string().find("/.mcuprune-cache") == std::string::npos) after.insert(e.path().string());
  EXPECT_EQ(before, after);
  ASSERT_TRUE(fs::is_directory(d + "/.mcuprune-cache"));

  // Second read: every clip from the cache, identical features.
  notes.clear();
  DatasetSplits again = read_speech_commands(d, o, notes);
  bool from_cache = false;
  for (const std::string& n : notes) from_cache |= n.find("features of all") != std::string::npos;
  EXPECT_TRUE(from_cache);
  EXPECT_EQ(again.train.features, s.train.features);
  EXPECT_EQ(again.test.labels, s.test.labels);

  // A changed file is recomputed (its size changed), the rest still come from the cache.
  const std::string victim = d + "/" + s.train.sources[0];
  write_wav(victim, tone(1200, 15000, 16000), 16000, 1);
  notes.clear();
  DatasetSplits changed = read_speech_commands(d, o, notes);
  bool one = false;
  for (const std::string& n : notes) one |= n.find("features of 1 clips computed") != std::string::npos;
  EXPECT_TRUE(one);
  EXPECT_NE(changed.train.features, s.train.features);

  // A damaged cache is recomputed, not trusted.
  for (auto& e : fs::directory_iterator(d + "/.mcuprune-cache")) {
    std::string bytes = slurp(e.path().string());
    std::ofstream(e.path(), std::ios::binary) << bytes.substr(0, bytes.size() - 7);
  }
  notes.clear();
  DatasetSplits healed = read_speech_commands(d, o, notes);
  EXPECT_EQ(healed.train.features, changed.train.features);

  // Other keywords: the class list follows; a keyword without a folder names the words.
  o.keywords = {"cat", "dog", "yes"};
  DatasetSplits three = read_speech_commands(d, o, notes);
  EXPECT_EQ(three.train.class_names, (std::vector<std::string>{"_silence_", "_unknown_", "cat", "dog", "yes"}));
  o.keywords = {"yes", "maybe"};
  const std::string e = expect_user_error([&] { read_speech_commands(d, o, notes); });
  EXPECT_NE(e.find("maybe"), std::string::npos);
  EXPECT_NE(e.find("house"), std::string::npos) << "the message lists the words: " << e;

  // A corrupt clip is an error naming it.
  o.keywords = {};
  { std::ofstream(d + "/no/zzzzzzzz_nohash_0.wav") << "garbage"; }
  const std::string c = expect_user_error([&] { read_speech_commands(d, o, notes); });
  EXPECT_NE(c.find("zzzzzzzz_nohash_0.wav"), std::string::npos) << c;
  fs::remove_all(d);
}

TEST(SpeechCommands, ListFilesGiveTheSplits) {
  const std::string d = temp_dir("lists");
  for (const char* w : {"yes", "no", "cat"})
    for (int s = 0; s < 6; ++s) {
      fs::create_directories(d + "/" + w);
      write_wav(d + "/" + w + "/spk" + std::to_string(s) + "_nohash_0.wav", tone(200 + 100 * s, 16000, 16000), 16000, 1);
    }
  std::ofstream(d + "/validation_list.txt") << "yes/spk0_nohash_0.wav\nno/spk0_nohash_0.wav\r\ncat/spk0_nohash_0.wav\n";
  std::ofstream(d + "/testing_list.txt") << "yes/spk1_nohash_0.wav\nno/spk1_nohash_0.wav\nyes/gone_nohash_0.wav\n";
  AudioOptions o;
  o.keywords = {"yes", "no"};
  std::vector<std::string> notes;
  DatasetSplits s = read_speech_commands(d, o, notes);
  auto count_label = [](const Dataset& x, int l) { return std::count(x.labels.begin(), x.labels.end(), l); };
  EXPECT_EQ(count_label(s.val, 2) + count_label(s.val, 3), 2);
  EXPECT_EQ(count_label(s.test, 2) + count_label(s.test, 3), 2);
  EXPECT_EQ(count_label(s.train, 2) + count_label(s.train, 3), 8);
  EXPECT_EQ(count_label(s.val, 1), 1);  // ceil(2 * 0.1) unknown, from cat/spk0
  bool missing_noted = false, silence_noted = false;
  for (const std::string& n : notes) {
    missing_noted |= n.find("1 listed files are not in the folder") != std::string::npos;
    silence_noted |= n.find("digital silence") != std::string::npos;
  }
  EXPECT_TRUE(missing_noted);
  EXPECT_TRUE(silence_noted);
  fs::remove_all(d);
}

TEST(Npz, ReadsNumpyArraysAndRefusesMalformedOnes) {
  const std::string d = temp_dir("npz");
  const std::string script = d + "/make.py";
  std::ofstream(script) << R"(import numpy as np, sys
d = sys.argv[1]
r = np.random.default_rng(0)
np.savez(d + "/f.npz", x_train=r.normal(size=(20, 49, 10, 1)).astype(np.float32), y_train=np.arange(20) % 3,
         x_test=r.normal(size=(6, 49, 10, 1)).astype(np.float32), y_test=np.arange(6, dtype=np.uint8) % 3)
np.savez_compressed(d + "/u.npz", x_train=r.integers(0, 255, size=(10, 8, 8), dtype=np.uint8), y_train=np.arange(10) % 2,
         x_test=r.integers(0, 255, size=(4, 8, 8), dtype=np.uint8), y_test=np.arange(4) % 2,
         x_val=r.integers(0, 255, size=(3, 8, 8), dtype=np.uint8), y_val=np.arange(3) % 2)
np.savez(d + "/i8.npz", x_train=r.integers(-128, 127, size=(10, 30), dtype=np.int8), y_train=np.arange(10) % 2,
         x_test=r.integers(-128, 127, size=(4, 30), dtype=np.int8), y_test=np.arange(4) % 2)
np.savez(d + "/nolabels.npz", x_train=np.zeros((4, 2, 2, 1), np.float32), x_test=np.zeros((2, 2, 2, 1), np.float32), y_test=np.zeros(2, int))
np.savez(d + "/mismatch.npz", x_train=np.zeros((4, 2, 2, 1), np.float32), y_train=np.zeros(5, int), x_test=np.zeros((2, 2, 2, 1), np.float32), y_test=np.zeros(2, int))
np.savez(d + "/nan.npz", x_train=np.full((4, 2, 2, 1), np.nan, np.float32), y_train=np.arange(4) % 2, x_test=np.zeros((2, 2, 2, 1), np.float32), y_test=np.arange(2))
np.savez(d + "/strings.npz", x_train=np.array([["a"]] * 4), y_train=np.arange(4) % 2, x_test=np.zeros((2, 1), np.float32), y_test=np.arange(2))
np.savez(d + "/floatlabels.npz", x_train=np.zeros((4, 3), np.float32), y_train=np.zeros(4, np.float32), x_test=np.zeros((2, 3), np.float32), y_test=np.arange(2))
)";
  ASSERT_EQ(std::system(("/usr/bin/python3 " + script + " " + d).c_str()), 0);
  std::vector<std::string> notes;
  DatasetSplits f = read_npz(d + "/f.npz", notes);
  EXPECT_TRUE(f.train.float_samples);
  EXPECT_EQ(f.train.size(), 20u);
  EXPECT_EQ(f.train.height, 49);
  EXPECT_EQ(f.train.width, 10);
  EXPECT_EQ(f.train.num_classes, 3);
  EXPECT_EQ(f.test.labels[4], 1);
  EXPECT_EQ(f.val.size(), 0u);
  DatasetSplits u = read_npz(d + "/u.npz", notes);
  EXPECT_FALSE(u.train.float_samples);
  EXPECT_EQ(u.train.channels, 1);
  EXPECT_EQ(u.val.size(), 3u);
  DatasetSplits i8 = read_npz(d + "/i8.npz", notes);
  EXPECT_EQ(i8.train.height, 30);
  EXPECT_EQ(i8.train.width, 1);
  for (float v : i8.train.features) EXPECT_TRUE(v >= -128 && v <= 127 && v == std::round(v));
  // Through load_dataset: a validation split is carved when x_val is absent, kept when present.
  LoadOptions lo;
  lo.quiet = true;
  DatasetSplits lf = load_dataset(d + "/f.npz", lo);
  EXPECT_EQ(lf.val.size(), 2u);
  EXPECT_EQ(lf.train.size(), 18u);
  DatasetSplits lu = load_dataset(d + "/u.npz", lo);
  EXPECT_EQ(lu.val.size(), 3u);
  EXPECT_EQ(lu.train.size(), 10u);
  struct Bad {
    const char* file;
    const char* says;
  } bad[] = {{"nolabels.npz", "y_train"}, {"mismatch.npz", "5 labels"}, {"nan.npz", "finite"},
             {"strings.npz", "dtype"},    {"floatlabels.npz", "integers"}};
  for (const Bad& b : bad) {
    const std::string e = expect_user_error([&] { read_npz(d + "/" + b.file, notes); });
    EXPECT_NE(e.find(b.file), std::string::npos) << e;
    EXPECT_NE(e.find(b.says), std::string::npos) << e;
  }
  // A truncated archive and a file that is no zip at all.
  const std::string whole = slurp(d + "/u.npz");
  std::ofstream(d + "/cut.npz", std::ios::binary) << whole.substr(0, whole.size() / 2);
  EXPECT_NE(expect_user_error([&] { read_npz(d + "/cut.npz", notes); }).find("cut.npz"), std::string::npos);
  std::ofstream(d + "/text.npz") << "hello";
  EXPECT_NE(expect_user_error([&] { read_npz(d + "/text.npz", notes); }).find("zip"), std::string::npos);
  fs::remove_all(d);
}

extern "C" {
#include "kernels/mfcc.h"
}

// The device front end (runtime/kernels/mfcc.c, single precision) against the host (double):
// the issue's tolerance on int8 features, at least 99% equal and none more than one step off,
// over the espeak-ng clips and synthetic ones, with the quantisation a trained model uses.
TEST(Mfcc, TheDeviceFrontEndMatchesTheHost) {
  MfccParams mp;
  MfccFrontEnd host(mp);
  MfccDeviceTables t = mfcc_device_tables(mp);
  std::vector<float> scratch(t.scratch_floats);
  mp_mfcc_params p{};
  p.clip_samples = mp.clip_samples, p.window = mp.window, p.stride = mp.stride, p.fft = mp.fft;
  p.frames = mp.frames(), p.mel_bins = mp.mel_bins, p.coefficients = mp.coefficients;
  p.window_fn = t.window.data(), p.twiddle_cos = t.twiddle_cos.data(), p.twiddle_sin = t.twiddle_sin.data();
  p.band_start = t.band_start.data(), p.band_length = t.band_length.data(), p.band_weights = t.band_weights.data();
  p.dct = t.dct.data(), p.log_offset = float(mp.log_offset), p.scratch = scratch.data();
  // A model's input quantisation: features normalised by mean and stddev, int8 over +-4 sd.
  p.mean = -20.0f, p.inv_stddev = 1.0f / 25.0f, p.output_scale = 8.0f / 255, p.output_zero_point = 0;

  std::vector<std::vector<int16_t>> clips;
  auto add = [&](const std::vector<float>& f) {
    std::vector<int16_t> c(16000);
    for (int i = 0; i < 16000; ++i) c[i] = int16_t(std::lround(std::clamp(f[i] * 32768.0f, -32768.0f, 32767.0f)));
    clips.push_back(c);
  };
  add(tone(700, 16000, 16000, 0.3));
  add(std::vector<float>(16000, 0.0f));
  std::mt19937_64 rng(3);
  std::normal_distribution<double> g(0, 0.05);
  std::vector<float> noise(16000);
  for (float& v : noise) v = float(g(rng));
  add(noise);
  const std::string data = kws_data();
  ASSERT_FALSE(data.empty());
  for (const char* w : {"yes", "no", "stop", "house"})
    for (auto& e : fs::directory_iterator(data + "/" + w)) add(fit_clip(read_audio(e.path().string(), 16000).samples, 16000));

  size_t equal = 0, total = 0;
  int worst = 0;
  double worst_float = 0;
  std::vector<float> hf(490), df(490);
  std::vector<int8_t> dq(490);
  for (const auto& c : clips) {
    std::vector<float> asfloat(16000);
    for (int i = 0; i < 16000; ++i) asfloat[i] = c[i] / 32768.0f;
    host.compute(asfloat.data(), hf.data());
    mp_mfcc_float(&p, reinterpret_cast<const int8_t*>(c.data()), df.data());
    mp_mfcc(&p, reinterpret_cast<const int8_t*>(c.data()), dq.data());
    for (int i = 0; i < 490; ++i) {
      worst_float = std::max(worst_float, double(std::fabs(hf[i] - df[i])));
      const float x = (hf[i] - p.mean) * p.inv_stddev;
      const int hq = std::clamp(int(std::lround(x / p.output_scale)) + p.output_zero_point, -128, 127);
      worst = std::max(worst, std::abs(hq - dq[i]));
      equal += hq == dq[i];
      ++total;
    }
  }
  EXPECT_LE(worst, 1);
  EXPECT_GE(double(equal) / total, 0.99) << equal << " of " << total;
  EXPECT_LT(worst_float, 0.05);
  std::printf("device vs host: %zu clips, %.4f%% of int8 features equal, largest step %d, largest float difference %.2e\n",
              clips.size(), 100.0 * equal / total, worst, worst_float);
}

// Resampled, stereo, short and long clips in a dataset: read, fitted to 1 s, each counted in a note.
TEST(SpeechCommands, OtherRatesChannelsAndLengthsAreNoted) {
  const std::string d = temp_dir("odd");
  fs::create_directories(d + "/yes");
  fs::create_directories(d + "/no");
  write_wav(d + "/yes/a_nohash_0.wav", tone(500, 22050, 22050), 22050, 1);  // 1 s at 22.05 kHz
  std::vector<float> st;
  for (int i = 0; i < 16000; ++i) st.push_back(0.3f), st.push_back(-0.1f);
  write_wav(d + "/yes/b_nohash_0.wav", st, 16000, 2);                          // stereo
  write_wav(d + "/no/c_nohash_0.wav", tone(300, 8000, 16000), 16000, 1);      // 0.5 s
  write_wav(d + "/no/e_nohash_0.wav", tone(300, 24000, 16000), 16000, 1);     // 1.5 s
  AudioOptions o;
  o.keywords = {"yes", "no"};
  o.validation_percent = 0;
  o.testing_percent = 0;
  std::vector<std::string> notes;
  DatasetSplits s = read_speech_commands(d, o, notes);
  EXPECT_EQ(s.train.size(), 4u + 1u);  // 4 keyword clips + ceil(0.4) silence, no unknown words
  std::string all;
  for (const std::string& n : notes) all += n + "\n";
  for (const char* want : {"1 clips resampled to 16000 Hz", "1 clips with several channels mixed down",
                           "1 clips shorter than 16000 samples padded", "1 clips longer than 16000 samples cut",
                           "_unknown_ samples fewer than the share asks for"})
    EXPECT_NE(all.find(want), std::string::npos) << want << " in:\n" << all;
  for (float v : s.train.features) EXPECT_TRUE(std::isfinite(v));
  fs::remove_all(d);
}

// Audio augmentation: the clip shifted by at most 100 ms (zeros fill the gap), background
// noise mixed in at a volume below 0.1 in about 80% of the draws; the same seed, the same clip.
TEST(SpeechCommands, AugmentationShiftsAndMixesWithinTheReferenceRanges) {
  const std::string d = temp_dir("aug");
  for (const char* w : {"yes", "no"})
    for (int s = 0; s < 4; ++s) {
      fs::create_directories(d + "/" + w);
      std::vector<float> v(16000, 0.0f);
      for (int i = 4000; i < 12000; ++i) v[size_t(i)] = float(0.25 * std::sin(0.05 * i + s));
      write_wav(d + "/" + w + "/spk" + std::to_string(s) + "_nohash_0.wav", v, 16000, 1);
    }
  AudioOptions o;
  o.keywords = {"yes", "no"};
  o.keep_audio = true;
  o.validation_percent = 0;
  o.testing_percent = 0;
  std::vector<std::string> notes;
  DatasetSplits plain = read_speech_commands(d, o, notes);
  ASSERT_TRUE(plain.train.has_clips());
  const Dataset& t = plain.train;
  size_t k = 0;
  while (t.labels[k] < 2) ++k;  // a keyword clip
  const int16_t* c = t.clip(k);
  int first = -1;
  for (int i = 0; i < 16000 && first < 0; ++i)
    if (c[i] != 0) first = i;
  std::set<int> shifts;
  std::mt19937_64 rng(9);
  for (int draw = 0; draw < 200; ++draw) {
    const std::vector<float> a = augment_clip(t, k, rng);
    int f = -1;
    for (int i = 0; i < 16000 && f < 0; ++i)
      if (a[size_t(i)] != 0) f = i;
    ASSERT_GE(f, 0);
    EXPECT_LE(std::abs(f - first), 1600) << "shift beyond 100 ms";
    shifts.insert(f - first);
    for (float v : a) EXPECT_LE(std::fabs(v), 1.0f);
  }
  EXPECT_GT(shifts.size(), 50u) << "the shift is drawn, not fixed";
  std::mt19937_64 r1(4), r2(4);
  EXPECT_EQ(augment_clip(t, k, r1), augment_clip(t, k, r2));

  // With background noise: most draws differ from the shifted clip by at most 0.1 x the noise.
  fs::create_directories(d + "/_background_noise_");
  std::vector<float> noise(40000);
  std::mt19937_64 nr(1);
  std::normal_distribution<double> g(0, 0.3);
  for (float& v : noise) v = float(std::clamp(g(nr), -0.99, 0.99));
  write_wav(d + "/_background_noise_/n.wav", noise, 16000, 1);
  DatasetSplits noisy = read_speech_commands(d, o, notes);
  const Dataset& u = noisy.train;
  ASSERT_EQ(u.noise.size(), 1u);
  size_t j = 0;
  while (u.labels[j] < 2) ++j;
  int mixed = 0;
  std::mt19937_64 rng2(11);
  for (int draw = 0; draw < 200; ++draw) {
    const std::vector<float> a = augment_clip(u, j, rng2);
    // Samples before the clip's sound (the first 2000 are silent after any shift) hold only noise.
    float most = 0;
    for (int i = 0; i < 2000; ++i) most = std::max(most, std::fabs(a[size_t(i)]));
    EXPECT_LE(most, 0.1f * 0.99f + 1e-6f);
    mixed += most > 0;
  }
  EXPECT_GT(mixed, 130);  // p = 0.8: 160 expected of 200
  EXPECT_LT(mixed, 190);
  fs::remove_all(d);
}
