// The output directory of one train_lm run. Opening it:
//   1. creates it and checks that it is writable (failing early, with the path);
//   2. takes an exclusive lock (flock on "<dir>/.train_lm.lock", which holds the owner's pid), so that a
//      second run with the same --out fails at once, naming the pid of the run that holds it; the lock is
//      released when the object is destroyed or the process ends, however it ends;
//   3. refuses to replace a checkpoint of an earlier run unless the run resumes from that very file or
//      `overwrite` is set (--overwrite);
//   4. removes the temporaries of checkpoint saves killed mid-write.
// Only the lead rank of a data-parallel run opens it (the others write nothing).
#pragma once

#include <filesystem>
#include <iosfwd>

namespace train_lm {

class RunDirectory {
public:
    // `resume`: the checkpoint the run continues from ("" for a fresh run). Throws std::runtime_error naming
    // the directory and what to do.
    RunDirectory(const std::filesystem::path& dir, const std::filesystem::path& resume, bool overwrite, std::ostream& out);
    RunDirectory(const RunDirectory&) = delete;
    RunDirectory& operator=(const RunDirectory&) = delete;

    const std::filesystem::path& path() const { return dir_; }
    std::filesystem::path checkpoint() const { return dir_ / "checkpoint.safetensors"; }

private:
    struct Descriptor {  // closed when the directory object goes, also when its constructor throws
        int fd = -1;
        ~Descriptor();
    };
    std::filesystem::path dir_;
    Descriptor lock_;  // holds the flock
};

}  // namespace train_lm
