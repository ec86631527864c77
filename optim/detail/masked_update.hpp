// Internal (optimizers' .cpp files only): an update loop over a parameter's elements, split over OpenMP's
// threads, that never writes the consequence of a non-finite gradient.
//
// update(begin, end) updates elements [begin, end) with a branch-free loop the compiler vectorises: it
// computes every element's new values, but stores them only where the gradient is finite (elsewhere it
// stores back the old values: a blend, free in a loop bound by memory), and returns whether it met a
// non-finite gradient. There is no separate scan of the gradient: the check rides on the update's loads.
// Returns the index of the first non-finite gradient element, or n when all were finite.
#pragma once

#include <atomic>
#include <cstddef>

#include "tapegrad/autodiff/finite.hpp"
#include "tapegrad/autodiff/parallel.hpp"

namespace tapegrad::detail {

template <class T, class Update>
std::size_t update_where_finite(const T* g, std::size_t n, Update&& update) {
    std::atomic<bool> any_nonfinite{false};
    parallel_for(n, n, [&](std::size_t begin, std::size_t end) {
        if (update(begin, end)) any_nonfinite.store(true);
    });
    return any_nonfinite.load() ? first_nonfinite(g, n) : n;
}

// x − x is 0 for every finite x and NaN for NaN and ±Inf.
template <class T>
inline bool is_finite_fast(T x) {
    return (x - x) == T(0);
}

}  // namespace tapegrad::detail
