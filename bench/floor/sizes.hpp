// The three model sizes of the benchmark: the design note's language model
// Embedding w×d → d×f → f×d → d×w, trained on n tokens per step.
#pragma once

#include <cstddef>
#include <string>

namespace bench {

struct ModelSize {
    std::string name;
    std::size_t w, d, f, n;
    std::size_t parameters() const { return w * d + d * f + f * d + d * w; }
    // Floating-point operations of the step's nine GEMMs: per matmul h(i) = h(i−1)·p(i) one forward and two
    // backward (dp = hᵀ·dh, dh_prev = dh·pᵀ), each 2·n·rows(p)·cols(p); the three p are d×f, f×d, d×w.
    double gemm_flops() const { return 3.0 * 2.0 * double(n) * double(d * f + f * d + d * w); }
};

// tiny, small or large; throws std::invalid_argument for anything else.
ModelSize model_size(const std::string& name);

// Adam's settings used by both the library's step and the floor.
struct AdamSettings {
    float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
};

}  // namespace bench
