/// \file
/// Writing a whole file so that a crash never leaves a torn one: the counterpart of file_read.hpp.
///
/// ~~~{.cpp}
///   write_file_atomically(path, bytes, "checkpoint: cannot save");
/// ~~~
///
/// How: a temporary file "<name>.tmp.<pid>.<n>" in the target's directory is created (O_EXCL), written,
/// fsynced and closed, then renamed over the target, and the directory is fsynced. Whatever fails, the
/// temporary file is removed and any previous file at the path is left intact. A process killed mid-write
/// (SIGKILL, power loss) leaves its temporary file behind: remove_stale_temporaries cleans those up.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

namespace tapegrad {

/// Writes `bytes` to `target` atomically (above). On failure throws FileError (file_read.hpp) whose message
/// is "<what> '<target>': <step>: <OS error>", e.g. "safetensors: cannot save 'ckpt': renaming
/// 'ckpt.tmp.12.0' over it failed: Permission denied".
void write_file_atomically(const std::filesystem::path& target, std::span<const std::byte> bytes, std::string_view what);

/// Removes the temporary files "<name>.tmp.<pid>.<n>" that writes of `target` left behind when their process
/// was killed mid-write: those whose pid is no longer a running process. Temporary files of live processes
/// are left alone. Returns the paths removed; I/O errors are ignored (best effort).
std::vector<std::filesystem::path> remove_stale_temporaries(const std::filesystem::path& target);

}  // namespace tapegrad
