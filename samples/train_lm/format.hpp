// How train_lm prints numbers and durations in its log lines.
#pragma once

#include <cstdio>
#include <string>

namespace train_lm {

// x printed with a printf format ("%.4f" by default).
inline std::string num(double x, const char* fmt = "%.4f") {
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, x);
    return buf;
}

// "m:ss", seconds rounded.
inline std::string duration(double seconds) {
    const long s = long(seconds + 0.5);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    return buf;
}

}  // namespace train_lm
