/// \file
/// Where the first NaN or Inf of a buffer is, for error messages (anomaly mode, optimizers, gradient
/// clipping, checkpoint loading; a user's optimizer can do the same). Not on any hot path: callers reach it once
/// they know something is not finite.
#pragma once

#include <cmath>
#include <cstddef>

namespace tapegrad {

/// Index of the first element of p[0, n) that is NaN or ±Inf; n when all are finite.
template <class T>
std::size_t first_nonfinite(const T* p, std::size_t n) {
    std::size_t k = 0;
    while (k < n && std::isfinite(p[k])) ++k;
    return k;
}

}  // namespace tapegrad
