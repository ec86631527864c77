#include "cli_checks.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <sched.h>
#include <string>
#include <sys/stat.h>
#include <thread>

namespace train_lm::cli {

namespace {

std::string got(const std::string& text) { return ", got '" + text + "'"; }

// The whole of `text` as a double (strtod also takes "nan" and "inf", which the callers then reject).
bool parse_double(const std::string& text, double& value) {
    if (text.empty()) return false;
    char* end = nullptr;
    value = std::strtod(text.c_str(), &end);
    return end == text.c_str() + text.size();
}

template <class I>
std::string check_integer(const std::string& text, I min, I max, const char* kind) {
    const std::string expected = std::string("must be ") + kind + " from " + std::to_string(min) + " to " + std::to_string(max);
    // the whole text one decimal integer (from_chars takes no sign for unsigned types: "-1" fails) in range
    I value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) return expected + got(text);
    return {};
}

}  // namespace

CLI::Validator finite_positive() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            double v = 0;
            if (!parse_double(text, v) || !std::isfinite(v) || !(v > 0)) return "must be a finite number > 0" + got(text);
            return {};
        },
        "> 0");
}

CLI::Validator finite_non_negative() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            double v = 0;
            if (!parse_double(text, v) || !std::isfinite(v) || !(v >= 0)) return "must be a finite number >= 0" + got(text);
            return {};
        },
        ">= 0");
}

CLI::Validator unit_interval() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            double v = 0;
            if (!parse_double(text, v) || !(v >= 0 && v < 1)) return "must be a number in [0, 1)" + got(text);
            return {};
        },
        "in [0, 1)");
}

CLI::Validator integer_in(std::int64_t min, std::int64_t max) {
    return CLI::Validator([=](std::string& text) { return check_integer<std::int64_t>(text, min, max, "an integer"); },
                          "integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
}

CLI::Validator unsigned_in(std::uint64_t min, std::uint64_t max) {
    return CLI::Validator([=](std::string& text) { return check_integer<std::uint64_t>(text, min, max, "an integer"); },
                          "integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
}

CLI::Validator regular_file() {
    return CLI::Validator(
        [](std::string& path) -> std::string {
            struct stat st {};
            if (path.empty()) return "the path is empty";
            if (::stat(path.c_str(), &st) != 0) return "no such file: " + path;
            if (S_ISDIR(st.st_mode)) return path + " is a directory, not a file";
            if (!S_ISREG(st.st_mode)) return path + " is not a regular file (a device, FIFO or socket)";
            return {};
        },
        "FILE");
}

CLI::Validator non_empty() {
    return CLI::Validator([](std::string& text) -> std::string { return text.empty() ? "is empty" : ""; }, "");
}

int available_cores() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
    const unsigned n = std::thread::hardware_concurrency();
    return n > 0 ? int(n) : 1;
}

CLI::Validator thread_count() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            const int cores = available_cores();
            const std::string bad = check_integer<std::int64_t>(text, 0, cores, "an integer");
            if (bad.empty()) return {};
            return bad + " (0: one per core; this machine lets the process run on " + std::to_string(cores) +
                   " cores, and more threads than cores only slow OpenBLAS down and multiply its per-thread buffers)";
        },
        "0..cores");
}

}  // namespace train_lm::cli
