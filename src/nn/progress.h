// Terminal progress for training: one bar per epoch (redrawn in place on a terminal,
// a single summary line otherwise) with samples/s, ETA, running loss and accuracy.
#pragma once

#include <chrono>
#include <string>

namespace mcuprune {

class EpochProgress {
 public:
  EpochProgress(int epoch, int epochs, int64_t total_samples, bool quiet);
  void update(int64_t samples_done, double running_loss, double running_accuracy);
  // Ends the bar; `summary` is printed as the epoch's line.
  void finish(const std::string& summary);
  double elapsed_seconds() const;

 private:
  int epoch_, epochs_;
  int64_t total_;
  bool quiet_, tty_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

std::string format_duration(double seconds);  // "1:05" or "1:02:03"

}  // namespace mcuprune
