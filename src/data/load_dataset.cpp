// load_dataset: turns a dataset name or path into train/val/test splits. Known names map
// to standard directories; a path is recognised by its contents (IDX files, CIFAR-10
// batches or train/ + test/ image folders).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "data/audio.h"
#include "data/dataset.h"
#include "data/file_io.h"
#include "data/npz.h"
#include "graph/graph.h"

namespace fs = std::filesystem;

namespace mcuprune {

namespace {

const std::vector<std::string> kFashionNames = {"T-shirt/top", "Trouser", "Pullover",
                                                "Dress",       "Coat",    "Sandal",
                                                "Shirt",       "Sneaker", "Bag",
                                                "Ankle boot"};

const char* const kSystemDataDir = "/usr/share/datasets";

// The standard file names, then the variants seen in the wild (MNIST mirrors use
// "train-images.idx3-ubyte"; some use "test-" for the t10k files).
std::vector<std::string> idx_candidates(const std::vector<std::string>& prefixes,
                                        const std::string& kind, const std::string& idx) {
  std::vector<std::string> out;
  for (const std::string& p : prefixes)
    for (const char* sep : {"-", "."})
      for (const char* gz : {".gz", ""})
        out.push_back(p + "-" + kind + sep + idx + "-ubyte" + gz);
  return out;
}

// First candidate that exists in `dir`, or the canonical name (the first candidate) so
// the reader's "not found" message names the file we expected.
std::string find_in(const std::string& dir, const std::vector<std::string>& names) {
  for (const std::string& n : names)
    if (data_detail::is_file(dir + "/" + n)) return dir + "/" + n;
  return dir + "/" + names.front();
}

bool has_idx_layout(const std::string& dir) {
  for (const std::string& n : idx_candidates({"train"}, "images", "idx3"))
    if (data_detail::is_file(dir + "/" + n)) return true;
  return false;
}

bool has_cifar_layout(const std::string& dir) {
  return data_detail::is_file(dir + "/data_batch_1.bin") ||
         data_detail::is_file(dir + "/cifar-10-batches-bin/data_batch_1.bin");
}

bool has_folder_layout(const std::string& dir) {
  return data_detail::is_dir(dir + "/train") && data_detail::is_dir(dir + "/test");
}

std::string layouts_help() {
  return "a dataset is a known name (" +
         [] {
           std::string s;
           for (const auto& n : known_dataset_names()) s += (s.empty() ? "" : ", ") + n;
           return s;
         }() +
         ") or a directory holding one of: (1) IDX files train-images-idx3-ubyte[.gz], "
         "train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], "
         "t10k-labels-idx1-ubyte[.gz]; (2) CIFAR-10 binary batches data_batch_1.bin .. "
         "data_batch_5.bin and test_batch.bin (or a cifar-10-batches-bin sub-folder); "
         "(3) image folders train/<class>/<image> and test/<class>/<image>; (4) a Speech Commands "
         "audio folder: <word>/<clip>.wav and _background_noise_/; or a NumPy .npz file with "
         "x_train, y_train, x_test, y_test";
}

void load_idx_dir(const std::string& dir, const std::string& base,
                  const std::vector<std::string>& class_names, DatasetSplits& s,
                  Dataset& train) {
  train = read_idx(find_in(dir, idx_candidates({"train"}, "images", "idx3")),
                   find_in(dir, idx_candidates({"train"}, "labels", "idx1")));
  s.test = read_idx(find_in(dir, idx_candidates({"t10k", "test"}, "images", "idx3")),
                    find_in(dir, idx_candidates({"t10k", "test"}, "labels", "idx1")));
  if (train.height != s.test.height || train.width != s.test.width)
    throw UserError("IDX dataset '" + dir + "': training images are " +
                    std::to_string(train.height) + "x" + std::to_string(train.width) +
                    " but test images are " + std::to_string(s.test.height) + "x" +
                    std::to_string(s.test.width) + "; the files come from different datasets");
  train.class_names = s.test.class_names = class_names;
  train.name = base + "/train";
  s.test.name = base + "/test";
}

}  // namespace

std::vector<std::string> known_dataset_names() { return {"fashion-mnist", "mnist"}; }

DatasetSplits load_dataset(const std::string& name_or_path, const LoadOptions& opt) {
  if (opt.limit_train < 0 || opt.limit_test < 0)
    throw UserError("dataset limits must be >= 0 (0 = no limit); got limit_train " +
                    std::to_string(opt.limit_train) + ", limit_test " +
                    std::to_string(opt.limit_test));

  DatasetSplits s;
  Dataset train;
  bool has_val = false;  // the dataset brings its own validation split
  const auto known = known_dataset_names();
  if (std::find(known.begin(), known.end(), name_or_path) != known.end()) {
    // $MCUPRUNE_DATA first: an explicit setting should win over the system copy.
    std::vector<std::string> tried;
    if (const char* env = std::getenv("MCUPRUNE_DATA"); env && *env)
      tried.push_back(std::string(env) + "/" + name_or_path);
    tried.push_back(std::string(kSystemDataDir) + "/" + name_or_path);
    std::string dir;
    for (const std::string& t : tried)
      if (data_detail::is_dir(t)) {
        dir = t;
        break;
      }
    if (dir.empty()) {
      std::string list;
      for (const std::string& t : tried) list += (list.empty() ? "" : ", ") + t;
      throw UserError("dataset '" + name_or_path + "' not found: looked in " + list +
                      "; put its four IDX files (train-images-idx3-ubyte.gz, "
                      "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
                      "t10k-labels-idx1-ubyte.gz) in $MCUPRUNE_DATA/" + name_or_path +
                      " or pass that directory's path");
    }
    std::vector<std::string> names;
    if (name_or_path == "fashion-mnist")
      names = kFashionNames;
    else
      for (int c = 0; c < 10; ++c) names.push_back(std::to_string(c));
    load_idx_dir(dir, name_or_path, names, s, train);
  } else if (name_or_path.size() > 4 && name_or_path.substr(name_or_path.size() - 4) == ".npz" &&
             !data_detail::is_dir(name_or_path)) {
    if (!data_detail::is_file(name_or_path))
      throw UserError(".npz dataset '" + name_or_path + "' not found");
    DatasetSplits n = read_npz(name_or_path, s.notes);
    train = std::move(n.train);
    s.test = std::move(n.test);
    has_val = n.val.size() > 0;
    if (has_val) s.val = std::move(n.val);
  } else {
    const std::string dir = name_or_path;
    if (!data_detail::is_dir(dir))
      throw UserError("dataset '" + name_or_path + "' is neither a known name nor an " +
                      "existing directory; " + layouts_help());
    std::string base = fs::path(dir).filename().string();
    if (base.empty()) base = fs::path(dir).parent_path().filename().string();  // "x/"
    if (base.empty() || base == "." || base == "..") base = "dataset";

    if (has_idx_layout(dir)) {
      // A copy of Fashion-MNIST elsewhere should still print clothing names.
      std::vector<std::string> names;
      if (base.find("fashion") != std::string::npos)
        names = kFashionNames;
      else
        for (int c = 0; c < 10; ++c) names.push_back(std::to_string(c));
      load_idx_dir(dir, base, names, s, train);
    } else if (has_cifar_layout(dir)) {
      train = read_cifar10(dir, true);
      s.test = read_cifar10(dir, false);
      train.name = base + "/train";
      s.test.name = base + "/test";
    } else if (has_folder_layout(dir)) {
      train = read_image_folder(dir + "/train", opt.image);
      s.test = read_image_folder(dir + "/test", opt.image);
      if (train.class_names != s.test.class_names)
        throw UserError("image folder dataset '" + dir + "': train/ has " +
                        std::to_string(train.num_classes) + " class folders and test/ has " +
                        std::to_string(s.test.num_classes) +
                        ", or their names differ; both must hold the same class folders");
      if (train.height != s.test.height || train.width != s.test.width ||
          train.channels != s.test.channels)
        throw UserError("image folder dataset '" + dir + "': train images are " +
                        std::to_string(train.height) + "x" + std::to_string(train.width) +
                        "x" + std::to_string(train.channels) + " but test images are " +
                        std::to_string(s.test.height) + "x" + std::to_string(s.test.width) +
                        "x" + std::to_string(s.test.channels) +
                        " (height x width x channels); set a height, width and channel " +
                        "count to resize both to one shape");
      train.name = base + "/train";
      s.test.name = base + "/test";
    } else if (is_speech_commands_dir(dir)) {
      AudioOptions ao;
      ao.keywords = opt.keywords;
      ao.silence_share = opt.silence_share;
      ao.unknown_share = opt.unknown_share;
      ao.seed = opt.seed;
      ao.keep_audio = opt.keep_audio;
      DatasetSplits a = read_speech_commands(dir, ao, s.notes);
      train = std::move(a.train);
      s.val = std::move(a.val);
      s.test = std::move(a.test);
      has_val = true;
    } else {
      throw UserError("dataset directory '" + dir + "' has no recognised layout; " +
                      layouts_help());
    }
  }
  if (!opt.keywords.empty() && !(s.test.class_names.size() > 2 && s.test.class_names[0] == "_silence_"))
    throw UserError("keywords (--keywords, or those of a model trained on audio) apply to audio datasets (a Speech "
                    "Commands folder), not to '" + name_or_path + "'; leave --keywords out, or give the audio dataset");
  if (!opt.quiet)
    for (const std::string& n : s.notes) std::fprintf(stderr, "note: %s\n", n.c_str());

  // Every command reports test accuracy: a dataset without test samples would make one up.
  if (s.test.size() == 0)
    throw UserError("dataset '" + name_or_path + "' has no test samples (its test split, '" + s.test.name +
                    "', is empty); mcuprune measures accuracy on it: add test samples");
  if (train.size() == 0)
    throw UserError("dataset '" + name_or_path + "' has no training samples (its training split, '" + train.name +
                    "', is empty)");
  if (has_val) {
    // The dataset's own validation split; the training part is shuffled (seeded) like a
    // carved one, so that a limit takes a random subset rather than the first class.
    DatasetSplits parts = split_validation(train, 0.0, opt.seed);
    s.train = std::move(parts.train);
  } else {
    DatasetSplits parts = split_validation(train, opt.val_fraction, opt.seed);
    s.train = std::move(parts.train);
    s.val = std::move(parts.val);
  }
  // Limits come after the split so the validation set is the same with or without them.
  if (opt.limit_train > 0) s.train.truncate(size_t(opt.limit_train));
  if (opt.limit_test > 0) s.test.truncate(size_t(opt.limit_test));
  return s;
}

}  // namespace mcuprune
