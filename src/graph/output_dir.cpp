// Output directories: checks, the lock, and replacement by staging and swap (output_dir.h).
#include "graph/output_dir.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "graph/graph.h"
#include "graph/io.h"

namespace mcuprune {

namespace fs = std::filesystem;

namespace {

constexpr const char* kLockFile = ".mcuprune.lock";
// Inside a staging directory while it holds a replacement that has not been swapped in.
constexpr const char* kStagingMarker = ".mcuprune-staging";

std::string in_quotes(const std::string& s) { return "'" + s + "'"; }

// What a path that is not a directory is, for messages.
std::string kind_of(const fs::file_status& st) {
  switch (st.type()) {
    case fs::file_type::regular: return "a file";
    case fs::file_type::character:
    case fs::file_type::block: return "a device";
    case fs::file_type::fifo: return "a named pipe";
    case fs::file_type::socket: return "a socket";
    default: return "not a directory";
  }
}

// The nearest existing ancestor of p that is not a directory ("" when there is none).
std::string file_ancestor(const fs::path& p) {
  std::error_code ec;
  for (fs::path a = p.parent_path(); !a.empty() && a != a.root_path(); a = a.parent_path()) {
    const fs::file_status st = fs::status(a, ec);
    if (fs::exists(st)) return fs::is_directory(st) ? "" : a.string();
  }
  return "";
}

// Opens and locks DIR/.mcuprune.lock; returns the descriptor, or -1 with `holder` set to
// what the lock file says about the process holding it. Throws when the file cannot be made.
int try_lock(const std::string& dir, const std::string& option, const std::string& shown, std::string& holder) {
  const std::string file = (fs::path(dir) / kLockFile).string();
  for (int attempt = 0; attempt < 20; ++attempt) {
    const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
      throw UserError("cannot write in " + option + " " + in_quotes(shown) + ": " + std::strerror(errno) +
                      "; give a directory you can write files in");
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int e = errno;
      char buf[256] = {0};
      const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
      ::close(fd);
      if (e != EWOULDBLOCK)
        throw UserError("cannot lock " + option + " " + in_quotes(shown) + ": " + std::strerror(e) +
                        "; give a directory on a local file system");
      holder = n > 0 ? std::string(buf, size_t(n)) : std::string();
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
      return -1;
    }
    // The file may have been removed (a directory swapped away and deleted) between open and
    // flock: the lock only counts if the path still names the file we locked.
    struct stat a {}, b {};
    if (::fstat(fd, &a) == 0 && ::stat(file.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
      return fd;
    ::close(fd);
  }
  throw UserError("cannot lock " + option + " " + in_quotes(shown) + ": it keeps being replaced by another process");
}

void write_holder(int fd, const std::string& command) {
  const std::time_t now = std::time(nullptr);
  char when[64] = {0};
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
  const std::string text = "pid " + std::to_string(::getpid()) + ", mcuprune " + command + ", started " + when + "\n";
  if (::ftruncate(fd, 0) == 0 && ::pwrite(fd, text.data(), text.size(), 0) < 0) {
    // The lock holds without the note; a second process then cannot name this one.
  }
}

[[noreturn]] void in_use(const std::string& option, const std::string& shown, const std::string& holder) {
  throw UserError(option + " " + in_quotes(shown) + " is in use by another mcuprune process (" +
                  (holder.empty() ? std::string("it is starting") : holder) +
                  "); wait for it to finish or stop it, or give another directory");
}

}  // namespace

bool is_deploy_dir_entry(const std::string& name) {
  for (const char* n : {"model", "app", "inputs.bin", "outputs.bin", "op_ticks.bin", "link.ld", "model.o",
                        "firmware.elf", "model_host", "deploy_report.json", "report.html"})
    if (name == n) return true;
  return false;
}

bool is_checkpoint_file(const std::string& name) {
  auto has = [&](const char* prefix, const char* suffix) {
    const std::string p(prefix), s(suffix);
    return name.size() > p.size() + s.size() && name.rfind(p, 0) == 0 &&
           name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  return name == "model.json" || name == "original.json" || name == "state.json" || name == "prune_state.json" ||
         has("weights-", ".bin") || has("optimizer-", ".pt") || has("model-", ".json");
}

namespace {
// Every entry of directory `dir` passes `ours` (its own temporaries included).
bool all_entries(const fs::path& dir, bool (*ours)(const std::string&)) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!ours(name) && !is_stale_temporary(name, ours) && name != kLockFile) return false;
  }
  return !ec;
}
}  // namespace

bool is_model_dir_entry(const std::string& name) {
  static const char* const kNames[] = {"model.json", "weights.bin", "report.json", "quant_report.json",
                                       "eval_report.json", "deploy_report.json", "report.html"};
  for (const char* n : kNames)
    if (name == n) return true;
  return name == "checkpoint" || is_deploy_work_dir_name(name);
}

