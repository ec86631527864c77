#include "autodiff/threads.hpp"

#include <omp.h>

#include <string>

#include "autodiff/errors.hpp"

// OpenBLAS's own prototype; <cblas.h> cannot share a translation unit with xtensor-blas headers elsewhere.
extern "C" void openblas_set_num_threads(int);

namespace tapegrad {

void set_num_threads(int threads) {
    if (threads < 1) throw UsageError("set_num_threads: " + std::to_string(threads) + " threads (expected >= 1)");
    openblas_set_num_threads(threads);
    omp_set_num_threads(threads);
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace tapegrad
