// File helpers shared by every layer: atomic writes (write to a temporary file in the
// same directory, flush, rename over the target) so that a crash or Ctrl-C never leaves a
// half-written file, and whole-file reads with errors a user can act on.
#pragma once

#include <functional>
#include <string>

namespace mcuprune {

// Writes `bytes` to `path` atomically. Creates missing parent directories. A symbolic link
// is written through; a device or pipe (/dev/null) is written directly, never replaced;
// a directory is refused. Throws UserError saying which file could not be written and why.
void write_file_atomic(const std::string& path, const std::string& bytes);

// Whether a file name is a temporary file of write_file_atomic whose process is gone (a
// killed run's leftover), and removing those in `dir` (returns how many).
// `ours(name)`, when given, must accept the name the temporary was for ("model.json"): a
// file of the user's that merely looks like a temporary is never removed.
bool is_stale_temporary(const std::string& file_name, const std::function<bool(const std::string&)>& ours = {});
int remove_stale_temporaries(const std::string& dir, const std::function<bool(const std::string&)>& ours = {});

// Reads a whole file; throws UserError naming the file if it is missing or unreadable.
std::string read_file(const std::string& path);

}  // namespace mcuprune
