#include "tapegrad/autodiff/threads.hpp"
#include "tapegrad/autodiff/parallel.hpp"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>
#include <vector>

#include "tapegrad/autodiff/errors.hpp"

// OpenBLAS's own prototypes; <cblas.h> cannot share a translation unit with xtensor-blas headers elsewhere.
extern "C" void openblas_set_num_threads(int);
extern "C" int openblas_get_num_threads(void);
extern "C" char* openblas_get_corename(void);

namespace tapegrad {

std::size_t pool_size() { return std::size_t(std::max(1, omp_get_max_threads())); }

// Measured without it: a GPT step at T 256 2.5x slower at 2 threads than at 1, each of attention's region
// threads waking OpenBLAS's pool for its GEMMs, two pools fighting for two cores.
BlasOnOneThread::BlasOnOneThread() : saved_(openblas_get_num_threads()) {
    if (saved_ > 1) openblas_set_num_threads(1);
}

BlasOnOneThread::~BlasOnOneThread() {
    if (saved_ > 1) openblas_set_num_threads(saved_);
}

void run_in_chunks(std::size_t n, std::size_t work, std::size_t max_chunks, ChunkFn fn, void* context) {
    if (n == 0) return;
    const int threads_wanted = int(std::min<std::size_t>(max_chunks, std::size_t(omp_get_max_threads())));
    if (work < kParallelMin || n == 1 || threads_wanted <= 1 || omp_in_parallel()) {
        fn(context, 0, 0, n);
        return;
    }
    const BlasOnOneThread policy;  // GEMMs inside the region run on its threads alone
#pragma omp parallel num_threads(threads_wanted)
    {
        const std::size_t threads = std::size_t(omp_get_num_threads()), t = std::size_t(omp_get_thread_num());
        const std::size_t chunk = (n + threads - 1) / threads;
        const std::size_t begin = std::min(n, t * chunk), end = std::min(n, begin + chunk);
        if (begin < end) fn(context, t, begin, end);
    }
}

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
    if (best_blas_kernel().empty()) return false;
    // OpenBLAS's AVX2-or-better kernel families (lower case). Anything else (Prescott, Core2, Nehalem,
    // Sandybridge, Barcelona, ...) on a CPU with AVX2+FMA is a fallback; an AVX2 family on an AVX-512 CPU
    // (Haswell, Zen) is OpenBLAS's own choice and is left alone.
    const std::vector<std::string> current = {"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"};
    const std::string now = lower(blas_kernel());
    return std::find(current.begin(), current.end(), now) == current.end();
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
