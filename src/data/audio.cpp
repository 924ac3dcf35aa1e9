// Audio datasets: decoding (libsndfile), resampling (libsamplerate), the Speech Commands
// reader and its 12-class task, and the MFCC feature cache. See audio.h.
#include "data/audio.h"

#include <openssl/evp.h>
#include <samplerate.h>
#include <sndfile.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unistd.h>

#include "data/file_io.h"
#include "graph/io.h"

namespace fs = std::filesystem;

namespace mcuprune {

namespace {

const char* const kBackground = "_background_noise_";
const char* const kSilence = "_silence_";
const char* const kUnknown = "_unknown_";

bool ends_with_wav(const std::string& name) {
  if (name.size() < 4) return false;
  std::string ext = name.substr(name.size() - 4);
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".wav";
}

// Sorted names of the entries of `dir` that pass `keep`.
std::vector<std::string> list_dir(const std::string& dir, bool want_dirs) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code ec2;
    const bool is_dir = it->is_directory(ec2);
    if (want_dirs && is_dir) out.push_back(name);
    if (!want_dirs && !is_dir && ends_with_wav(name)) out.push_back(name);
  }
  if (ec) throw UserError("cannot list audio folder '" + dir + "': " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

// Unbiased integer in [0, bound) from raw mt19937_64 output (the standard fixes its sequence).
uint64_t below(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    const uint64_t r = rng();
    if (r >= threshold) return r % bound;
  }
}
double unit(std::mt19937_64& rng) { return double(rng() >> 11) * (1.0 / 9007199254740992.0); }

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string hex64(uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", (unsigned long long)v);
  return b;
}

// --- the feature cache -------------------------------------------------------------------
// One binary file per front-end configuration: a header with the parameters' key, then one
// record per audio file (its path in the dataset, size and modification time, what the
// decoder saw, and its features). A record is used only when size and time still match.
struct CacheEntry {
  uint64_t size = 0;
  int64_t mtime = 0;
  int32_t rate = 0, channels = 0, length = 0;  // the file as decoded (for notes)
  std::vector<float> features;
};
constexpr char kCacheMagic[8] = {'M', 'C', 'P', 'F', 'E', 'A', 'T', '1'};

struct FileStamp {
  uint64_t size = 0;
  int64_t mtime = 0;
};
FileStamp stamp(const std::string& path) {
  std::error_code ec;
  FileStamp s;
  s.size = fs::file_size(path, ec);
  if (ec) throw UserError("cannot read audio file '" + path + "': " + ec.message());
  s.mtime = int64_t(fs::last_write_time(path, ec).time_since_epoch().count());
  return s;
}

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

// Reads a cache file; an unreadable, foreign or damaged cache gives an empty map (and a
// note): it is only ever recomputed, never trusted in part.
std::map<std::string, CacheEntry> read_cache(const std::string& path, const std::string& key, size_t values,
                                             std::vector<std::string>& notes) {
  std::map<std::string, CacheEntry> out;
  std::error_code ec;
  if (!fs::exists(path, ec)) return out;
  std::ifstream f(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t pos = 0;
  auto take = [&](void* dst, size_t n) {
    if (pos + n > data.size()) return false;
    std::memcpy(dst, data.data() + pos, n);
    pos += n;
    return true;
  };
  auto damaged = [&] {
    notes.push_back("feature cache '" + path + "' is damaged or from another version; recomputing it");
    out.clear();
    return out;
  };
  char magic[8];
  uint32_t key_len = 0, n_values = 0;
  uint64_t count = 0;
  if (!take(magic, 8) || std::memcmp(magic, kCacheMagic, 8) != 0 || !take(&key_len, 4) || key_len > 4096)
    return damaged();
  std::string k(key_len, '\0');
  if (!take(k.data(), key_len) || k != key || !take(&n_values, 4) || n_values != values || !take(&count, 8))
    return damaged();
  for (uint64_t i = 0; i < count; ++i) {
    uint32_t plen = 0;
    if (!take(&plen, 4) || plen > 4096) return damaged();
    std::string p(plen, '\0');
    CacheEntry e;
    if (!take(p.data(), plen) || !take(&e.size, 8) || !take(&e.mtime, 8) || !take(&e.rate, 4) ||
        !take(&e.channels, 4) || !take(&e.length, 4))
      return damaged();
    e.features.resize(values);
    if (!take(e.features.data(), values * sizeof(float))) return damaged();
    for (float v : e.features)
      if (!std::isfinite(v)) return damaged();
    out[p] = std::move(e);
  }
  if (pos != data.size()) return damaged();
  return out;
}

std::string encode_cache(const std::map<std::string, CacheEntry>& entries, const std::string& key, size_t values) {
  std::string out(kCacheMagic, 8);
  put(out, uint32_t(key.size()));
  out += key;
  put(out, uint32_t(values));
  put(out, uint64_t(entries.size()));
  for (const auto& [p, e] : entries) {
    put(out, uint32_t(p.size()));
    out += p;
    put(out, e.size);
    put(out, e.mtime);
    put(out, e.rate);
    put(out, e.channels);
    put(out, e.length);
    out.append(reinterpret_cast<const char*>(e.features.data()), values * sizeof(float));
  }
  return out;
}

bool dir_writable(const std::string& dir) { return ::access(dir.c_str(), W_OK) == 0; }

std::string cache_path(const std::string& dir, const std::string& key, std::vector<std::string>& notes) {
  const std::string file = "features-" + hex64(fnv1a(key)) + ".bin";
  if (dir_writable(dir)) return dir + "/.mcuprune-cache/" + file;
  std::string base;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x)
    base = x;
  else if (const char* h = std::getenv("HOME"); h && *h)
    base = std::string(h) + "/.cache";
  else
    base = "/tmp";
  std::error_code ec;
  const std::string abs = fs::absolute(dir, ec).lexically_normal().string();
  const std::string p = base + "/mcuprune/" + hex64(fnv1a(abs)) + "-" + file;
  notes.push_back("dataset folder '" + dir + "' is read-only: its feature cache is '" + p + "'");
  return p;
}

// Runs fn(i) for i in [0, n) on up to `threads` threads; the first exception is rethrown.
template <class Fn>
void parallel_for(size_t n, Fn fn) {
  const size_t threads = std::max<size_t>(1, std::min<size_t>(n, std::thread::hardware_concurrency()));
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex m;
  auto work = [&] {
    for (;;) {
      const size_t i = next++;
      if (i >= n) return;
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(m);
        if (!error) error = std::current_exception();
        next = n;
        return;
      }
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

std::vector<std::string> read_list(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream f(path);
  if (!f) throw UserError("cannot read split list '" + path + "'");
  std::string line;
  while (std::getline(f, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    size_t b = 0;
    while (b < line.size() && (line[b] == ' ' || line[b] == '\t')) ++b;
    if (b < line.size()) out.push_back(line.substr(b));
  }
  return out;
}

// A _silence_ sample's source, "_silence_/<noise file>@<offset>*<volume>" ("_silence_/zeros"
// without background noise), and the clip it names.
struct SilenceSource {
  std::string file;  // empty: digital silence
  size_t offset = 0;
  float volume = 0;
};
SilenceSource parse_silence(const std::string& source) {
  SilenceSource s;
  const size_t prefix = std::strlen(kSilence) + 1, at = source.find('@'), star = source.find('*');
  if (at == std::string::npos || star == std::string::npos || at < prefix || star < at) return s;
  s.file = source.substr(prefix, at - prefix);
  s.offset = std::stoull(source.substr(at + 1, star - at - 1));
  s.volume = std::stof(source.substr(star + 1));
  return s;
}
std::vector<float> silence_clip(const std::vector<float>& noise, const SilenceSource& s, int length) {
  std::vector<float> clip(size_t(length), 0.0f);
  for (size_t i = 0; i < clip.size() && s.offset + i < noise.size(); ++i) clip[i] = noise[s.offset + i] * s.volume;
  return clip;
}

}  // namespace

std::vector<std::string> default_keywords() {
  return {"yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"};
}

AudioClip read_audio(const std::string& path, int rate) {
  data_detail::refuse_special_file(path, "audio file");
  if (!data_detail::is_file(path)) throw UserError("audio file '" + path + "' not found");
  SF_INFO info;
  std::memset(&info, 0, sizeof info);
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  if (!f)
    throw UserError("audio file '" + path + "' cannot be decoded (" + sf_strerror(nullptr) +
                    "); it is not audio, or corrupt: replace or remove it");
  struct Closer {
    SNDFILE* f;
    ~Closer() { sf_close(f); }
  } closer{f};
  // libsndfile accepts a WAV whose data chunk is shorter than its header says, and notes it in
  // its log ("should be"): for a dataset that is a truncated file, not a shorter clip.
  char log[4096] = {0};
  sf_command(f, SFC_GET_LOG_INFO, log, sizeof log);
  if (std::strstr(log, "should be") || std::strstr(log, "truncated"))
    throw UserError("audio file '" + path + "' is truncated or its header is damaged (libsndfile: " +
                    [&] {
                      std::string l(log);
                      const size_t at = l.find("should be") != std::string::npos ? l.find("should be") : l.find("truncated");
                      const size_t b = l.rfind('\n', at);
                      const size_t e = l.find('\n', at);
                      return l.substr(b == std::string::npos ? 0 : b + 1, e == std::string::npos ? std::string::npos : e - b - 1);
                    }() +
                    "): replace or remove it");
  if (info.frames <= 0 || info.channels <= 0 || info.samplerate <= 0)
    throw UserError("audio file '" + path + "' holds no audio (0 frames): replace or remove it");
  if (info.frames > int64_t(3600) * info.samplerate)
    throw UserError("audio file '" + path + "' is longer than an hour; clips are expected to be about 1 s long");
  std::vector<float> inter(size_t(info.frames) * size_t(info.channels));
  const sf_count_t got = sf_readf_float(f, inter.data(), info.frames);
  if (got != info.frames)
    throw UserError("audio file '" + path + "' is truncated: its header declares " + std::to_string(info.frames) +
                    " frames but only " + std::to_string(got) + " could be read; replace or remove it");
  AudioClip c;
  c.source_rate = info.samplerate;
  c.source_channels = info.channels;
  std::vector<float> mono(size_t(info.frames));
  for (size_t i = 0; i < mono.size(); ++i) {
    double s = 0;
    for (int ch = 0; ch < info.channels; ++ch) s += inter[i * info.channels + ch];
    mono[i] = float(s / info.channels);
  }
  for (float v : mono)
    if (!std::isfinite(v))
      throw UserError("audio file '" + path + "' holds samples that are not finite numbers: replace or remove it");
  if (info.samplerate == rate) {
    c.samples = std::move(mono);
    return c;
  }
  SRC_DATA d;
  std::memset(&d, 0, sizeof d);
  d.src_ratio = double(rate) / info.samplerate;
  c.samples.resize(size_t(std::ceil(mono.size() * d.src_ratio)) + 16);
  d.data_in = mono.data();
  d.input_frames = long(mono.size());
  d.data_out = c.samples.data();
  d.output_frames = long(c.samples.size());
  if (int err = src_simple(&d, SRC_SINC_MEDIUM_QUALITY, 1))
    throw UserError("audio file '" + path + "': resampling from " + std::to_string(info.samplerate) + " to " +
                    std::to_string(rate) + " Hz failed (" + src_strerror(err) + ")");
  c.samples.resize(size_t(d.output_frames_gen));
  return c;
}

std::vector<float> fit_clip(const std::vector<float>& samples, int length) {
  std::vector<float> out(size_t(length), 0.0f);
  std::copy_n(samples.begin(), std::min(samples.size(), out.size()), out.begin());
  return out;
}

std::string speech_commands_split(const std::string& file_name, double validation_percent,
                                  double testing_percent) {
  std::string base = fs::path(file_name).filename().string();
  const size_t cut = base.find("_nohash_");
  if (cut != std::string::npos) base = base.substr(0, cut);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(base.data(), base.size(), md, &len, EVP_sha1(), nullptr) != 1 || len != 20)
    throw std::runtime_error("SHA-1 failed");
  // int(hex digest) % 2^27: the low 27 bits of the big-endian 160-bit number.
  const uint32_t low = (uint32_t(md[16] & 0x07) << 24) | (uint32_t(md[17]) << 16) | (uint32_t(md[18]) << 8) | md[19];
  const double max_wavs = double((1 << 27) - 1);
  const double percentage = double(low) * (100.0 / max_wavs);
  if (percentage < validation_percent) return "validation";
  if (percentage < validation_percent + testing_percent) return "testing";
  return "training";
}

std::vector<float> source_clip(const std::string& dir, const std::string& source, const MfccParams& p) {
  if (source.rfind(std::string(kSilence) + "/", 0) != 0)
    return fit_clip(read_audio(dir + "/" + source, p.sample_rate).samples, p.clip_samples);
  const SilenceSource s = parse_silence(source);
  if (s.file.empty()) return std::vector<float>(size_t(p.clip_samples), 0.0f);
  return silence_clip(read_audio(dir + "/" + kBackground + "/" + s.file, p.sample_rate).samples, s, p.clip_samples);
}

std::vector<float> augment_clip(const Dataset& d, size_t i, std::mt19937_64& rng) {
  const int n = d.front_end.clip_samples;
  const int16_t* c = d.clip(i);
  int32_t peak = c[0];
  for (int k = 1; k < n; ++k) peak = std::max<int32_t>(peak, c[k]);
  const float scale = peak > 0 ? 1.0f / float(peak) : 1.0f / 32768.0f;
  const int max_shift = int(std::lround(kAugmentShiftMs * d.front_end.sample_rate / 1000.0));
  const int shift = int(below(rng, uint64_t(2 * max_shift + 1))) - max_shift;
  std::vector<float> out(size_t(n), 0.0f);
  for (int k = 0; k < n; ++k) {
    const int src = k - shift;
    if (src >= 0 && src < n) out[size_t(k)] = float(c[src]) * scale;
  }
  if (unit(rng) < kAugmentNoiseProbability && !d.noise.empty()) {
    const std::vector<float>& noise = d.noise[size_t(below(rng, d.noise.size()))];
    const size_t span = noise.size() > size_t(n) ? noise.size() - size_t(n) : 0;
    const size_t offset = span ? size_t(below(rng, span + 1)) : 0;
    const float volume = float(unit(rng) * kAugmentNoiseVolume);
    for (size_t k = 0; k < out.size() && offset + k < noise.size(); ++k)
      out[k] = std::clamp(out[k] + volume * noise[offset + k], -1.0f, 1.0f);
  }
  return out;
}

bool is_speech_commands_dir(const std::string& dir) {
  if (data_detail::is_dir(dir + "/" + kBackground) || data_detail::is_file(dir + "/validation_list.txt") ||
      data_detail::is_file(dir + "/testing_list.txt"))
    return true;
  try {
    for (const std::string& sub : list_dir(dir, true))
      if (!list_dir(dir + "/" + sub, false).empty()) return true;
  } catch (const UserError&) {
  }
  return false;
}

DatasetSplits read_speech_commands(const std::string& dir, const AudioOptions& opt, std::vector<std::string>& notes) {
  const MfccParams& mp = opt.mfcc;
  mp.check();
  for (double s : {opt.silence_share, opt.unknown_share})
    if (!(s >= 0 && s <= 10))
      throw UserError("--silence-share and --unknown-share must be in [0, 10] (a share of the keyword samples; "
                      "the reference task uses 0.1)");
  if (!(opt.validation_percent >= 0 && opt.testing_percent >= 0 && opt.validation_percent + opt.testing_percent < 100))
    throw UserError("validation and testing percentages must be >= 0 and add up to less than 100");

  // Words: every sub-folder holding .wav files, except the background noise.
  std::map<std::string, std::vector<std::string>> words;  // word -> file names
  for (const std::string& sub : list_dir(dir, true)) {
    if (sub == kBackground) continue;
    auto files = list_dir(dir + "/" + sub, false);
    if (!files.empty()) words[sub] = std::move(files);
  }
  if (words.empty())
    throw UserError("audio dataset '" + dir + "' has no word folders with .wav files; the Speech Commands layout is "
                    "one folder per word (yes/, no/, ...) of 1 s 16 kHz WAV files, plus _background_noise_/");
  std::vector<std::string> keywords = opt.keywords.empty() ? default_keywords() : opt.keywords;
  std::set<std::string> seen;
  for (const std::string& k : keywords) {
    if (!seen.insert(k).second) throw UserError("--keywords names '" + k + "' twice");
    if (!words.count(k)) {
      std::string have;
      for (const auto& [w, f] : words) have += (have.empty() ? "" : ", ") + w;
      throw UserError("keyword '" + k + "' has no folder with .wav files in '" + dir + "'; its words are: " + have +
                      " (pick --keywords from them)");
    }
  }

  // Splits: the dataset's own lists, else the hash rule.
  const bool lists = data_detail::is_file(dir + "/validation_list.txt") || data_detail::is_file(dir + "/testing_list.txt");
  std::map<std::string, int> listed;  // relpath -> 1 validation, 2 testing
  if (lists) {
    size_t missing = 0;
    for (auto [file, which] : {std::pair<const char*, int>{"validation_list.txt", 1}, {"testing_list.txt", 2}}) {
      if (!data_detail::is_file(dir + "/" + file)) continue;
      for (const std::string& rel : read_list(dir + "/" + file)) {
        const size_t slash = rel.find('/');
        const std::string w = rel.substr(0, slash), name = slash == std::string::npos ? "" : rel.substr(slash + 1);
        auto it = words.find(w);
        if (it == words.end() || !std::binary_search(it->second.begin(), it->second.end(), name))
          ++missing;
        listed[rel] = which;
      }
    }
    notes.push_back("splits from the dataset's validation_list.txt / testing_list.txt" +
                    (missing ? " (" + std::to_string(missing) + " listed files are not in the folder)" : std::string()));
  } else {
    char buf[160];
    std::snprintf(buf, sizeof buf, "no validation_list.txt / testing_list.txt: splits by the SHA-1 rule of the "
                  "Speech Commands README (%g%% validation, %g%% testing)", opt.validation_percent, opt.testing_percent);
    notes.push_back(buf);
  }
  auto split_of = [&](const std::string& rel) {
    if (lists) {
      auto it = listed.find(rel);
      return it == listed.end() ? 0 : it->second;
    }
    const std::string s = speech_commands_split(rel, opt.validation_percent, opt.testing_percent);
    return s == "validation" ? 1 : s == "testing" ? 2 : 0;
  };

  // Samples per split: keywords, then a seeded share of the other words.
  std::vector<std::string> class_names = {kSilence, kUnknown};
  for (const std::string& k : keywords) class_names.push_back(k);
  std::map<std::string, int> label_of;
  for (size_t i = 0; i < keywords.size(); ++i) label_of[keywords[i]] = int(i) + 2;
  struct Item {
    std::string rel;  // "" for a silence clip
    int label;
  };
  std::vector<Item> items[3];
  std::vector<std::string> unknown[3];
  for (const auto& [w, files] : words)
    for (const std::string& f : files) {
      const std::string rel = w + "/" + f;
      const int s = split_of(rel);
      if (label_of.count(w))
        items[s].push_back({rel, label_of[w]});
      else
        unknown[s].push_back(rel);
    }
  const char* split_names[3] = {"train", "val", "test"};
  size_t silence_count[3];
  size_t short_unknown = 0;
  for (int s = 0; s < 3; ++s) {
    const size_t n_kw = items[s].size();
    std::mt19937_64 rng(opt.seed * 1000003ull + uint64_t(s) + 17);
    auto& u = unknown[s];
    for (size_t i = u.size(); i > 1; --i) std::swap(u[i - 1], u[below(rng, i)]);
    const size_t want = size_t(std::ceil(double(n_kw) * opt.unknown_share - 1e-9));
    if (want > u.size()) short_unknown += want - u.size();
    for (size_t i = 0; i < std::min(want, u.size()); ++i) items[s].push_back({u[i], 1});
    silence_count[s] = size_t(std::ceil(double(n_kw) * opt.silence_share - 1e-9));
  }
  if (short_unknown)
    notes.push_back(std::to_string(short_unknown) + " _unknown_ samples fewer than the share asks for: the folder has "
                    "too few clips of words other than the keywords");

  // Features of every word clip: from the cache when its file is unchanged, else computed.
  const size_t values = size_t(mp.frames()) * mp.coefficients;
  const std::string key = mp.key();
  const std::string cpath = cache_path(dir, key, notes);
  std::map<std::string, CacheEntry> cache = read_cache(cpath, key, values, notes);
  std::vector<std::string> needed;
  std::vector<FileStamp> stamps;
  for (int s = 0; s < 3; ++s)
    for (const Item& it : items[s]) needed.push_back(it.rel);
  std::sort(needed.begin(), needed.end());
  needed.erase(std::unique(needed.begin(), needed.end()), needed.end());
  std::vector<size_t> todo;
  for (size_t i = 0; i < needed.size(); ++i) {
    const FileStamp st = stamp(dir + "/" + needed[i]);
    stamps.push_back(st);
    auto it = cache.find(needed[i]);
    if (it == cache.end() || it->second.size != st.size || it->second.mtime != st.mtime) todo.push_back(i);
  }
  if (!todo.empty()) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<CacheEntry> fresh(todo.size());
    parallel_for(todo.size(), [&](size_t j) {
      thread_local std::unique_ptr<MfccFrontEnd> fe;
      if (!fe || fe->params().key() != key) fe = std::make_unique<MfccFrontEnd>(mp);
      const size_t i = todo[j];
      AudioClip c = read_audio(dir + "/" + needed[i], mp.sample_rate);
      CacheEntry& e = fresh[j];
      e.size = stamps[i].size;
      e.mtime = stamps[i].mtime;
      e.rate = c.source_rate;
      e.channels = c.source_channels;
      e.length = int32_t(c.samples.size());
      e.features.resize(values);
      fe->compute(fit_clip(c.samples, mp.clip_samples).data(), e.features.data());
    });
    for (size_t j = 0; j < todo.size(); ++j) cache[needed[todo[j]]] = std::move(fresh[j]);
    // Entries of files that are gone are dropped; the others stay for other seeds and keywords.
    for (auto it = cache.begin(); it != cache.end();) {
      const size_t slash = it->first.find('/');
      auto w = words.find(it->first.substr(0, slash));
      const bool present = w != words.end() && slash != std::string::npos &&
                           std::binary_search(w->second.begin(), w->second.end(), it->first.substr(slash + 1));
      it = present ? std::next(it) : cache.erase(it);
    }
    write_file_atomic(cpath, encode_cache(cache, key, values));
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    char rate[160];
    std::snprintf(rate, sizeof rate, " in %.2f s (%.0f clips/s on %u threads, decoding included)", secs,
                  double(todo.size()) / std::max(secs, 1e-9), std::max(1u, std::min<unsigned>(unsigned(todo.size()), std::thread::hardware_concurrency())));
    notes.push_back("features of " + std::to_string(todo.size()) + " clips computed" + rate + " (" +
                    std::to_string(needed.size() - todo.size()) + " from the cache '" + cpath + "')");
  } else {
    notes.push_back("features of all " + std::to_string(needed.size()) + " clips from the cache '" + cpath + "'");
  }
  size_t resampled = 0, mixed = 0, padded = 0, cut = 0;
  for (const std::string& rel : needed) {
    const CacheEntry& e = cache.at(rel);
    resampled += e.rate != mp.sample_rate;
    mixed += e.channels > 1;
    padded += e.length < mp.clip_samples;
    cut += e.length > mp.clip_samples;
  }
  if (resampled) notes.push_back(std::to_string(resampled) + " clips resampled to " + std::to_string(mp.sample_rate) + " Hz");
  if (mixed) notes.push_back(std::to_string(mixed) + " clips with several channels mixed down to mono");
  if (padded) notes.push_back(std::to_string(padded) + " clips shorter than " + std::to_string(mp.clip_samples) +
                              " samples padded with silence at the end");
  if (cut) notes.push_back(std::to_string(cut) + " clips longer than " + std::to_string(mp.clip_samples) +
                           " samples cut to their first " + std::to_string(mp.clip_samples));

  // _silence_: 1 s windows of the background noise at a random volume in [0, 1) (the
  // reference task's silence), seeded per split.
  std::vector<std::pair<std::string, std::vector<float>>> noise;
  if (data_detail::is_dir(dir + "/" + kBackground))
    for (const std::string& f : list_dir(dir + "/" + kBackground, false))
      noise.push_back({f, read_audio(dir + "/" + kBackground + "/" + f, mp.sample_rate).samples});
  const size_t total_silence = silence_count[0] + silence_count[1] + silence_count[2];
  if (noise.empty() && total_silence)
    notes.push_back("no _background_noise_ folder with .wav files: _silence_ samples are digital silence");

  DatasetSplits out;
  Dataset* parts[3] = {&out.train, &out.val, &out.test};
  const std::string base = fs::path(dir).filename().string().empty() ? fs::path(dir).parent_path().filename().string()
                                                                      : fs::path(dir).filename().string();
  for (int s = 0; s < 3; ++s) {
    Dataset& d = *parts[s];
    d.name = (base.empty() ? "audio" : base) + "/" + split_names[s];
    d.height = mp.frames();
    d.width = mp.coefficients;
    d.channels = 1;
    d.num_classes = int(class_names.size());
    d.class_names = class_names;
    d.float_samples = true;
    d.audio = true;
    d.front_end = mp;
    const size_t n = items[s].size() + silence_count[s];
    d.features.resize(n * values);
    d.labels.resize(n);
    d.sources.resize(n);
    size_t k = 0;
    for (const Item& it : items[s]) {
      std::copy_n(cache.at(it.rel).features.data(), values, d.features.data() + k * values);
      d.labels[k] = it.label;
      d.sources[k] = it.rel;
      ++k;
    }
    std::mt19937_64 rng(opt.seed * 1000003ull + uint64_t(s) + 101);
    std::vector<size_t> slots;
    for (size_t i = 0; i < silence_count[s]; ++i, ++k) {
      d.labels[k] = 0;
      if (noise.empty()) {
        d.sources[k] = std::string(kSilence) + "/zeros";
      } else {
        const size_t f = size_t(below(rng, noise.size()));
        const auto& clip = noise[f].second;
        const size_t span = clip.size() > size_t(mp.clip_samples) ? clip.size() - mp.clip_samples : 0;
        const size_t offset = span ? size_t(below(rng, span + 1)) : 0;
        const double volume = unit(rng);
        char vol[32];
        std::snprintf(vol, sizeof vol, "%.6f", volume);
        d.sources[k] = std::string(kSilence) + "/" + noise[f].first + "@" + std::to_string(offset) + "*" + vol;
      }
      slots.push_back(k);
    }
    if (s == 0 && opt.keep_audio) {
      // The training clips themselves, for augmentation (Dataset::clips): decoded every load.
      d.clips.resize(n * size_t(mp.clip_samples));
      for (const auto& [name, samples] : noise) d.noise.push_back(samples);
      parallel_for(n, [&](size_t k2) {
        std::vector<float> clip;
        if (d.labels[k2] != 0) {
          clip = fit_clip(read_audio(dir + "/" + d.sources[k2], mp.sample_rate).samples, mp.clip_samples);
        } else {
          const SilenceSource src = parse_silence(d.sources[k2]);
          clip.assign(size_t(mp.clip_samples), 0.0f);
          for (const auto& [name, samples] : noise)
            if (!src.file.empty() && name == src.file) clip = silence_clip(samples, src, mp.clip_samples);
        }
        int16_t* dst = d.clips.data() + k2 * size_t(mp.clip_samples);
        for (size_t i = 0; i < clip.size(); ++i)
          dst[i] = int16_t(std::lround(std::clamp(clip[i] * 32768.0f, -32768.0f, 32767.0f)));
      });
      notes.push_back("kept the " + std::to_string(n) + " training clips for audio augmentation (" +
                      std::to_string(d.clips.size() * 2 / (1 << 20)) + " MiB)");
    }
    // The silence clips' features (cheap: about 10% of the samples), computed every time.
    parallel_for(slots.size(), [&](size_t j) {
      thread_local std::unique_ptr<MfccFrontEnd> fe;
      if (!fe || fe->params().key() != key) fe = std::make_unique<MfccFrontEnd>(mp);
      const size_t k2 = slots[j];
      // The noise files are decoded once above (source_clip would read them per sample).
      const SilenceSource src = parse_silence(d.sources[k2]);
      std::vector<float> clip(size_t(mp.clip_samples), 0.0f);
      for (const auto& [name, samples] : noise)
        if (!src.file.empty() && name == src.file) clip = silence_clip(samples, src, mp.clip_samples);
      fe->compute(clip.data(), d.features.data() + k2 * values);
    });
  }
  char buf[200];
  std::snprintf(buf, sizeof buf, "Speech Commands task: %zu keywords + _silence_ + _unknown_; %zu / %zu / %zu samples "
                "(train / val / test), silence share %g, unknown share %g", keywords.size(), out.train.size(),
                out.val.size(), out.test.size(), opt.silence_share, opt.unknown_share);
  notes.push_back(buf);
  return out;
}

}  // namespace mcuprune
