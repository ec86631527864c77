#include "tapegrad/nn/file_write.hpp"

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <utility>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "tapegrad/nn/file_read.hpp"

namespace tapegrad {
namespace {

[[noreturn]] void fail_save(std::string_view what, const std::filesystem::path& target, const std::string& step, int error) {
    throw FileError(what, target, step + ": " + std::strerror(error));
}

// "<dir>/<name>.tmp.<pid>.<n>": unique among processes (pid) and among saves of this process (n).
std::filesystem::path temporary_path_for(const std::filesystem::path& target) {
    static std::atomic<unsigned long> counter{0};
    auto name = target.filename().string() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    return target.parent_path() / name;
}

// The temporary file: closed, and removed unless it was renamed into place, on every way out.
class TemporaryFile {
public:
    explicit TemporaryFile(std::filesystem::path path) : path_(std::move(path)) {}
    TemporaryFile(const TemporaryFile&) = delete;
    TemporaryFile& operator=(const TemporaryFile&) = delete;
    ~TemporaryFile() {
        if (fd_ >= 0) ::close(fd_);
        if (created_ && !renamed_) ::unlink(path_.c_str());
    }

    const std::filesystem::path& path() const { return path_; }
    int fd() const { return fd_; }
    // The descriptor of open(O_CREAT | O_EXCL): when valid, the file is ours to remove.
    void set_fd(int fd) {
        fd_ = fd;
        created_ = fd >= 0;
    }
    // Closes the descriptor once; returns 0 or errno.
    int close() {
        const int result = ::close(std::exchange(fd_, -1));
        return result == 0 ? 0 : errno;
    }
    void mark_renamed() { renamed_ = true; }

private:
    std::filesystem::path path_;
    int fd_ = -1;
    bool created_ = false;
    bool renamed_ = false;
};

// write() until everything is written; returns 0 or errno.
int write_all(int fd, std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno;
        if (n == 0) return EIO;  // no progress and no error code: never loop forever
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
    return 0;
}

// After the rename, the directory entry itself must reach the disk. Filesystems that cannot fsync a
// directory report EINVAL; there is nothing more to do on those.
void sync_directory(std::string_view what, const std::filesystem::path& target, const std::filesystem::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail_save(what, target, "written, but opening its directory '" + dir.string() + "' to sync it failed", errno);
    const int error = ::fsync(fd) == 0 ? 0 : errno;
    ::close(fd);
    if (error != 0 && error != EINVAL)
        fail_save(what, target, "written, but syncing its directory '" + dir.string() + "' failed", error);
}

// The pid in "<name>.tmp.<pid>.<n>", if `file` is a temporary file of a save of `name`.
std::optional<pid_t> temporary_owner(const std::string& file, const std::string& name) {
    const std::string prefix = name + ".tmp.";
    if (!file.starts_with(prefix)) return std::nullopt;
    const char* first = file.data() + prefix.size();
    const char* last = file.data() + file.size();
    pid_t pid = 0;
    const auto [end, ec] = std::from_chars(first, last, pid);
    if (ec != std::errc() || end == last || *end != '.' || pid <= 0) return std::nullopt;
    return pid;
}

}  // namespace

void write_file_atomically(const std::filesystem::path& target, std::span<const std::byte> bytes, std::string_view what) {
    TemporaryFile tmp(temporary_path_for(target));
    const std::string tmp_name = std::string(1, '\'').append(tmp.path().string()).append(1, '\'');  // not "'" + …: PR 105651

    tmp.set_fd(::open(tmp.path().c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
    if (tmp.fd() < 0) fail_save(what, target, "creating the temporary file " + tmp_name + " failed", errno);
    if (int error = write_all(tmp.fd(), bytes)) fail_save(what, target, "writing " + tmp_name + " failed", error);
    if (::fsync(tmp.fd()) != 0) fail_save(what, target, "syncing " + tmp_name + " failed", errno);
    if (int error = tmp.close()) fail_save(what, target, "closing " + tmp_name + " failed", error);
    if (::rename(tmp.path().c_str(), target.c_str()) != 0)
        fail_save(what, target, "renaming " + tmp_name + " over it failed", errno);
    tmp.mark_renamed();
    sync_directory(what, target, target.has_parent_path() ? target.parent_path() : std::filesystem::path("."));
}

std::vector<std::filesystem::path> remove_stale_temporaries(const std::filesystem::path& target) {
    const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
    const std::string name = target.filename().string();
    std::vector<std::filesystem::path> removed;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        const auto pid = temporary_owner(entry.path().filename().string(), name);
        // kill(pid, 0) fails with ESRCH when no such process exists (EPERM means it does, owned by another user)
        if (!pid || ::kill(*pid, 0) == 0 || errno != ESRCH) continue;
        if (std::filesystem::remove(entry.path(), ec)) removed.push_back(entry.path());
    }
    return removed;
}

}  // namespace tapegrad
