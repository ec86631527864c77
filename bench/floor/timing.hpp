// Timing helpers of the bench: a call's wall time and the median of a sample.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace bench {

template <class F>
double time_ms(F&& f) {
    const auto start = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

inline double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// Times `repeats` pairs of (ours, floor) back to back, the order alternating, after a warm-up of a tenth
// as many; returns the medians of each and of the per-pair ratios ours/floor.
struct PairTimes {
    double ours_ms, floor_ms, ratio;
};

template <class Ours, class Floor>
PairTimes time_pairs(int repeats, Ours&& ours, Floor&& floor) {
    for (int k = 0; k < std::max(2, repeats / 10); ++k) {
        ours();
        floor();
    }
    std::vector<double> t_ours, t_floor, ratios;
    for (int r = 0; r < repeats; ++r) {
        double a, b;
        if (r % 2 == 0) {
            a = time_ms(ours);
            b = time_ms(floor);
        } else {
            b = time_ms(floor);
            a = time_ms(ours);
        }
        t_ours.push_back(a);
        t_floor.push_back(b);
        ratios.push_back(a / b);
    }
    return {median(t_ours), median(t_floor), median(ratios)};
}

}  // namespace bench
