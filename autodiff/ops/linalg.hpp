/// \file
/// Matrix product through BLAS GEMM.
#pragma once

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

/// a: n×k, b: k×m → n×m. For a chain h(i) = h(i-1)·p(i) its VJP is the design note's rule:
/// ~~~{.unparsed}
///   dp(i) += h(i-1)ᵀ · dh(i),   dh(i-1) += dh(i) · p(i)ᵀ
/// ~~~
template <class T> Var<T> matmul(const Var<T>& a, const Var<T>& b);

/// c: n×m, a: n×k, b: k×m → c + a·b (torch.addmm) in one op: y starts as a copy of c and one GEMM with
/// beta = 1 adds the product. A residual connection's add fused with the matmul before it, so that the
/// product is never a tensor of its own. VJP: dc += dy, da += dy·bᵀ, db += aᵀ·dy.
template <class T> Var<T> addmm(const Var<T>& c, const Var<T>& a, const Var<T>& b);

/// a: n×k, b: m×k → a·bᵀ (n×m), without materialising bᵀ: BLAS reads b transposed. What a tied output
/// layer needs (logits = h·Eᵀ with E the vocab×d embedding table). VJP: da += dy·b, db += dyᵀ·a.
template <class T> Var<T> matmul_nt(const Var<T>& a, const Var<T>& b);

/// a: k×n, b: k×m → aᵀ·b (n×m), without materialising aᵀ: BLAS reads a transposed. What the graph rules of
/// matmul and matmul_nt use for a weight's gradient. VJP: da += b·dyᵀ, db += a·dy.
template <class T> Var<T> matmul_tn(const Var<T>& a, const Var<T>& b);

/// x: n×k, W: k×m, b: 1×m → x·W + b (torch.nn.functional.linear with W stored in×out), one op: the rows start
/// as b and one GEMM adds x·W. VJP: dx += dy·Wᵀ, dW += xᵀ·dy, db += Σ_rows dy.
template <class T> Var<T> affine(const Var<T>& x, const Var<T>& w, const Var<T>& b);

}  // namespace tapegrad
