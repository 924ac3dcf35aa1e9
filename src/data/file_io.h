// Internal helpers shared by the dataset readers: whole-file reading with transparent
// gzip decompression (detected by content) and big-endian integer parsing.
// Not part of the public API; only src/data/*.cpp include this.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mcuprune::data_detail {

// Reads the whole file. If it starts with the gzip magic (1f 8b) and `gunzip` is true it
// is decompressed (concatenated members included). Throws UserError naming the file when
// it is missing, unreadable, or a truncated/corrupt gzip stream. `what` describes the
// file for the "missing" message (e.g. "IDX image file").
// The whole size a file's header declares, from its first `n` bytes (0: not known yet).
using SizeFromHeader = std::function<uint64_t(const uint8_t* head, size_t n)>;

// Reads a file, decompressing gzip (detected by content). Decompression stops with an error
// past the size the header declares (size_from_header) or 4 GiB.
std::vector<uint8_t> read_file_bytes(const std::string& path, const std::string& what,
                                     bool gunzip = true, const SizeFromHeader& size_from_header = {});

inline uint32_t read_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) |
         uint32_t(p[3]);
}

// "0x00000803": magic numbers are easiest to compare against the spec in hex.
std::string hex32(uint32_t v);

// Throws UserError when `path` exists but is a FIFO, device or socket (reading one would
// block or never end); `what` names it ("IDX image file").
void refuse_special_file(const std::string& path, const std::string& what);
// True when `path` names an existing regular file; false when it does not exist or is a
// directory; a FIFO, device or socket is refused (refuse_special_file).
bool is_file(const std::string& path);
bool is_dir(const std::string& path);

}  // namespace mcuprune::data_detail
