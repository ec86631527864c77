// What the hand-written floors (seed_floor.cpp, context_floor.cpp, gpt_floor.cpp) share: raw
// cblas_sgemm calls and a parameter with its Adam state. Include only from those files: <cblas.h> cannot
// share a translation unit with xtensor-blas.
#pragma once

#include <cblas.h>

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace bench::floor {

// Loops below this many elements run on one thread: waking the other costs more than it saves.
inline constexpr std::int64_t kParallelMin = 1 << 15;

struct Param {
    std::vector<float> value, grad, m, v;
    explicit Param(std::vector<float> init) : value(std::move(init)), grad(value.size()), m(value.size()), v(value.size()) {}
};

// C(M×N) = op(A)·op(B) + beta·C, row-major with leading dimensions; op(X) = Xᵀ when the flag is set.
inline void gemm(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, const float* A, std::size_t lda, const float* B,
                 std::size_t ldb, float* C, std::size_t ldc, float beta) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(M), int(N), int(K), 1.0f, A,
                int(lda), B, int(ldb), beta, C, int(ldc));
}

// The same on whole matrices (each stored with its own row length).
inline void gemm(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, const float* A, const float* B, float* C,
                 float beta = 0.0f) {
    gemm(ta, tb, M, N, K, A, ta ? M : K, B, tb ? K : N, C, N, beta);
}

// The library's threading policy (docs/performance.md): inside a parallel region each thread's GEMMs run on
// that thread alone. Declare one of these before an `omp parallel` whose body calls gemm. The floors link
// OpenBLAS, not tapegrad, so this is their own copy of tapegrad::BlasOnOneThread (autodiff/threads.hpp).
class BlasOnOneThread {
public:
    BlasOnOneThread() : saved_(openblas_get_num_threads()) {
        if (saved_ > 1) openblas_set_num_threads(1);
    }
    ~BlasOnOneThread() {
        if (saved_ > 1) openblas_set_num_threads(saved_);
    }
    BlasOnOneThread(const BlasOnOneThread&) = delete;
    BlasOnOneThread& operator=(const BlasOnOneThread&) = delete;

private:
    int saved_;
};

}  // namespace bench::floor
