/// \file
/// Tensor type of tapegrad: every value on the tape is a row-major 2-D matrix.
/// A scalar is 1×1, a row vector 1×c, a column vector r×1.
///
/// Dims legend of the design note (docs/math.md), used in shape comments:
/// ~~~{.unparsed}
///   n  positions in a batch (tokens)      d  embedding / model width
///   f  hidden (FFN) width                 w  vocabulary size
/// ~~~
#pragma once

#include <array>
#include <cstddef>
#include <string>

#include <xtensor/xtensor.hpp>

namespace tapegrad {

template <class T>
using Tensor = xt::xtensor<T, 2>;

using Shape = std::array<std::size_t, 2>;

/// "3x4": how shapes appear in error messages and in the tape listing.
std::string shape_str(const Shape& s);

template <class T>
Shape shape_of(const Tensor<T>& t) {
    return {t.shape()[0], t.shape()[1]};
}

}  // namespace tapegrad
