#include "autodiff/threads.hpp"

#include <omp.h>
#include <unistd.h>

#include <cstdlib>
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

void reexec_with_passive_openmp_wait(char** argv) {
    if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
    ::setenv("OMP_WAIT_POLICY", "passive", 1);
    ::execv("/proc/self/exe", argv);  // on failure: go on as we are, the variable set for child processes
}

}  // namespace tapegrad
