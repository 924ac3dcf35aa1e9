// Progress bar drawing (stderr).
#include "nn/progress.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include "graph/graph.h"

namespace mcuprune {

std::string format_duration(double seconds) {
  if (seconds < 0 || seconds > 1e7) return "?";
  long s = long(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

EpochProgress::EpochProgress(int epoch, int epochs, int64_t total_samples, bool quiet)
    : epoch_(epoch), epochs_(epochs), total_(total_samples), quiet_(quiet),
      tty_(::isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

double EpochProgress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void EpochProgress::update(int64_t done, double loss, double acc) {
  if (quiet_ || !tty_) return;
  auto now = std::chrono::steady_clock::now();
  if (done < total_ && now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  double t = elapsed_seconds();
  double rate = t > 0 ? done / t : 0;
  double eta = rate > 0 ? (total_ - done) / rate : -1;
  const int width = 24;
  int filled = total_ > 0 ? int(width * done / total_) : width;
  std::string bar(size_t(filled), '#');
  bar += std::string(size_t(width - filled), '.');
  std::fprintf(stderr, "\r\033[Kepoch %d/%d [%s] %3d%% %lld/%lld  %.0f samples/s  ETA %s  loss %.4f  acc %.4f",
               epoch_, epochs_, bar.c_str(), total_ ? int(100 * done / total_) : 100,
               (long long)done, (long long)total_, rate, format_duration(eta).c_str(), loss, acc);
  std::fflush(stderr);
}

void EpochProgress::finish(const std::string& summary) {
  if (quiet_) return;
  if (tty_) std::fprintf(stderr, "\r\033[K");
  std::fprintf(stderr, "%s\n", summary.c_str());
  std::fflush(stderr);
}

JsonLinesLog::JsonLinesLog(const std::string& path) : path_(path) {
  if (path.empty()) return;
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw UserError("cannot open --log-json '" + path + "' for writing: " + std::strerror(errno) +
                    "; give a file path you can write to");
}

JsonLinesLog::~JsonLinesLog() {
  if (fd_ >= 0) ::close(fd_);
}

void JsonLinesLog::append(const std::string& json_line) {
  if (fd_ < 0) return;
  const std::string text = json_line + "\n";
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t w = ::write(fd_, text.data() + done, text.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0)
      throw UserError("cannot write --log-json '" + path_ + "': " + std::strerror(w < 0 ? errno : ENOSPC) +
                      "; free space or give another file (the run's checkpoint is kept: continue with --resume)");
    done += size_t(w);
  }
}

}  // namespace mcuprune
