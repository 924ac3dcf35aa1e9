// The directory a command writes its results into (--out of train, prune, quantize, import,
// export --format c, deploy). Three promises, so that nothing a user owns is lost:
// - it is a directory one can write files in (a file, a path under a file, a device or a
//   read-only place such as /proc is a clear error before any work starts);
// - one mcuprune process at a time: the directory is held with an advisory lock (flock on
//   DIR/.mcuprune.lock, released by the kernel when the process ends, so a killed run never
//   leaves a stale lock); a second process is refused with a message that names the first;
// - replacing an existing output (--force) replaces all of it, atomically: the new results
//   are written into a staging directory beside it (PARENT/.NAME.mcuprune-new) and swapped
//   in whole when the command finishes (renameat2 RENAME_EXCHANGE), then the old one is
//   removed. A run killed before the swap leaves the old directory untouched, and its staged
//   run can be continued (--resume DIR finds it). A directory holding entries that mcuprune
//   does not write is never replaced, even with --force.
#pragma once

#include <functional>
#include <string>
#include <system_error>
#include <vector>

namespace mcuprune {

class OutputDir {
 public:
  // Checks `path` and locks it (creating it when missing). `option` names the option in
  // messages ("--out"), `command` is recorded in the lock for a second process to read.
  // Completes a replacement that a kill interrupted after its swap. Throws UserError.
  OutputDir(const std::string& path, const std::string& option, const std::string& command);
  ~OutputDir();
  OutputDir(const OutputDir&) = delete;
  OutputDir& operator=(const OutputDir&) = delete;

  // The directory as given, and where results are written now: the directory itself, or
  // its staging directory while replacing.
  const std::string& path() const { return path_; }
  const std::string& work_path() const { return staging_active_ ? staging_ : path_; }

  // Names of the entries it holds, but for the lock and temporaries of dead processes.
  std::vector<std::string> entries() const;
  bool empty() const { return entries().empty(); }

  // Whether an earlier replacement of this directory was interrupted and left a staged run
  // (with `probe` naming a file that must exist in it, e.g. "checkpoint/state.json").
  bool has_staged_run(const std::string& probe) const;
  // Continue writing into that staged run (for --resume); commit() swaps it in.
  void resume_staged_run();

  // Start replacing the directory: later writes go to a fresh staging directory; commit()
  // swaps it in. `ours(name)` says whether an entry is one `writer` ("mcuprune", "a C export")
  // writes in this kind of directory; any other entry refuses the replacement (UserError
  // naming it and the writer).
  void begin_replace(const std::function<bool(const std::string&)>& ours, const std::string& writer = "mcuprune");

  // Swaps a staged replacement into place and removes the old contents (no-op otherwise).
  void commit();

 private:
  std::string path_, staging_, option_, command_;
  int lock_fd_ = -1, staging_lock_fd_ = -1;
  bool created_ = false, staging_active_ = false;
  void finish_interrupted_swap();
};

// Removes `path` and, for a directory, everything under it, as std::filesystem::remove_all does,
// without calling it: pip's LibTorch exports its own build of libstdc++'s std::filesystem, the
// loader binds mcuprune's calls to it, and its remove_all crashed there (a call through a null
// pointer; PyTorch issue 133437; seen with torch 2.11, bench/results/gpu_check.md). Symbolic
// links are removed, never followed. A missing `path` is no error; otherwise `ec` holds the
// first error met, and the rest is still attempted.
void remove_tree(const std::string& path, std::error_code& ec);

// Names that a model directory (train, prune, quantize --out, import) may hold: its model,
// checkpoint and the reports and deploy work directories commands write into it.
bool is_model_dir_entry(const std::string& name);
// The same, and the entry's contents are mcuprune's too (a checkpoint/ that holds only
// checkpoint files, a deploy-BOARD-qemu/ that holds only what deploy writes): what --force may
// replace in directory `dir`.
bool model_dir_entry_is_ours(const std::string& dir, const std::string& name);
// deploy's default work directory names (deploy-BOARD-qemu, deploy-BOARD-host) and what
// deploy writes into a work directory; the files of a train/prune checkpoint directory.
bool is_deploy_work_dir_name(const std::string& name);
bool is_deploy_dir_entry(const std::string& name);
bool is_checkpoint_file(const std::string& name);

}  // namespace mcuprune
