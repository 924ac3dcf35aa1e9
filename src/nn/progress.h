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

std::string format_duration(double seconds);

// --log-json: one JSON object per line, appended to a file and flushed at every line. A
// write that fails (disk full, /dev/full) is an error naming the file, never a silent loss.
class JsonLinesLog {
 public:
  explicit JsonLinesLog(const std::string& path);  // "": no log
  ~JsonLinesLog();
  JsonLinesLog(const JsonLinesLog&) = delete;
  JsonLinesLog& operator=(const JsonLinesLog&) = delete;
  void append(const std::string& json_line);

 private:
  std::string path_;
  int fd_ = -1;
};  // "1:05" or "1:02:03"

}  // namespace mcuprune
