// read_regular_file / read_regular_text: regular files are read exactly; devices, FIFOs, directories,
// missing and oversized files fail at once with a FileError naming the path, what the file is for and why.
#include <catch2/catch.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tapegrad/nn/file_read.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using namespace tapegrad;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

// One scratch directory per test.
struct TempDir : test::TempDir {
    TempDir() : test::TempDir("tapegrad-file-read-test") {}
};

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

// The FileError thrown by f, or a failed test if it returns or throws anything else.
template <class F>
FileError file_error(F&& f) {
    try {
        f();
    } catch (const FileError& e) {
        return e;
    }
    FAIL("expected a FileError");
    throw;
}

// Open descriptors of this process (entries of /proc/self/fd, less the one listing them).
std::size_t open_descriptors() {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
        (void)e;
        ++n;
    }
    return n;
}

constexpr std::uint64_t kLimit = 1 << 20;

}  // namespace

TEST_CASE("read_regular_file reads a regular file exactly, binary bytes included", "[file_read]") {
    TempDir dir;
    const auto path = dir / "data.bin";
    const std::string content("ab\0\xff\n\r\x80z", 8);
    write_text(path, content);

    const std::vector<std::byte> bytes = read_regular_file(path, "test data", kLimit);
    REQUIRE(bytes.size() == 8);
    for (std::size_t i = 0; i < content.size(); ++i) CHECK(bytes[i] == std::byte(static_cast<unsigned char>(content[i])));
    CHECK(read_regular_text(path, "test data", kLimit) == content);
}

TEST_CASE("read_regular_file reads an empty regular file as empty", "[file_read]") {
    TempDir dir;
    const auto path = dir / "empty.txt";
    write_text(path, "");
    CHECK(read_regular_file(path, "corpus", kLimit).empty());
    CHECK(read_regular_text(path, "corpus", kLimit).empty());
    CHECK(read_regular_text(path, "corpus", 0).empty());  // 0 bytes is within a limit of 0
}

TEST_CASE("read_regular_file rejects a file over the limit, naming its size and the limit", "[file_read]") {
    TempDir dir;
    const auto path = dir / "ten.txt";
    write_text(path, "0123456789");
    CHECK(read_regular_text(path, "corpus", 10) == "0123456789");  // the limit itself is allowed
    const FileError e = file_error([&] { read_regular_text(path, "corpus", 9); });
    CHECK_THAT(e.what(), Equals("corpus '" + path.string() + "': is 10 bytes, over the limit of 9 bytes"));
    CHECK(e.path == path);
    CHECK(e.problem == "is 10 bytes, over the limit of 9 bytes");
}

TEST_CASE("read_regular_file rejects character devices without reading them", "[file_read]") {
    // /dev/zero and /dev/urandom never end: reading them whole used to grow a buffer until std::bad_alloc.
    for (const char* device : {"/dev/zero", "/dev/urandom", "/dev/null"}) {
        INFO(device);
        const FileError e = file_error([&] { read_regular_file(device, "checkpoint", kLimit); });
        CHECK_THAT(e.what(), Equals("checkpoint '" + std::string(device) + "': is a character device, not a regular file"));
        CHECK(e.path == device);
    }
}

TEST_CASE("read_regular_file rejects a FIFO at once, even without a writer", "[file_read]") {
    TempDir dir;
    const auto fifo = dir / "pipe";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    // A blocking open(O_RDONLY) of a FIFO waits for a writer forever.
    const std::string message = test::message_from_fifo_read(fifo, [&]() -> std::string {
        try {
            read_regular_text(fifo, "corpus", kLimit);
        } catch (const FileError& e) {
            return e.what();
        }
        return "returned without an error";
    });
    CHECK_THAT(message, Equals("corpus '" + fifo.string() + "': is a FIFO, not a regular file"));
}

TEST_CASE("read_regular_file rejects directories and sockets, saying what they are", "[file_read]") {
    TempDir dir;
    CHECK_THAT(file_error([&] { read_regular_file(dir.path(), "checkpoint", kLimit); }).what(),
               Equals("checkpoint '" + dir.path().string() + "': is a directory, not a regular file"));

    const auto socket_path = dir / "sock";
    const int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(s >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(socket_path.string().size() < sizeof addr.sun_path);
    std::strcpy(addr.sun_path, socket_path.c_str());
    const bool bound = ::bind(s, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    ::close(s);
    REQUIRE(bound);
    CHECK_THAT(file_error([&] { read_regular_file(socket_path, "corpus", kLimit); }).what(),
               Equals("corpus '" + socket_path.string() + "': is a socket, not a regular file"));
}

TEST_CASE("read_regular_file names a missing file and the OS error", "[file_read]") {
    TempDir dir;
    const auto missing = dir / "missing.txt";
    const FileError e = file_error([&] { read_regular_text(missing, "corpus", kLimit); });
    CHECK_THAT(e.what(), Equals("corpus '" + missing.string() + "': cannot open: " + std::strerror(ENOENT)));
    CHECK(e.problem == std::string("cannot open: ") + std::strerror(ENOENT));
}

TEST_CASE("read_regular_file follows a symbolic link to a regular file, and judges what it points at", "[file_read]") {
    TempDir dir;
    write_text(dir / "target.txt", "hello");
    fs::create_symlink(dir / "target.txt", dir / "link.txt");
    CHECK(read_regular_text(dir / "link.txt", "corpus", kLimit) == "hello");
    fs::create_symlink("/dev/zero", dir / "zero_link");
    CHECK_THAT(file_error([&] { read_regular_text(dir / "zero_link", "corpus", kLimit); }).what(),
               Contains("is a character device, not a regular file"));
}

TEST_CASE("read_regular_file leaves no descriptor open, whether it succeeds or fails", "[file_read]") {
    TempDir dir;
    write_text(dir / "a.txt", "abc");
    const std::size_t before = open_descriptors();
    for (int i = 0; i < 50; ++i) {
        CHECK(read_regular_text(dir / "a.txt", "corpus", kLimit) == "abc");
        CHECK_THROWS_AS(read_regular_text(dir / "a.txt", "corpus", 2), FileError);
        CHECK_THROWS_AS(read_regular_text("/dev/zero", "corpus", kLimit), FileError);
        CHECK_THROWS_AS(read_regular_text(dir / "missing", "corpus", kLimit), FileError);
    }
    CHECK(open_descriptors() == before);
}

TEST_CASE("file_kind names every kind of file", "[file_read]") {
    CHECK(file_kind(S_IFREG | 0644) == "a regular file");
    CHECK(file_kind(S_IFDIR | 0755) == "a directory");
    CHECK(file_kind(S_IFIFO | 0600) == "a FIFO");
    CHECK(file_kind(S_IFCHR | 0666) == "a character device");
    CHECK(file_kind(S_IFBLK | 0660) == "a block device");
    CHECK(file_kind(S_IFSOCK | 0755) == "a socket");
    CHECK(file_kind(S_IFLNK | 0777) == "a symbolic link");
    CHECK(file_kind(0) == "a file of unknown type");
}
