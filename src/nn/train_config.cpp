// JSON forms of the trainer's configuration and results (stable keys, see
// docs/report-format.md). No LibTorch here.
#include <cmath>

#include "nn/device.h"
#include "nn/trainer.h"

namespace mcuprune {

using nlohmann::json;

json train_config_to_json(const TrainConfig& c) {
  return {{"epochs", c.epochs},
          {"batch_size", c.batch_size},
          {"optimizer", c.optimizer},
          {"lr", c.lr},
          {"momentum", c.momentum},
          {"weight_decay", c.weight_decay},
          {"schedule", c.schedule},
          {"step_size", c.step_size},
          {"step_gamma", c.step_gamma},
          {"seed", c.seed},
          {"threads", c.threads},
          {"device", c.device},
          {"augment_crop_padding", c.augmentation.crop_padding},
          {"augment_flip", c.augmentation.horizontal_flip},
          {"augment_audio", c.augmentation.audio},
          {"fake_quant", c.fake_quant},
          {"dataset", c.dataset},
          {"val_fraction", c.load.val_fraction},
          {"limit_train", c.load.limit_train},
          {"limit_test", c.load.limit_test},
          {"keywords", c.load.keywords},
          {"silence_share", c.load.silence_share},
          {"unknown_share", c.load.unknown_share},
          {"image_shape", {c.load.image.height, c.load.image.width, c.load.image.channels}}};
}

TrainConfig train_config_from_json(const json& j, const std::string& where) {
  TrainConfig c;
  const std::string bad = "'" + where + "': bad training configuration: ";
  // Each value with its own type: a seed of -1 or 1.7, or 2.9 epochs, is damage, not a value
  // to wrap or truncate.
  auto whole = [&](const char* key, int64_t lo, int64_t hi) {
    const json& v = j.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi || (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(hi)))
      throw UserError(bad + "\"" + key + "\" must be a whole number in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                      "], got " + v.dump());
    return v.get<int64_t>();
  };
  auto number = [&](const char* key) {
    const json& v = j.at(key);
    if (!v.is_number()) throw UserError(bad + "\"" + key + "\" must be a number, got " + v.dump());
    return v.get<double>();
  };
  constexpr int64_t kInt = 2147483647;
  try {
    if (!j.is_object()) throw UserError(bad + "expected an object");
    c.epochs = int(whole("epochs", 1, kInt));
    c.batch_size = int(whole("batch_size", 2, kInt));
    c.optimizer = j.at("optimizer");
    c.lr = number("lr");
    c.momentum = number("momentum");
    c.weight_decay = number("weight_decay");
    c.schedule = j.at("schedule");
    c.step_size = int(whole("step_size", 1, kInt));
    c.step_gamma = number("step_gamma");
    const json& seed = j.at("seed");
    if (!seed.is_number_unsigned()) throw UserError(bad + "\"seed\" must be a whole number >= 0, got " + seed.dump());
    c.seed = seed.get<uint64_t>();
    c.threads = int(whole("threads", 0, 256));
    c.device = j.value("device", std::string("auto"));  // absent before --device
    c.augmentation.crop_padding = int(whole("augment_crop_padding", 0, kInt));
    c.augmentation.horizontal_flip = j.at("augment_flip").get<bool>();
    c.augmentation.audio = j.value("augment_audio", false);  // absent before audio datasets existed
    c.load.keep_audio = c.augmentation.audio;
    c.fake_quant = j.value("fake_quant", false);  // absent before quantisation-aware training existed
    c.dataset = j.at("dataset");
    c.load.val_fraction = number("val_fraction");
    c.load.seed = c.seed;
    c.load.limit_train = int(whole("limit_train", 0, kInt));
    c.load.limit_test = int(whole("limit_test", 0, kInt));
    // Absent before audio datasets existed.
    if (j.contains("keywords")) c.load.keywords = j.at("keywords").get<std::vector<std::string>>();
    if (j.contains("silence_share")) c.load.silence_share = number("silence_share");
    if (j.contains("unknown_share")) c.load.unknown_share = number("unknown_share");
    const json& shape = j.at("image_shape");
    if (!shape.is_array() || shape.size() != 3) throw UserError(bad + "\"image_shape\" must be [height, width, channels]");
    for (const json& d : shape)
      if (!d.is_number_integer() || d.get<int64_t>() < 0 || d.get<int64_t>() > 65535)
        throw UserError(bad + "\"image_shape\" must hold whole numbers in [0, 65535], got " + shape.dump());
    c.load.image = {shape[0].get<int>(), shape[1].get<int>(), shape[2].get<int>()};
  } catch (const json::exception& e) {
    throw UserError(bad + e.what());
  }
  return c;
}

