// Internal to autodiff/ops: loops over contiguous rows on xsimd batches (8 floats with AVX2, 16 with
// AVX-512), for the transcendental functions that glibc computes one element at a time. Include only from
// .cpp files (xsimd is a build-only dependency).
//
// Every element is computed by the same batch instructions wherever it falls: a row's tail goes through one
// batch padded with a neutral value, so results do not depend on chunk boundaries or the thread count.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include <xsimd/xsimd.hpp>

namespace tapegrad::detail {

// y[i] = f(x[i]) for i in [0, n), f taking and returning a batch. x and y may be the same array.
template <class T, class F>
void map_batches(const T* x, T* y, std::size_t n, F f) {
    using B = xsimd::batch<T>;
    constexpr std::size_t L = B::size;
    std::size_t i = 0;
    for (; i + L <= n; i += L) f(B::load_unaligned(x + i)).store_unaligned(y + i);
    if (i < n) {
        alignas(B::arch_type::alignment()) T buf[L] = {};
        std::copy(x + i, x + n, buf);
        f(B::load_aligned(buf)).store_aligned(buf);
        std::copy(buf, buf + (n - i), y + i);
    }
}

// y[i] += f(x[i]) for i in [0, n), the tail through one zero-padded batch as in map_batches.
template <class T, class F>
void add_mapped_batches(const T* x, T* y, std::size_t n, F f) {
    using B = xsimd::batch<T>;
    constexpr std::size_t L = B::size;
    std::size_t i = 0;
    for (; i + L <= n; i += L) (B::load_unaligned(y + i) + f(B::load_unaligned(x + i))).store_unaligned(y + i);
    if (i < n) {
        alignas(B::arch_type::alignment()) T buf[L] = {};
        std::copy(x + i, x + n, buf);
        f(B::load_aligned(buf)).store_aligned(buf);
        for (std::size_t j = 0; j < n - i; ++j) y[i + j] += buf[j];
    }
}

// out[i] = f(x[i], y[i], w[i]), or out[i] += … when `accumulate`, for i in [0, n): a VJP's dx (+)= dy ⊙ f'(x, y)
// reading the input, the output and dy. The tail goes through one zero-padded batch as in map_batches.
template <class T, class F>
void map3_batches(const T* x, const T* y, const T* w, T* out, std::size_t n, bool accumulate, F f) {
    using B = xsimd::batch<T>;
    constexpr std::size_t L = B::size;
    std::size_t i = 0;
    if (accumulate)
        for (; i + L <= n; i += L)
            (B::load_unaligned(out + i) + f(B::load_unaligned(x + i), B::load_unaligned(y + i), B::load_unaligned(w + i)))
                .store_unaligned(out + i);
    else
        for (; i + L <= n; i += L)
            f(B::load_unaligned(x + i), B::load_unaligned(y + i), B::load_unaligned(w + i)).store_unaligned(out + i);
    if (i < n) {
        alignas(B::arch_type::alignment()) T bx[L] = {}, by[L] = {}, bw[L] = {};
        std::copy(x + i, x + n, bx);
        std::copy(y + i, y + n, by);
        std::copy(w + i, w + n, bw);
        f(B::load_aligned(bx), B::load_aligned(by), B::load_aligned(bw)).store_aligned(bx);
        for (std::size_t j = 0; j < n - i; ++j) out[i + j] = accumulate ? out[i + j] + bx[j] : bx[j];
    }
}

// x[j] ← x[j]·s for j in [0, n), and returns the largest of the results (lane-wise maxima, combined in a
// fixed order; the tail's padding is −∞).
template <class T>
T scale_and_max(T* x, std::size_t n, T s) {
    using B = xsimd::batch<T>;
    constexpr std::size_t L = B::size;
    const B sb(s);
    B top(-std::numeric_limits<T>::infinity());
    std::size_t i = 0;
    for (; i + L <= n; i += L) {
        const B v = B::load_unaligned(x + i) * sb;
        v.store_unaligned(x + i);
        top = xsimd::max(top, v);
    }
    alignas(B::arch_type::alignment()) T lanes[L];
    top.store_aligned(lanes);
    T m = lanes[0];
    for (std::size_t l = 1; l < L; ++l) m = std::max(m, lanes[l]);
    for (; i < n; ++i) m = std::max(m, x[i] *= s);
    return m;
}

// x[j] ← exp(x[j] − shift) for j in [0, n), and returns Σ_j of the results (lane-wise partial sums added
// in a fixed order; the tail through one batch padded with −∞, whose exp is 0).
template <class T>
T exp_shifted_in_place(T* x, std::size_t n, T shift) {
    using B = xsimd::batch<T>;
    constexpr std::size_t L = B::size;
    const B s(shift);
    B acc(T(0));
    std::size_t i = 0;
    for (; i + L <= n; i += L) {
        const B e = xsimd::exp(B::load_unaligned(x + i) - s);
        e.store_unaligned(x + i);
        acc += e;
    }
    if (i < n) {
        alignas(B::arch_type::alignment()) T buf[L];
        std::fill(buf, buf + L, -std::numeric_limits<T>::infinity());
        std::copy(x + i, x + n, buf);
        const B e = xsimd::exp(B::load_aligned(buf) - s);
        e.store_aligned(buf);
        acc += e;
        std::copy(buf, buf + (n - i), x + i);
    }
    return xsimd::hadd(acc);
}

// Σ_i f(x[i]) over a row, f taking a batch: lane-wise partial sums added in a fixed order (the same bits at
// any thread count; a scalar sum would not vectorise, floating-point addition not being associative). The
// tail goes through one batch filled with `pad`, which f must map to 0.
template <class T, class F>
T sum_mapped_batches(const T* x, std::size_t n, T pad, F f) {
    using B = xsimd::batch<T>;
    constexpr std::size_t L = B::size;
    B acc(T(0));
    std::size_t i = 0;
    for (; i + L <= n; i += L) acc += f(B::load_unaligned(x + i));
    if (i < n) {
        alignas(B::arch_type::alignment()) T buf[L];
        std::fill(buf, buf + L, pad);
        std::copy(x + i, x + n, buf);
        acc += f(B::load_aligned(buf));
    }
    return xsimd::hadd(acc);
}

// Σ_j exp(x_j − shift) over a row (the tail's padding is −∞, whose exp is 0).
template <class T>
T sum_exp_shifted(const T* x, std::size_t n, T shift) {
    using B = xsimd::batch<T>;
    const B s(shift);
    return sum_mapped_batches(x, n, -std::numeric_limits<T>::infinity(), [&s](const B& v) { return xsimd::exp(v - s); });
}

}  // namespace tapegrad::detail
