/// \file
/// Reading a whole file into memory, safely whatever the path points at: only regular files are read, and
/// only up to a size limit, so that a path to /dev/zero, /dev/urandom, a FIFO without a writer, a directory
/// or a huge file fails at once with a message instead of allocating until std::bad_alloc or blocking forever.
///
/// ~~~{.cpp}
///   const auto bytes = read_regular_file(path, "checkpoint", 1ull << 36);
///   const std::string text = read_regular_text(path, "corpus", 1ull << 30);
/// ~~~
///
/// How: the path is stat()ed first (a device is never even opened: opening some has side effects), then
/// opened with O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC (a FIFO that appeared in between does not block
/// the open) and fstat()ed again: that descriptor's st_size is what is read, exactly, and the descriptor
/// is closed on every path. A file that grows after the fstat is read up to its size at that moment; one that
/// shrinks is an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tapegrad/autodiff/errors.hpp"

namespace tapegrad {

/// A file that cannot be read: missing or unreadable, not a regular file, over the size limit, an I/O error.
/// what() is "<what> '<path>': <problem>", e.g.
/// ~~~{.unparsed}
///   "corpus '/dev/zero': is a character device, not a regular file"
///   "checkpoint 'big.safetensors': is 3000000000 bytes, over the limit of 1073741824 bytes"
///   "corpus 'gone.txt': cannot open: No such file or directory"
/// ~~~
/// path and problem are also kept apart, for callers that word their own message.
struct FileError : Error {
    FileError(std::string_view what, std::filesystem::path file, std::string problem_text);
    std::filesystem::path path;
    std::string problem;  ///< the part after "<what> '<path>': "
};

/// The whole content of the regular file at `path`, at most max_bytes long. `what` says what the file is for
/// ("checkpoint", "corpus") in error messages. FileError for anything else (see above).
std::vector<std::byte> read_regular_file(const std::filesystem::path& path, std::string_view what,
                                         std::uint64_t max_bytes);

/// The same, as text: the bytes unchanged (no encoding check, no newline conversion).
std::string read_regular_text(const std::filesystem::path& path, std::string_view what, std::uint64_t max_bytes);

/// "a regular file", "a directory", "a FIFO", "a character device", "a block device", "a socket",
/// "a symbolic link" or "a file of unknown type": the kind of file of a stat() st_mode, for messages.
std::string_view file_kind(unsigned st_mode);

}  // namespace tapegrad
