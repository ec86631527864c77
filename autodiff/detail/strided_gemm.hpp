// Internal to autodiff/ops: GEMM on blocks addressed by pointer and leading dimension (row blocks of a
// matrix, one head's columns), which xtensor-blas's gemm on whole tensors cannot express. OpenBLAS's
// <cblas.h> cannot share a translation unit with xtensor-blas, so the calls live in strided_gemm.cpp.
#pragma once

#include <cstddef>

namespace tapegrad::detail {

// C(M×N) = op(A)·op(B) + beta·C, row-major, leading dimensions the stored row lengths.
void gemm(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, const float* A, std::size_t lda, const float* B,
          std::size_t ldb, float* C, std::size_t ldc, float beta);
void gemm(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, const double* A, std::size_t lda, const double* B,
          std::size_t ldb, double* C, std::size_t ldc, double beta);

}  // namespace tapegrad::detail
