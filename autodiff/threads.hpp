// How many threads tapegrad uses: OpenBLAS's pool (the GEMMs) and OpenMP's (every other loop over large
// tensors). Both default to the machine's cores.
//
// Set OMP_WAIT_POLICY=passive in the environment when both pools run: OpenMP threads that spin after a
// loop otherwise steal the cores OpenBLAS's next GEMM needs (measured up to 2x slower GEMMs on 2 cores).
#pragma once

namespace tapegrad {

// Sizes both pools; UsageError unless threads >= 1.
void set_num_threads(int threads);
// The OpenMP pool's size (OpenBLAS's is set to the same by set_num_threads).
int num_threads();

// For a program's main, first thing: when OMP_WAIT_POLICY is not set, sets it to passive and re-executes
// the program (/proc/self/exe, same argv) so that OpenMP reads it at start-up; returns only if it was
// already set or re-executing failed. OpenMP reads the variable once, before main runs.
void reexec_with_passive_openmp_wait(char** argv);

}  // namespace tapegrad
