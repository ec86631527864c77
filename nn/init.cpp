#include "tapegrad/nn/init.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

#include "tapegrad/autodiff/errors.hpp"

namespace tapegrad {

double Generator::normal() {
    if (has_spare_) {
        has_spare_ = false;
        return spare_;
    }
    // Box–Muller: r = √(−2 ln u1), θ = 2π u2 → (r cos θ, r sin θ), u1 in (0, 1].
    const double u1 = 1.0 - uniform(), u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1)), theta = 2.0 * std::numbers::pi * u2;
    spare_ = r * std::sin(theta);
    has_spare_ = true;
    return r * std::cos(theta);
}

std::uint64_t Generator::below(std::uint64_t n) {
    // Rejection keeps it unbiased: accept only draws below the largest multiple of n.
    if (n == 0) throw std::invalid_argument("Generator::below: n must be positive");
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t x;
    do x = engine_();
    while (x >= limit);
    return x % n;
}

template <class T>
Tensor<T> uniform_tensor(std::size_t rows, std::size_t cols, double lo, double hi, Generator& gen) {
    Tensor<T> t({rows, cols});
    for (auto& v : t) v = T(gen.uniform(lo, hi));
    return t;
}

template <class T>
Tensor<T> normal_tensor(std::size_t rows, std::size_t cols, double mean, double stddev, Generator& gen) {
    Tensor<T> t({rows, cols});
    for (auto& v : t) v = T(mean + stddev * gen.normal());
    return t;
}

template <class T>
void init_normal(const Var<T>& p, double stddev, Generator& gen) {
    if (!(std::isfinite(stddev) && stddev >= 0.0))
        throw DomainError("init_normal: stddev must be finite and >= 0, got " + std::to_string(stddev));
    Tensor<T>& value = p.mutable_value();
    for (auto& v : value) v = T(stddev * gen.normal());
}

template void init_normal(const Var<float>&, double, Generator&);
template void init_normal(const Var<double>&, double, Generator&);
template Tensor<float> uniform_tensor(std::size_t, std::size_t, double, double, Generator&);
template Tensor<double> uniform_tensor(std::size_t, std::size_t, double, double, Generator&);
template Tensor<float> normal_tensor(std::size_t, std::size_t, double, double, Generator&);
template Tensor<double> normal_tensor(std::size_t, std::size_t, double, double, Generator&);

}  // namespace tapegrad
