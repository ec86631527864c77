// Matrix product through BLAS GEMM.
#pragma once

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

// a: n×k, b: k×m → n×m. For a chain h(i) = h(i-1)·p(i) its VJP is the design note's rule:
//   dp(i) += h(i-1)ᵀ · dh(i),   dh(i-1) += dh(i) · p(i)ᵀ
template <class T> Var<T> matmul(const Var<T>& a, const Var<T>& b);

// a: n×k, b: m×k → a·bᵀ (n×m), without materialising bᵀ: BLAS reads b transposed. What a tied output
// layer needs (logits = h·Eᵀ with E the vocab×d embedding table). VJP: da += dy·b, db += dyᵀ·a.
template <class T> Var<T> matmul_nt(const Var<T>& a, const Var<T>& b);

// x: n×k, W: k×m, b: 1×m → x·W + b (torch.nn.functional.linear with W stored in×out), one op: the rows start
// as b and one GEMM adds x·W. VJP: dx += dy·Wᵀ, dW += xᵀ·dy, db += Σ_rows dy.
template <class T> Var<T> affine(const Var<T>& x, const Var<T>& w, const Var<T>& b);

}  // namespace tapegrad
