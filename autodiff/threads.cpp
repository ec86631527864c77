#include "autodiff/threads.hpp"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>
#include <vector>

#include "autodiff/errors.hpp"

// OpenBLAS's own prototypes; <cblas.h> cannot share a translation unit with xtensor-blas headers elsewhere.
extern "C" void openblas_set_num_threads(int);
extern "C" char* openblas_get_corename(void);

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

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

}  // namespace

std::string blas_kernel() {
    const char* name = openblas_get_corename();
    return name ? std::string(name) : std::string();
}

std::string best_blas_kernel() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return "";
}

bool blas_kernel_is_generic() {
    const std::string best = best_blas_kernel(), now = lower(blas_kernel());
    if (best.empty()) return false;
    // Kernel families at least as capable as each choice (OpenBLAS's names, lower case).
    const std::vector<std::string> avx512 = {"skylakex", "cooperlake", "sapphirerapids"};
    std::vector<std::string> good = avx512;
    if (best == "Haswell") good.insert(good.end(), {"haswell", "zen", "skylake"});
    return std::find(good.begin(), good.end(), now) == good.end();
}

void reexec_with_machine_settings(char** argv) {
    bool changed = false;
    if (std::getenv("OMP_WAIT_POLICY") == nullptr) {
        ::setenv("OMP_WAIT_POLICY", "passive", 1);
        changed = true;
    }
    if (std::getenv("OPENBLAS_CORETYPE") == nullptr && blas_kernel_is_generic()) {
        ::setenv("OPENBLAS_CORETYPE", best_blas_kernel().c_str(), 1);
        changed = true;
    }
    if (changed) ::execv("/proc/self/exe", argv);  // on failure: go on as we are, the variables set for child processes
}

}  // namespace tapegrad
