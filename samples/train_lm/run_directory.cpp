#include "run_directory.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <ostream>
#include <stdexcept>
#include <string>
#include <sys/file.h>
#include <unistd.h>

#include "tapegrad/nn/safetensors.hpp"

namespace train_lm {

namespace {

std::string os_error(const std::string& what, int err) { return what + ": " + std::strerror(err); }

// The pid the current holder wrote into the lock file ("" when it has not written it yet).
std::string holder_pid(int fd) {
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string pid = n > 0 ? std::string(buf, std::size_t(n)) : std::string();
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return pid;
}

}  // namespace

RunDirectory::RunDirectory(const std::filesystem::path& dir, const std::filesystem::path& resume, bool overwrite,
                           std::ostream& out)
    : dir_(dir) {
    if (dir.empty()) throw std::runtime_error("--out is empty: name an output directory");
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || !std::filesystem::is_directory(dir))
        throw std::runtime_error("cannot create the output directory " + dir.string() + (ec ? ": " + ec.message() : ": not a directory"));

    const auto lock_path = dir / ".train_lm.lock";
    lock_.fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_.fd < 0) throw std::runtime_error(os_error("cannot write to the output directory " + dir.string(), errno));
    if (::flock(lock_.fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        const std::string pid = holder_pid(lock_.fd);
        if (err == EWOULDBLOCK)
            throw std::runtime_error("the output directory " + dir.string() + " is in use by another train_lm run (pid " +
                                     (pid.empty() ? std::string("unknown") : pid) +
                                     "); wait for it to end, or choose another --out");
        throw std::runtime_error(os_error("cannot lock the output directory " + dir.string(), err));
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(lock_.fd, 0) != 0 || ::pwrite(lock_.fd, pid.data(), pid.size(), 0) != ssize_t(pid.size())) {
        const int err = errno;
        throw std::runtime_error(os_error("cannot write to the output directory " + dir.string(), err));
    }

    // The lock file may be writable in a directory that is not (a read-only copy of an old run).
    const auto probe = dir / (".write_test." + std::to_string(::getpid()));
    const int probe_fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (probe_fd < 0) throw std::runtime_error(os_error("cannot write to the output directory " + dir.string(), errno));
    ::close(probe_fd);
    std::filesystem::remove(probe, ec);

    const auto ckpt = checkpoint();
    if (std::filesystem::exists(ckpt) && !overwrite) {
        const bool resuming_it = !resume.empty() && std::filesystem::equivalent(resume, ckpt, ec);
        if (!resuming_it) {
            throw std::runtime_error(dir.string() + " already holds a checkpoint of an earlier run (" + ckpt.string() +
                                     "); continue it with --resume " + ckpt.string() +
                                     ", replace it with --overwrite, or choose another --out");
        }
    }
    // A run killed while saving leaves its temporary file; the checkpoint itself is the previous one, intact.
    for (const auto& stale : tapegrad::remove_stale_temporaries(ckpt))
        out << "removed " << stale.string() << ", a checkpoint half-written by a killed run\n";
}

RunDirectory::Descriptor::~Descriptor() {
    if (fd >= 0) ::close(fd);  // releases the flock
}

}  // namespace train_lm
