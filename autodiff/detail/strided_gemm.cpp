#include "tapegrad/autodiff/detail/strided_gemm.hpp"

#include <cblas.h>

namespace tapegrad::detail {

void gemm(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, const float* A, std::size_t lda, const float* B,
          std::size_t ldb, float* C, std::size_t ldc, float beta) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(M), int(N), int(K), 1.0f, A,
                int(lda), B, int(ldb), beta, C, int(ldc));
}

void gemm(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, const double* A, std::size_t lda, const double* B,
          std::size_t ldb, double* C, std::size_t ldc, double beta) {
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(M), int(N), int(K), 1.0, A,
                int(lda), B, int(ldb), beta, C, int(ldc));
}

}  // namespace tapegrad::detail
