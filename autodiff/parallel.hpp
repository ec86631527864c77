// Internal: the loops outside BLAS (softmax-CE, scatter-add, zero-fill, Adam) split over OpenMP's threads
// in contiguous chunks, so each chunk is one vectorisable loop. Small loops stay on the calling thread:
// waking another costs more than it saves. Include only from .cpp files compiled with OpenMP
// (libraries link OpenMP::OpenMP_CXX privately); the public thread setting is autodiff/threads.hpp.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstddef>

#include "autodiff/tensor.hpp"

namespace tapegrad::detail {

// Below this much work (elements touched) a loop runs on one thread.
inline constexpr std::size_t kParallelMin = std::size_t(1) << 15;

// Calls body(begin, end) on disjoint chunks covering [0, n); `work` is the loop's size in elements.
template <class F>
void parallel_chunks(std::size_t n, std::size_t work, F&& body) {
    if (n == 0) return;
    if (work < kParallelMin || n == 1 || omp_get_max_threads() == 1 || omp_in_parallel()) {
        body(std::size_t(0), n);
        return;
    }
#pragma omp parallel
    {
        const std::size_t threads = std::size_t(omp_get_num_threads()), t = std::size_t(omp_get_thread_num());
        const std::size_t chunk = (n + threads - 1) / threads;
        const std::size_t begin = std::min(n, t * chunk), end = std::min(n, begin + chunk);
        if (begin < end) body(begin, end);
    }
}

template <class T>
void fill(Tensor<T>& t, T value) {
    T* p = t.data();
    parallel_chunks(t.size(), t.size(), [&](std::size_t b, std::size_t e) { std::fill(p + b, p + e, value); });
}

}  // namespace tapegrad::detail