void validate_train_config(const TrainConfig& c) {
  auto bad = [](const std::string& m) { throw UserError(m); };
  if (c.epochs < 1) bad("--epochs must be >= 1, got " + std::to_string(c.epochs));
  if (c.threads < 0 || c.threads > 256) bad("--threads must be in [0, 256] (0 = all cores), got " + std::to_string(c.threads));
  if (c.batch_size < 2) bad("--batch-size must be >= 2 (BatchNorm needs 2 samples), got " + std::to_string(c.batch_size));
  if (c.optimizer != "adam" && c.optimizer != "sgd")
    bad("--optimizer must be adam or sgd, got '" + c.optimizer + "'");
  const char* lr_option = c.fake_quant ? "--qat-lr" : "--lr";
  if (!(c.lr > 0) || !std::isfinite(c.lr)) bad(std::string(lr_option) + " must be a finite number > 0 (e.g. 1e-3)");
  if (!(c.momentum >= 0 && c.momentum < 1)) bad("--momentum must be a number in [0, 1) (e.g. 0.9)");
  if (!(c.weight_decay >= 0 && c.weight_decay <= 1)) bad("--weight-decay must be a number in [0, 1] (e.g. 5e-4)");
  if (c.schedule != "cosine" && c.schedule != "step" && c.schedule != "constant")
    bad("--schedule must be cosine, step or constant, got '" + c.schedule + "'");
  if (c.step_size < 1) bad("--step-size must be >= 1");
  if (!(c.step_gamma > 0 && c.step_gamma <= 1)) bad("--step-gamma must be in (0, 1]");
  if (c.threads < 0) bad("--threads must be >= 0 (0 = all cores)");
  check_device_spec(c.device);
  if (c.augmentation.crop_padding < 0) bad("--augment-crop must be >= 0");
  if (c.load.limit_train < 0) bad("--limit-train must be >= 0 (0: every sample)");
  if (c.load.limit_test < 0) bad("--limit-test must be >= 0 (0: every sample)");
  if (!(c.load.val_fraction >= 0 && c.load.val_fraction < 1)) bad("--val-fraction must be in [0, 1)");
}

json eval_result_to_json(const EvalResult& r) {
  return {{"samples", r.samples}, {"loss", r.loss}, {"accuracy", r.accuracy},
          {"confusion_matrix", r.confusion}};
}

json epoch_stats_to_json(const EpochStats& e) {
  return {{"epoch", e.epoch},
          {"lr", e.lr},
          {"train_loss", e.train_loss},
          {"train_accuracy", e.train_accuracy},
          {"val_loss", e.val_loss},
          {"val_accuracy", e.val_accuracy},
          {"seconds", e.seconds},
          {"samples_per_second", e.samples_per_second}};
}

EpochStats epoch_stats_from_json(const json& j) {
  EpochStats e;
  e.epoch = j.at("epoch");
  e.lr = j.at("lr");
  e.train_loss = j.at("train_loss");
  e.train_accuracy = j.at("train_accuracy");
  e.val_loss = j.at("val_loss");
  e.val_accuracy = j.at("val_accuracy");
  e.seconds = j.at("seconds");
  e.samples_per_second = j.at("samples_per_second");
  return e;
}

}  // namespace mcuprune
