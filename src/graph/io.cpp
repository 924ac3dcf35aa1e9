// Atomic file writes and whole-file reads.
#include "graph/io.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include "graph/graph.h"

namespace mcuprune {

void write_file_atomic(const std::string& path, const std::string& bytes) {
  namespace fs = std::filesystem;
  fs::path target(path);
  std::error_code ec;
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
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw UserError("cannot write '" + path + "': " + std::strerror(e) +
                      " (is the disk full?); nothing was written");
    }
    done += size_t(w);
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
