/// \file
/// Reductions: over all elements, or along one axis.
/// ~~~{.unparsed}
///   axis 0 sums over the rows    (r×c → 1×c)
///   axis 1 sums over the columns (r×c → r×1)
/// ~~~
#pragma once

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

template <class T> Var<T> sum(const Var<T>& x);             ///< r×c → 1×1
template <class T> Var<T> sum(const Var<T>& x, int axis);   ///< IndexError unless axis is 0 or 1
template <class T> Var<T> mean(const Var<T>& x);            ///< r×c → 1×1, divided by r·c
template <class T> Var<T> mean(const Var<T>& x, int axis);  ///< divided by the length of the axis
/// g summed over the axes where `shape` is 1 and g is not: the VJP of broadcasting a `shape` tensor to g's shape
/// (torch's sum_to_size). ShapeError unless each of shape's sizes is 1 or g's.
template <class T> Var<T> sum_to_shape(const Var<T>& g, Shape shape);

}  // namespace tapegrad
