// write_file_atomically and remove_stale_temporaries on their own (the safetensors writer's save goes through
// them; tests/nn/safetensors_test.cpp checks that path end to end, crash_resume_test.py under SIGKILL).
#include "test_util.hpp"
#include "tapegrad/nn/file_read.hpp"
#include "tapegrad/nn/file_write.hpp"

#include <unistd.h>

using namespace tapegrad;

namespace {
std::vector<std::byte> bytes_of(const std::string& s) {
    std::vector<std::byte> out(s.size());
    std::memcpy(out.data(), s.data(), s.size());
    return out;
}
std::size_t files_in(const std::filesystem::path& dir) {
    return std::size_t(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()));
}
}  // namespace

TEST_CASE("write_file_atomically writes, replaces, and leaves nothing else behind", "[file_write]") {
    test::TempDir dir("file_write");
    const auto path = dir / "out.bin";
    write_file_atomically(path, bytes_of("first"), "test: cannot write");
    CHECK(read_regular_text(path, "test", 100) == "first");
    write_file_atomically(path, bytes_of("second, longer"), "test: cannot write");
    CHECK(read_regular_text(path, "test", 100) == "second, longer");
    write_file_atomically(path, {}, "test: cannot write");  // an empty file is a file
    CHECK(read_regular_text(path, "test", 100).empty());
    CHECK(files_in(dir.path()) == 1);  // no temporary file left
}

TEST_CASE("write_file_atomically fails with FileError naming the step, and keeps the old file", "[file_write]") {
    test::TempDir dir("file_write_fail");
    const auto missing = dir / "no/such/dir/out.bin";
    try {
        write_file_atomically(missing, bytes_of("x"), "test: cannot write");
        FAIL("no error");
    } catch (const FileError& e) {
        CHECK(e.path == missing);
        CHECK_THAT(e.problem, Catch::Matchers::StartsWith("creating the temporary file '" + missing.string() + ".tmp.") &&
                                  Catch::Matchers::EndsWith("' failed: No such file or directory"));
        CHECK_THAT(e.what(), Catch::Matchers::StartsWith("test: cannot write '" + missing.string() + "': "));
    }
    // A directory at the path: the rename fails, the directory and its content stay, no temporary is left.
    const auto target = dir / "taken";
    std::filesystem::create_directories(target / "inside");
    REQUIRE_THROWS_WITH(write_file_atomically(target, bytes_of("x"), "test: cannot write"),
                        Catch::Matchers::Contains("over it failed"));
    CHECK(std::filesystem::is_directory(target / "inside"));
    CHECK(files_in(dir.path()) == 1);
}

TEST_CASE("remove_stale_temporaries removes a dead process's temporary file, not a live one's", "[file_write]") {
    test::TempDir dir("file_write_stale");
    const auto target = dir / "ckpt.safetensors";
    // pid 0x7ffffffe is above Linux's pid_max (at most 2^22): no such process runs
    const auto dead = dir / "ckpt.safetensors.tmp.2147483646.0";
    const auto live = dir / ("ckpt.safetensors.tmp." + std::to_string(::getpid()) + ".0");
    const auto other = dir / "other.tmp.2147483646.0";
    for (const auto& p : {dead, live, other}) write_file_atomically(p, bytes_of("partial"), "test");
    const auto removed = remove_stale_temporaries(target);
    REQUIRE(removed.size() == 1);
    CHECK(removed[0] == dead);
    CHECK_FALSE(std::filesystem::exists(dead));
    CHECK(std::filesystem::exists(live));
    CHECK(std::filesystem::exists(other));  // a temporary of another file is not this one's
}
