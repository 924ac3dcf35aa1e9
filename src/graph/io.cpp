// Atomic file writes and whole-file reads.
#include "graph/io.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "graph/graph.h"

namespace mcuprune {

namespace {

// Writes every byte to fd; returns 0 or the errno of the failure.
int write_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    done += size_t(w);
  }
  return 0;
}

}  // namespace

void write_file_atomic(const std::string& path_in, const std::string& bytes) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::string path = path_in;
  // A symbolic link is written through (the link stays); a device or pipe (/dev/null,
  // /dev/stdout) is written directly, never replaced by a regular file; a directory is refused.
  // The link's final target, followed hop by hop so that a dangling link is written through
  // (creating its target) rather than replaced.
  for (int hops = 0; fs::is_symlink(fs::symlink_status(path, ec)); ++hops) {
    if (hops == 40) throw UserError("cannot write '" + path_in + "': too many levels of symbolic links");
    const fs::path target = fs::read_symlink(path, ec);
    if (ec) throw UserError("cannot write '" + path_in + "': cannot read the symbolic link: " + ec.message());
    path = (target.is_absolute() ? target : fs::path(path).parent_path() / target).string();
  }
  const fs::file_status st = fs::status(path, ec);
  if (fs::exists(st) && fs::is_directory(st))
    throw UserError("cannot write '" + path_in + "': it is a directory; give a file path");
  if (fs::exists(st) && !fs::is_regular_file(st)) {
    int fd = ::open(path.c_str(), O_WRONLY);
    if (fd < 0) throw UserError("cannot write '" + path_in + "': " + std::strerror(errno));
    const int e = write_all(fd, bytes);
    ::close(fd);
    if (e) throw UserError("cannot write '" + path_in + "': " + std::strerror(e));
    return;
  }
  fs::path target(path);
  if (target.has_parent_path()) {
    fs::create_directories(target.parent_path(), ec);
    if (ec)
      throw UserError("cannot create directory '" + target.parent_path().string() +
                      "' to write '" + path + "': " + ec.message());
  }
  std::random_device rd;
  std::string tmp = path + ".tmp" + std::to_string(::getpid()) + "_" + std::to_string(rd() % 100000);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    throw UserError("cannot write '" + path + "': " + std::strerror(errno) +
                    "; check that the directory exists and is writable");
  if (const int e = write_all(fd, bytes)) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw UserError("cannot write '" + path + "': " + std::strerror(e) + " (is the disk full?); nothing was written");
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw UserError("cannot write '" + path + "': " + std::strerror(e) + "; nothing was written");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw UserError("cannot replace '" + path + "': " + std::strerror(e));
  }
}

bool is_stale_temporary(const std::string& file_name, const std::function<bool(const std::string&)>& ours) {
  // "<name>.tmp<pid>_<n>" exactly as write_file_atomic makes them (a pid Linux can give, n
  // below 100000), for a <name> this directory's writer writes, whose writer is gone.
  const size_t t = file_name.rfind(".tmp");
  if (t == std::string::npos || t == 0) return false;
  const std::string rest = file_name.substr(t + 4);
  const size_t u = rest.find('_');
  if (u == std::string::npos || u == 0 || u > 7 || u + 1 >= rest.size() || rest.size() - u - 1 > 5) return false;
  for (size_t k = 0; k < rest.size(); ++k)
    if (k != u && !std::isdigit(static_cast<unsigned char>(rest[k]))) return false;
  const long pid = std::stol(rest.substr(0, u));
  constexpr long kPidMaxLimit = 4194304;  // PID_MAX_LIMIT of 64-bit Linux
  if (pid < 1 || pid > kPidMaxLimit || (ours && !ours(file_name.substr(0, t)))) return false;
  return pid != long(::getpid()) && (::kill(pid_t(pid), 0) != 0 && errno == ESRCH);
}

int remove_stale_temporaries(const std::string& dir, const std::function<bool(const std::string&)>& ours) {
  namespace fs = std::filesystem;
  std::error_code ec;
  int n = 0;
  if (!fs::is_directory(dir, ec)) return 0;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file(ec) && is_stale_temporary(e.path().filename().string(), ours) && fs::remove(e.path(), ec)) ++n;
  return n;
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw UserError("file '" + path + "' does not exist");
  if (std::filesystem::is_directory(path, ec))
    throw UserError("'" + path + "' is a directory, expected a file");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw UserError("cannot open '" + path + "': " + std::strerror(errno));
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace mcuprune