bool is_deploy_work_dir_name(const std::string& name) {
  // deploy's default work directories: deploy-<board>-qemu, deploy-<board>-host
  auto ends = [&](const std::string& s) {
    return name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  return name.rfind("deploy-", 0) == 0 && (ends("-qemu") || ends("-host"));
}

bool model_dir_entry_is_ours(const std::string& dir, const std::string& name) {
  if (!is_model_dir_entry(name)) return false;
  const fs::path p = fs::path(dir) / name;
  std::error_code ec;
  if (name == "checkpoint") return !fs::is_directory(p, ec) ? false : all_entries(p, is_checkpoint_file);
  if (is_deploy_work_dir_name(name)) return fs::is_directory(p, ec) && all_entries(p, is_deploy_dir_entry);
  return fs::is_regular_file(fs::symlink_status(p, ec));
}

OutputDir::OutputDir(const std::string& path, const std::string& option, const std::string& command)
    : path_(path), option_(option), command_(command) {
  if (path.empty()) throw UserError(option + " needs a directory name");
  std::error_code ec;
  const fs::file_status link = fs::symlink_status(path, ec);
  if (fs::is_symlink(link)) {
    const fs::file_status target = fs::status(path, ec);
    if (!fs::exists(target))
      throw UserError(option + " " + in_quotes(path) + " is a symbolic link to a missing directory; create its "
                      "target or give another directory");
    if (!fs::is_directory(target))
      throw UserError(option + " " + in_quotes(path) + " is a symbolic link to " + kind_of(target) +
                      ", not a directory; give a new or empty directory");
    path_ = fs::canonical(path, ec).string();  // the real directory: a swap must not replace the link
  } else if (fs::exists(link)) {
    if (!fs::is_directory(link))
      throw UserError(option + " " + in_quotes(path) + " is " + kind_of(link) + ", not a directory; give a new or "
                      "empty directory");
  } else {
    const std::string file = file_ancestor(fs::absolute(path, ec));
    if (!file.empty())
      throw UserError(option + " " + in_quotes(path) + " cannot be created: " + in_quotes(file) + " is a file, not a "
                      "directory; give another directory");
    fs::create_directories(path, ec);
    if (ec)
      throw UserError("cannot create " + option + " " + in_quotes(path) + ": " + ec.message() +
                      "; give a directory you can write files in");
    created_ = true;
  }
  fs::path abs = fs::absolute(path_, ec).lexically_normal();
  if (!abs.has_filename()) abs = abs.parent_path();  // "runs/x/" -> "runs/x"
  if (abs.has_filename() && abs.filename() != "." && abs.filename() != "..")
    staging_ = (abs.parent_path() / ("." + abs.filename().string() + ".mcuprune-new")).string();
  std::string holder;
  lock_fd_ = try_lock(path_, option_, path, holder);
  if (lock_fd_ < 0) in_use(option_, path, holder);
  write_holder(lock_fd_, command_);
  finish_interrupted_swap();
}

OutputDir::~OutputDir() {
  std::error_code ec;
  // A replacement that failed before writing anything is not left behind either (one that
  // wrote a checkpoint is kept for --resume).
  if (staging_active_) {
    bool wrote = false;
    for (const auto& e : fs::directory_iterator(staging_, ec)) {
      const std::string name = e.path().filename().string();
      wrote = wrote || (name != kLockFile && name != kStagingMarker && !is_stale_temporary(name, is_model_dir_entry));
    }
    if (!wrote) remove_tree(staging_, ec);
  }
  // A directory made for a command that failed before writing anything is not left behind.
  if (created_ && !staging_active_ && entries().empty()) {
    fs::remove((fs::path(path_) / kLockFile), ec);
    fs::remove(path_, ec);
  }
  if (staging_lock_fd_ >= 0) ::close(staging_lock_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void OutputDir::finish_interrupted_swap() {
  std::error_code ec;
  // A kill between the swap and the end of commit(): the directory holds the new results
  // with the staging marker still in it, and the staging path the old contents.
  if (fs::exists(fs::path(path_) / kStagingMarker, ec)) fs::remove(fs::path(path_) / kStagingMarker, ec);
  if (!staging_.empty() && fs::is_directory(staging_, ec) && !fs::exists(fs::path(staging_) / kStagingMarker, ec)) {
    std::string holder;
    const int fd = try_lock(staging_, option_, staging_, holder);
    if (fd < 0) in_use(option_, staging_, holder);
    remove_tree(staging_, ec);
    ::close(fd);
  }
}

std::vector<std::string> OutputDir::entries() const {
  std::vector<std::string> r;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(path_, ec)) {
    const std::string name = e.path().filename().string();
    if (name == kLockFile || name == kStagingMarker || is_stale_temporary(name, is_model_dir_entry)) continue;
    r.push_back(name);
  }
  return r;
}

bool OutputDir::has_staged_run(const std::string& probe) const {
  std::error_code ec;
  return !staging_.empty() && fs::exists(fs::path(staging_) / kStagingMarker, ec) &&
         fs::exists(fs::path(staging_) / probe, ec);
}

void OutputDir::resume_staged_run() {
  std::string holder;
  staging_lock_fd_ = try_lock(staging_, option_, staging_, holder);
  if (staging_lock_fd_ < 0) in_use(option_, path_, holder);
  write_holder(staging_lock_fd_, command_);
  staging_active_ = true;
}

void OutputDir::begin_replace(const std::function<bool(const std::string&)>& ours, const std::string& writer) {
  // The working directory cannot be swapped away (the exchange fails with EBUSY at the end):
  // say so now, before any work.
  std::error_code ec;
  const fs::path here = fs::current_path(ec), target = fs::canonical(path_, ec);
  if (!ec && !here.empty()) {
    const auto rel = here.lexically_relative(target);
    if (!rel.empty() && *rel.begin() != "..")
      throw UserError(option_ + " " + in_quotes(path_) + " is (or holds) the current directory, which cannot be replaced "
                      "while in use: run the command from outside it");
  }
  for (const std::string& name : entries())
    if (!ours(name))
      throw UserError(option_ + " " + in_quotes(path_) + " holds " + in_quotes(name) + ", which " + writer +
                      " does not write there; --force replaces only a directory that " + writer + " wrote: move " +
                      in_quotes(name) + " away or give another directory");
  if (staging_.empty())
    throw UserError(option_ + " " + in_quotes(path_) + " cannot be replaced (it has no name of its own); give another " +
                    option_ + " directory");
  if (fs::exists(fs::symlink_status(staging_, ec))) {
    std::string holder;
    const int fd = fs::is_directory(fs::symlink_status(staging_, ec)) ? try_lock(staging_, option_, staging_, holder) : -2;
    if (fd == -1) in_use(option_, path_, holder);
    if (fs::exists(fs::path(staging_) / kStagingMarker, ec))
      std::fprintf(stderr, "note: discarding '%s', an unfinished replacement of '%s' (an interrupted --force run)\n",
                   staging_.c_str(), path_.c_str());
    remove_tree(staging_, ec);
    if (fd >= 0) ::close(fd);
    if (ec) throw UserError("cannot remove '" + staging_ + "': " + ec.message());
  }
  fs::create_directory(staging_, ec);
  if (ec)
    throw UserError("cannot create '" + staging_ + "' beside " + option_ + " " + in_quotes(path_) + " (the new results "
                    "are written there and swapped in at the end): " + ec.message());
  std::string holder;
  staging_lock_fd_ = try_lock(staging_, option_, staging_, holder);
  if (staging_lock_fd_ < 0) in_use(option_, path_, holder);
  write_holder(staging_lock_fd_, command_);
  write_file_atomic((fs::path(staging_) / kStagingMarker).string(), "replaces " + path_ + "\n");
  staging_active_ = true;
}

void OutputDir::commit() {
  if (!staging_active_) return;
  if (::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, path_.c_str(), RENAME_EXCHANGE) != 0) {
    const int e = errno;
    if (e != EINVAL && e != ENOSYS && e != ENOTSUP)
      throw UserError("cannot swap the new results '" + staging_ + "' into " + option_ + " " + in_quotes(path_) + ": " +
                      std::strerror(e) + "; they are complete in '" + staging_ + "'");
    // File systems without an atomic exchange: two renames (a kill between them leaves the
    // old results at .NAME.mcuprune-old beside it).
    const std::string old = staging_.substr(0, staging_.size() - 4) + "old";
    std::fprintf(stderr, "note: the file system of '%s' cannot swap directories atomically; replacing it in two "
                 "renames\n", path_.c_str());
    std::error_code ec;
    remove_tree(old, ec);
    fs::rename(path_, old, ec);
    if (!ec) fs::rename(staging_, path_, ec);
    if (ec)
      throw UserError("cannot move the new results '" + staging_ + "' into " + option_ + " " + in_quotes(path_) + ": " +
                      ec.message());
    remove_tree(old, ec);
  }
  std::error_code ec;
  fs::remove(fs::path(path_) / kStagingMarker, ec);
  remove_tree(staging_, ec);  // the old contents
  staging_active_ = false;
}

void remove_tree(const std::string& path, std::error_code& ec) {
  auto note = [&ec](int err) {
    if (!ec) ec = std::error_code(err, std::generic_category());
  };
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) note(errno);
    return;
  }
  if (S_ISDIR(st.st_mode)) {
    std::vector<std::string> names;
    if (DIR* d = ::opendir(path.c_str())) {
      while (const dirent* e = ::readdir(d)) {
        const std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(n);
      }
      ::closedir(d);
    } else {
      note(errno);
    }
    for (const std::string& n : names) remove_tree(path + "/" + n, ec);
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT) note(errno);
  } else if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    note(errno);
  }
}

}  // namespace mcuprune
