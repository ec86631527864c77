#include "tapegrad/nn/file_read.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tapegrad {

FileError::FileError(std::string_view what, std::filesystem::path file, std::string problem_text)
    : Error(std::string(what) + " '" + file.string() + "': " + problem_text),
      path(std::move(file)),
      problem(std::move(problem_text)) {}

std::string_view file_kind(unsigned st_mode) {
    const auto mode = static_cast<mode_t>(st_mode);
    if (S_ISREG(mode)) return "a regular file";
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISLNK(mode)) return "a symbolic link";
    return "a file of unknown type";
}

namespace {

// Closes the descriptor when the read is over, whichever way it ends.
class Descriptor {
public:
    explicit Descriptor(int fd) : fd_(fd) {}
    Descriptor(const Descriptor&) = delete;
    Descriptor& operator=(const Descriptor&) = delete;
    ~Descriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }

private:
    int fd_;
};

// Reads the file into a Buffer (std::vector<std::byte> or std::string) of exactly st_size bytes.
template <class Buffer>
Buffer read_regular(const std::filesystem::path& path, std::string_view what, std::uint64_t max_bytes) {
    auto fail = [&](std::string problem) { throw FileError(what, path, std::move(problem)); };
    auto fail_errno = [&](const char* step, int error) { fail(std::string(step) + ": " + std::strerror(error)); };
    auto check_kind_and_size = [&](const struct stat& st) {
        if (!S_ISREG(st.st_mode)) fail("is " + std::string(file_kind(st.st_mode)) + ", not a regular file");
        const auto size = static_cast<std::uint64_t>(st.st_size);
        if (size > max_bytes)
            fail("is " + std::to_string(size) + " bytes, over the limit of " + std::to_string(max_bytes) + " bytes");
    };

    // stat before open: a device or FIFO is rejected without being opened.
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) fail_errno("cannot open", errno);
    check_kind_and_size(st);

    // O_NONBLOCK: should the path have become a FIFO since, the open returns instead of waiting for a writer.
    Descriptor fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (fd.get() < 0) fail_errno("cannot open", errno);
    if (::fstat(fd.get(), &st) != 0) fail_errno("cannot stat", errno);
    check_kind_and_size(st);  // what the descriptor is, whatever the path pointed at before

    const auto size = static_cast<std::size_t>(st.st_size);
    Buffer out(size, typename Buffer::value_type{});
    std::size_t used = 0;
    // Linux transfers at most 0x7ffff000 bytes per read(); larger requests are split here.
    constexpr std::size_t kMaxChunk = std::size_t{1} << 30;
    while (used < size) {
        const ssize_t n = ::read(fd.get(), out.data() + used, std::min(size - used, kMaxChunk));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail_errno("cannot read", errno);
        if (n == 0)
            fail("ended after " + std::to_string(used) + " of its " + std::to_string(size) +
                 " bytes (did it shrink while being read?)");
        used += static_cast<std::size_t>(n);
    }
    return out;
}

}  // namespace

std::vector<std::byte> read_regular_file(const std::filesystem::path& path, std::string_view what,
                                         std::uint64_t max_bytes) {
    return read_regular<std::vector<std::byte>>(path, what, max_bytes);
}

std::string read_regular_text(const std::filesystem::path& path, std::string_view what, std::uint64_t max_bytes) {
    return read_regular<std::string>(path, what, max_bytes);
}

}  // namespace tapegrad
