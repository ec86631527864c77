/// \file
/// How many threads tapegrad uses: OpenBLAS's pool (the GEMMs) and OpenMP's (every other loop over large
/// tensors). Both default to the machine's cores.
///
/// Set OMP_WAIT_POLICY=passive in the environment when both pools run: OpenMP threads that spin after a
/// loop otherwise steal the cores OpenBLAS's next GEMM needs (measured up to 2x slower GEMMs on 2 cores).
#pragma once

#include <string>

namespace tapegrad {

/// The threading policy's third rule (docs/performance.md, "Who owns the cores"): while one of these lives,
/// OpenBLAS runs every GEMM on the calling thread alone; its pool's size comes back when it is destroyed.
/// run_in_chunks holds one for each parallel region, so a GEMM called inside a region never wakes OpenBLAS's
/// own threads (Debian's OpenBLAS is the pthreads build, which does not check omp_in_parallel()). Create and
/// destroy it on the thread that opens the region, outside any region.
class BlasOnOneThread {
public:
    BlasOnOneThread();
    ~BlasOnOneThread();
    BlasOnOneThread(const BlasOnOneThread&) = delete;
    BlasOnOneThread& operator=(const BlasOnOneThread&) = delete;

private:
    int saved_;
};

/// Sizes both pools; UsageError unless threads >= 1.
void set_num_threads(int threads);
/// The OpenMP pool's size (OpenBLAS's is set to the same by set_num_threads).
int num_threads();

/// For a program's main, first thing: when OMP_WAIT_POLICY is not set, sets it to passive and re-executes
/// the program (/proc/self/exe, same argv) so that OpenMP reads it at start-up; returns only if it was
/// already set or re-executing failed. OpenMP reads the variable once, before main runs.
void reexec_with_passive_openmp_wait(char** argv);

/// The GEMM kernels OpenBLAS runs ("SkylakeX", "Haswell", "Zen", "Prescott", ...: openblas_get_corename()).
std::string blas_kernel();

/// The OpenBLAS kernel family this CPU runs best, as OPENBLAS_CORETYPE spells it: "SkylakeX" with AVX-512
/// (F, BW, DQ, VL), "Haswell" with AVX2 and FMA, "" otherwise (or on another architecture).
std::string best_blas_kernel();

/// True when the CPU has AVX2+FMA (or AVX-512) but OpenBLAS runs pre-AVX2 kernels: some OpenBLAS builds do
/// not recognise a newer CPU (Debian's 0.3.21 on some Xeons picks the SSE3 "Prescott" kernels, 3–4x slower
/// GEMMs). An AVX2 family that OpenBLAS chose itself (Haswell, Zen) counts as current.
bool blas_kernel_is_generic();

/// For a program's main, first thing, instead of reexec_with_passive_openmp_wait: sets what the process
/// must know before its libraries start, then re-executes the program once (/proc/self/exe, same argv, same
/// pid) if anything changed:
///   - OMP_WAIT_POLICY=passive (see above);
///   - OPENBLAS_CORETYPE=best_blas_kernel() when OpenBLAS fell back to older kernels (blas_kernel_is_generic).
/// A variable the user or the machine has set is never changed. Returns when nothing needed changing, or
/// when re-executing failed (the program then runs as it is).
void reexec_with_machine_settings(char** argv);

}  // namespace tapegrad
