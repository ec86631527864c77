// Helpers shared by the tests: seeded random matrices and element-wise comparison.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <random>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#include "tapegrad/autodiff/autodiff.hpp"

namespace tapegrad::test {

// Uniform in [lo, hi), reproducible from the seed.
inline Tensor<double> random_matrix(std::size_t rows, std::size_t cols, unsigned seed, double lo = -1.0, double hi = 1.0) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> dist(lo, hi);
    Tensor<double> t({rows, cols});
    for (auto& v : t) v = dist(rng);
    return t;
}

// Same shape and the same bits in every element.
template <class T>
bool bitwise_equal(const Tensor<T>& a, const Tensor<T>& b) {
    return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// Every element within the absolute tolerance.
template <class A, class B>
void require_close(const A& actual, const B& expected, double tol) {
    REQUIRE(actual.shape()[0] == expected.shape()[0]);
    REQUIRE(actual.shape()[1] == expected.shape()[1]);
    for (std::size_t r = 0; r < actual.shape()[0]; ++r)
        for (std::size_t c = 0; c < actual.shape()[1]; ++c) {
            INFO("element (" << r << ", " << c << ")");
            REQUIRE(double(actual(r, c)) == Approx(double(expected(r, c))).margin(tol));
        }
}

// Plain matrix product written out, the independent reference for matmul-based checks.
inline Tensor<double> matmul_ref(const Tensor<double>& a, const Tensor<double>& b) {
    Tensor<double> out({a.shape()[0], b.shape()[1]}, 0.0);
    for (std::size_t i = 0; i < a.shape()[0]; ++i)
        for (std::size_t k = 0; k < a.shape()[1]; ++k)
            for (std::size_t j = 0; j < b.shape()[1]; ++j) out(i, j) += a(i, k) * b(k, j);
    return out;
}

inline Tensor<double> transpose_ref(const Tensor<double>& a) {
    Tensor<double> out({a.shape()[1], a.shape()[0]});
    for (std::size_t i = 0; i < a.shape()[0]; ++i)
        for (std::size_t j = 0; j < a.shape()[1]; ++j) out(j, i) = a(i, j);
    return out;
}

// A fresh directory under the system's temporary directory, removed with everything in it at the end of
// the scope (write permission restored first, for tests that take it away). `prefix` names the test.
class TempDir {
public:
    explicit TempDir(const std::string& prefix) {
        static int counter = 0;
        path_ = std::filesystem::temp_directory_path() /
                (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ec;
        std::filesystem::permissions(path_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
        std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

// Reading a FIFO that has no writer must fail at once, not block: runs read() (which returns the error
// message it caught, or a note that it returned without one) on another thread; if it has not returned
// after 10 s, opens the FIFO for writing (and closes it) to release it, and fails the test. No Catch macro
// runs off the main thread.
inline std::string message_from_fifo_read(const std::filesystem::path& fifo, const std::function<std::string()>& read) {
    auto result = std::async(std::launch::async, read);
    if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
        const int writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (writer >= 0) ::close(writer);
        result.wait();
        FAIL("reading " << fifo << " blocked on a FIFO without a writer");
    }
    return result.get();
}

}  // namespace tapegrad::test
