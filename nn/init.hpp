/// \file
/// Deterministic initialisation: the same seed gives the same parameters on every machine and build
/// (std::mt19937_64's output is fixed by the standard; the conversions to uniform and normal numbers are
/// our own, not the library's implementation-defined distributions).
#pragma once

#include <cstdint>
#include <random>

#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad {

class Generator {
public:
    explicit Generator(std::uint64_t seed = 0) : engine_(seed) {}
    std::uint64_t next() { return engine_(); }
    /// Uniform in [0, 1) with 53 random bits.
    double uniform() { return double(engine_() >> 11) * 0x1.0p-53; }
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    /// Standard normal (Box–Muller, both values used).
    double normal();
    /// Uniform integer in [0, n).
    std::uint64_t below(std::uint64_t n);

private:
    std::mt19937_64 engine_;
    double spare_ = 0;
    bool has_spare_ = false;
};

template <class T>
Tensor<T> uniform_tensor(std::size_t rows, std::size_t cols, double lo, double hi, Generator& gen);
template <class T>
Tensor<T> normal_tensor(std::size_t rows, std::size_t cols, double mean, double stddev, Generator& gen);

/// Redraws a parameter's value from N(0, stddev²) in place, keeping its shape: how a model overrides a
/// layer's default initialisation (nanoGPT draws every matrix from N(0, 0.02²)). DomainError unless
/// stddev is finite and >= 0; UsageError unless p is a parameter.
template <class T>
void init_normal(const Var<T>& p, double stddev, Generator& gen);

}  // namespace tapegrad
