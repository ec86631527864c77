/// \file
/// Ops that move elements without changing them.
#pragma once

#include <vector>

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

template <class T> Var<T> reshape(const Var<T>& x, Shape shape);  ///< r×c → r'×c' with r'·c' = r·c (row-major order)
template <class T> Var<T> transpose(const Var<T>& x);             ///< r×c → c×r
/// x: r×c → shape, each dimension of x equal to the shape's or 1 (a row, a column, a 1×1 repeated);
/// VJP: dy summed over the repeated dimensions. x itself when the shapes are equal.
template <class T> Var<T> broadcast_to(const Var<T>& x, Shape shape);
/// [x0 | x1 | …]: r×c0, r×c1, … → r×(c0+c1+…)
template <class T> Var<T> concat_cols(const std::vector<Var<T>>& xs);
/// Columns [begin, begin + count) of x: r×c → r×count (concat_cols's inverse); IndexError outside x.
template <class T> Var<T> slice_cols(const Var<T>& x, std::size_t begin, std::size_t count);

}  // namespace tapegrad
