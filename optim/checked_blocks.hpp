// Internal (optimizers' .cpp files only): an update loop over a parameter's elements, split over OpenMP's
// threads in blocks, that never writes a non-finite gradient's consequence.
//
// Each block of kBlock elements is first scanned for a NaN/Inf gradient (the block is then in L1 for the
// update); a clean block is updated by update(begin, end), a tight loop the compiler vectorises. A block
// holding a non-finite gradient is not updated, its thread stops, and the lowest such index found is
// returned (n when every gradient was finite). Blocks before it were updated; with several threads, blocks
// of other threads' chunks may have been too. Nothing non-finite is ever written.
#pragma once

#include <atomic>
#include <cmath>
#include <cstddef>

#include "autodiff/parallel.hpp"

namespace tapegrad::detail {

inline constexpr std::size_t kUpdateBlock = 2048;

template <class T, class Update>
std::size_t update_finite_blocks(const T* g, std::size_t n, Update&& update) {
    std::atomic<std::size_t> first_bad{n};
    parallel_chunks(n, n, [&](std::size_t begin, std::size_t end) {
        for (std::size_t b = begin; b < end; b += kUpdateBlock) {
            const std::size_t e = std::min(end, b + kUpdateBlock);
            int nonfinite = 0;  // an int OR-reduction: GCC vectorises it (a bool &= it does not)
            for (std::size_t k = b; k < e; ++k) nonfinite |= !((g[k] - g[k]) == T(0));  // x − x is NaN for NaN and ±Inf
            if (nonfinite) {
                std::size_t k = b;
                while (std::isfinite(g[k])) ++k;
                std::size_t seen = first_bad.load();
                while (k < seen && !first_bad.compare_exchange_weak(seen, k)) {
                }
                return;
            }
            update(b, e);
        }
    });
    return first_bad.load();
}

}  // namespace tapegrad::detail
