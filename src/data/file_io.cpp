// Whole-file reading for the dataset readers, with gzip detected by content so that
// train-images-idx3-ubyte and train-images-idx3-ubyte.gz (or a mis-named .gz) all work.
// Uses zlib's inflate on the in-memory file so truncation is reported precisely.
#include "data/file_io.h"

#include <zlib.h>

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "graph/graph.h"

namespace fs = std::filesystem;

namespace mcuprune::data_detail {

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

void refuse_special_file(const std::string& path, const std::string& what) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st) && fs::is_symlink(fs::symlink_status(path, ec)))
    throw UserError(what + " '" + path + "' is a symbolic link to a missing file ('" + fs::read_symlink(path, ec).string() +
                    "'); fix or remove the link");
  if (!fs::exists(st) || fs::is_regular_file(st) || fs::is_directory(st)) return;
  const char* kind = fs::is_fifo(st)                                       ? "a named pipe (FIFO)"
                     : fs::is_character_file(st) || fs::is_block_file(st) ? "a device"
                     : fs::is_socket(st)                                  ? "a socket"
                                                                           : "not a regular file";
  const bool link = fs::is_symlink(fs::symlink_status(path, ec));
  throw UserError(what + " '" + path + "' is " + (link ? std::string("a link to ") : std::string()) + kind +
                  ", not a regular file; give the dataset's own files (copy them to a folder if they come from a stream)");
}

bool is_file(const std::string& path) {
  std::error_code ec;
  refuse_special_file(path, "dataset file");
  return fs::is_regular_file(path, ec);
}

bool is_dir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

namespace {

std::vector<uint8_t> read_raw(const std::string& path, const std::string& what) {
  std::error_code ec;
  refuse_special_file(path, what);
  if (!fs::exists(path, ec))
    throw UserError(what + " '" + path + "' not found: check the path (and that the " +
                    "dataset is unpacked there)");
  if (fs::is_directory(path, ec))
    throw UserError(what + " '" + path + "' is a directory, expected a file");
  std::ifstream f(path, std::ios::binary);
  if (!f)
    throw UserError(what + " '" + path + "' cannot be opened: " + std::strerror(errno) +
                    "; check its permissions");
  f.seekg(0, std::ios::end);
  const std::streamoff size = f.tellg();
  f.seekg(0, std::ios::beg);
  std::vector<uint8_t> bytes(size > 0 ? size_t(size) : 0);
  if (!bytes.empty() && !f.read(reinterpret_cast<char*>(bytes.data()), size))
    throw UserError(what + " '" + path + "' could not be read completely (I/O error)");
  return bytes;
}

// Memory the system can still give (MemAvailable), or 0 when it cannot be read.
uint64_t available_memory_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (f >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return 0;
}

// The address-space or data-segment limit of this process (ulimit -v / -d), whichever is
// lower; UINT64_MAX when there is none.
uint64_t process_memory_limit_bytes() {
  uint64_t lim = UINT64_MAX;
  for (int resource : {RLIMIT_AS, RLIMIT_DATA}) {
    struct rlimit r {};
    if (::getrlimit(resource, &r) == 0 && r.rlim_cur != RLIM_INFINITY) lim = std::min<uint64_t>(lim, r.rlim_cur);
  }
  return lim;
}

std::vector<uint8_t> gunzip_bytes(const std::vector<uint8_t>& in, const std::string& path,
                                  const std::string& what, const SizeFromHeader& size_from_header) {
  if (in.size() > UINT_MAX)
    throw UserError(what + " '" + path + "' is larger than 4 GiB compressed; decompress it " +
                    "first");
  z_stream zs{};
  // 16 + MAX_WBITS: accept only the gzip wrapper, we got here because of its magic.
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
    throw UserError("zlib could not be initialised while reading '" + path + "'");
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = uInt(in.size());

  // Output is produced in chunks of at most 4 MiB and never beyond what the file's own header
  // declares (plus one byte, to see extra data): a small "gzip bomb" cannot take more memory
  // than the data it claims to hold. Before the header is known, and for formats without one,
  // the limit is kMaxDecompressed.
  constexpr size_t kChunk = size_t(4) << 20;
  constexpr uint64_t kMaxDecompressed = uint64_t(4) << 30;
  uint64_t limit = kMaxDecompressed;
  bool header_read = false;
  std::vector<uint8_t> out(std::min<size_t>(in.size() * 4 + 1024, kChunk));
  size_t produced = 0;
  auto fail = [&](const std::string& why) {
    inflateEnd(&zs);
    throw UserError(what + " '" + path + "' is " + why + " (decompressed " +
                    std::to_string(produced) + " bytes before the error): re-download or " +
                    "re-copy it");
  };
  for (;;) {
    if (produced == out.size()) {
      try {
        out.resize(size_t(std::min<uint64_t>(uint64_t(out.size()) * 2, limit + 1)));
      } catch (const std::bad_alloc&) {
        inflateEnd(&zs);
        throw UserError(what + " '" + path + "': out of memory after decompressing " + std::to_string(produced) +
                        " bytes; free memory, raise the memory limit, or use a smaller dataset file");
      }
    }
    const size_t room = std::min(out.size() - produced, kChunk);
    zs.next_out = out.data() + produced;
    zs.avail_out = uInt(room);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (!header_read && size_from_header) {
      const uint64_t declared = size_from_header(out.data(), produced);
      if (declared > 0) {
        header_read = true;
        limit = std::min(declared, kMaxDecompressed);
        // More than the system has, or than this process may allocate, stops here with a
        // clear message (not a std::bad_alloc later, deep inside the reader).
        const uint64_t available = available_memory_bytes(), allowed = process_memory_limit_bytes();
        if ((available > 0 && limit > available) || limit > allowed) {
          inflateEnd(&zs);
          throw UserError(what + " '" + path + "' decompresses to " + std::to_string(limit) +
                          " bytes (its header says so), more than " +
                          (limit > allowed ? "the " + std::to_string(allowed) + " bytes this process can allocate (its memory limit)"
                                           : "the " + std::to_string(available) + " bytes of memory available") +
                          "; free memory, raise the memory limit, or use a smaller dataset file");
        }
      }
    }
    if (produced > limit) {
      inflateEnd(&zs);
      throw UserError(what + " '" + path + "' decompresses to more than the " + std::to_string(limit) +
                      " bytes " + (header_read ? "its header declares" : "mcuprune reads from one file") +
                      "; the file is corrupt or not a dataset file");
    }
    if (rc == Z_STREAM_END) {
      // Concatenated gzip members are legal (gzip -c a b > c); anything else after the
      // end is trailing junk, which gzip itself ignores with a warning, so we do too.
      if (zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
        inflateReset(&zs);
        continue;
      }
      break;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) fail("a truncated gzip file");
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      fail(std::string("a corrupt gzip file (zlib: ") + (zs.msg ? zs.msg : "unknown error") +
           ")");
  }
  inflateEnd(&zs);
  out.resize(produced);
  return out;
}

}  // namespace

std::vector<uint8_t> read_file_bytes(const std::string& path, const std::string& what,
                                     bool gunzip, const SizeFromHeader& size_from_header) {
  std::vector<uint8_t> bytes = read_raw(path, what);
  if (gunzip && bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
    return gunzip_bytes(bytes, path, what, size_from_header);
  return bytes;
}

}  // namespace mcuprune::data_detail
