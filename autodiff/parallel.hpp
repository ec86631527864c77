/// \file
/// Loops outside BLAS split over tapegrad's OpenMP pool (the one set_num_threads sizes) in contiguous
/// chunks, so that each chunk is one vectorisable loop. For op implementers and optimizers: a custom op or a
/// user's optimizer parallelises its loops the way the built-in ones do, without including <omp.h>.
/// Small loops stay on the calling thread: waking another costs more than it saves.
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad {

/// Below this much work (elements touched) a loop runs on one thread.
inline constexpr std::size_t kParallelMin = std::size_t(1) << 15;

/// The chunk callback behind parallel_for: context is the caller's functor, chunk the chunk's index.
using ChunkFn = void (*)(void* context, std::size_t chunk, std::size_t begin, std::size_t end);

/// Calls fn(context, chunk, begin, end) on disjoint chunks covering [0, n), one per thread of the pool (at
/// most max_chunks of them, numbered from 0), or once (chunk 0) on the calling thread when work <
/// kParallelMin, n == 1, the pool has one thread or a parallel region is already running. `work` is the
/// loop's size in elements touched.
void run_in_chunks(std::size_t n, std::size_t work, std::size_t max_chunks, ChunkFn fn, void* context);

/// The most chunks a loop is split into now: the pool's size (num_threads()).
std::size_t pool_size();

/// body(begin, end) on disjoint chunks covering [0, n) (see run_in_chunks). Allocates nothing.
template <class F>
void parallel_for(std::size_t n, std::size_t work, F&& body) {
    if (n == 0) return;
    if (work < kParallelMin || n == 1) {  // inline: a small model's many small loops pay no call
        body(std::size_t(0), n);
        return;
    }
    using Body = std::remove_reference_t<F>;
    run_in_chunks(
        n, work, pool_size(), [](void* c, std::size_t, std::size_t b, std::size_t e) { (*static_cast<Body*>(c))(b, e); },
        const_cast<void*>(static_cast<const void*>(&body)));
}

/// body(chunk, begin, end) with chunk < max_chunks: a loop whose chunks each need scratch of their own
/// (max_chunks slots of it, sized beforehand, e.g. from pool_size()).
template <class F>
void parallel_for_chunks(std::size_t n, std::size_t work, std::size_t max_chunks, F&& body) {
    if (n == 0) return;
    if (work < kParallelMin || n == 1) {
        body(std::size_t(0), std::size_t(0), n);
        return;
    }
    using Body = std::remove_reference_t<F>;
    run_in_chunks(
        n, work, max_chunks,
        [](void* c, std::size_t k, std::size_t b, std::size_t e) { (*static_cast<Body*>(c))(k, b, e); },
        const_cast<void*>(static_cast<const void*>(&body)));
}

/// Sets every element of t to value, in parallel chunks.
template <class T>
void parallel_fill(Tensor<T>& t, T value) {
    T* p = t.data();
    parallel_for(t.size(), t.size(), [&](std::size_t b, std::size_t e) { std::fill(p + b, p + e, value); });
}

}  // namespace tapegrad
