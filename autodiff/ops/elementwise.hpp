/// \file
/// Elementwise ops. Binary ops broadcast: each dimension of a and b is equal or 1, so a bias row (1×c) adds
/// over the rows of an r×c matrix and a column (r×1) over its columns. The VJP of a broadcast operand sums
/// the gradient over the dimensions it was broadcast along.
#pragma once

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

/// a: ra×ca, b: rb×cb (each dimension equal or 1) → max(ra,rb) × max(ca,cb)
template <class T> Var<T> add(const Var<T>& a, const Var<T>& b);
template <class T> Var<T> sub(const Var<T>& a, const Var<T>& b);
template <class T> Var<T> mul(const Var<T>& a, const Var<T>& b);
template <class T> Var<T> div(const Var<T>& a, const Var<T>& b);

/// x: r×c → r×c
template <class T> Var<T> neg(const Var<T>& x);
template <class T> Var<T> exp(const Var<T>& x);
template <class T> Var<T> log(const Var<T>& x);     ///< DomainError for x < 0
template <class T> Var<T> sqrt(const Var<T>& x);    ///< DomainError for x < 0
template <class T> Var<T> square(const Var<T>& x);
template <class T> Var<T> tanh(const Var<T>& x);
template <class T> Var<T> sigmoid(const Var<T>& x);
template <class T> Var<T> relu(const Var<T>& x);
template <class T> Var<T> gelu(const Var<T>& x);    ///< exact: x·Φ(x), as torch.nn.GELU()
template <class T> Var<T> pow(const Var<T>& x, double p);  ///< DomainError for x < 0 and non-integer p

/// With a scalar s: x + s, x·s, x / s, s − x, s / x.
template <class T> Var<T> add(const Var<T>& x, double s);
template <class T> Var<T> mul(const Var<T>& x, double s);
template <class T> Var<T> div(const Var<T>& x, double s);  ///< DomainError for s = 0
template <class T> Var<T> rsub(double s, const Var<T>& x);
template <class T> Var<T> rdiv(double s, const Var<T>& x);

template <class T> Var<T> operator+(const Var<T>& a, const Var<T>& b) { return add(a, b); }
template <class T> Var<T> operator-(const Var<T>& a, const Var<T>& b) { return sub(a, b); }
template <class T> Var<T> operator*(const Var<T>& a, const Var<T>& b) { return mul(a, b); }
template <class T> Var<T> operator/(const Var<T>& a, const Var<T>& b) { return div(a, b); }
template <class T> Var<T> operator-(const Var<T>& x) { return neg(x); }
template <class T> Var<T> operator+(const Var<T>& x, double s) { return add(x, s); }
template <class T> Var<T> operator+(double s, const Var<T>& x) { return add(x, s); }
template <class T> Var<T> operator-(const Var<T>& x, double s) { return add(x, -s); }
template <class T> Var<T> operator-(double s, const Var<T>& x) { return rsub(s, x); }
template <class T> Var<T> operator*(const Var<T>& x, double s) { return mul(x, s); }
template <class T> Var<T> operator*(double s, const Var<T>& x) { return mul(x, s); }
template <class T> Var<T> operator/(const Var<T>& x, double s) { return div(x, s); }
template <class T> Var<T> operator/(double s, const Var<T>& x) { return rdiv(s, x); }

}  // namespace tapegrad
