// <cblas.h> comes through floor_common.hpp: it cannot share a translation unit with xtensor-blas.
#include "seed_floor.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "floor_common.hpp"

namespace bench {

ModelSize model_size(const std::string& name) {
    if (name == "tiny") return {"tiny", 64, 16, 64, 16};
    if (name == "small") return {"small", 8192, 256, 1024, 256};
    if (name == "large") return {"large", 32768, 768, 3072, 512};
    throw std::invalid_argument("unknown size '" + name + "' (expected tiny, small or large)");
}

void set_threads(int threads) {
    openblas_set_num_threads(threads);
    omp_set_num_threads(threads);
}

namespace {

using floor::gemm;
using floor::kParallelMin;
using floor::Param;

void adam_update(Param& p, const AdamSettings& a, long t) {
    const float step_size = float(double(a.lr) / (1.0 - std::pow(double(a.beta1), double(t))));
    const float bc2 = float(std::sqrt(1.0 - std::pow(double(a.beta2), double(t))));
    const float b1 = a.beta1, b2 = a.beta2, eps = a.eps;
    float* __restrict v = p.value.data();
    const float* __restrict g = p.grad.data();
    float* __restrict m = p.m.data();
    float* __restrict s = p.v.data();
    const std::int64_t n = std::int64_t(p.value.size());
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (std::int64_t k = 0; k < n; ++k) {
        m[k] = b1 * m[k] + (1.0f - b1) * g[k];
        s[k] = b2 * s[k] + (1.0f - b2) * g[k] * g[k];
        v[k] -= step_size * m[k] / (std::sqrt(s[k]) / bc2 + eps);
    }
}

}  // namespace

struct FloorStep::Buffers {
    Param E, W3, W2, W1;
    std::vector<float> h3, h2, h1, z, dh1, dh2, dh3;
};

FloorStep::FloorStep(const ModelSize& s, const AdamSettings& adam, std::vector<float> E, std::vector<float> W3,
                     std::vector<float> W2, std::vector<float> W1)
    : size_(s), adam_(adam) {
    b_.reset(new Buffers{Param(std::move(E)), Param(std::move(W3)), Param(std::move(W2)), Param(std::move(W1)),
                         std::vector<float>(s.n * s.d), std::vector<float>(s.n * s.f), std::vector<float>(s.n * s.d),
                         std::vector<float>(s.n * s.w), std::vector<float>(s.n * s.d), std::vector<float>(s.n * s.f),
                         std::vector<float>(s.n * s.d)});
}

FloorStep::~FloorStep() = default;

float FloorStep::step(const std::vector<std::int64_t>& ids, const std::vector<std::int64_t>& targets) {
    const std::size_t w = size_.w, d = size_.d, f = size_.f, n = size_.n;
    Buffers& b = *b_;
    // Forward: gather, then h(i) = h(i−1)·p(i).
    for (std::size_t k = 0; k < n; ++k) std::copy_n(b.E.value.data() + ids[k] * d, d, b.h3.data() + k * d);
    gemm(false, false, n, f, d, b.h3.data(), b.W3.value.data(), b.h2.data());
    gemm(false, false, n, d, f, b.h2.data(), b.W2.value.data(), b.h1.data());
    gemm(false, false, n, w, d, b.h1.data(), b.W1.value.data(), b.z.data());
    // Fused softmax-cross-entropy, in place: z becomes dz = (softmax(z) − onehot(t)) / n.
    double loss = 0;
    const float inv_n = 1.0f / float(n);
#pragma omp parallel for schedule(static) reduction(+ : loss) if (std::int64_t(n * w) >= kParallelMin)
    for (std::int64_t r = 0; r < std::int64_t(n); ++r) {
        float* zr = b.z.data() + r * w;
        float mx = zr[0];
        for (std::size_t j = 1; j < w; ++j) mx = std::max(mx, zr[j]);
        float sum = 0;
        for (std::size_t j = 0; j < w; ++j) sum += std::exp(zr[j] - mx);
        const float lse = mx + std::log(sum);
        loss += double(lse - zr[targets[r]]);
        for (std::size_t j = 0; j < w; ++j) zr[j] = std::exp(zr[j] - lse) * inv_n;
        zr[targets[r]] -= inv_n;
    }
    // Backward: dp(i) = h(i−1)ᵀ·dh(i), dh(i−1) = dh(i)·p(i)ᵀ.
    gemm(true, false, d, w, n, b.h1.data(), b.z.data(), b.W1.grad.data());
    gemm(false, true, n, d, w, b.z.data(), b.W1.value.data(), b.dh1.data());
    gemm(true, false, f, d, n, b.h2.data(), b.dh1.data(), b.W2.grad.data());
    gemm(false, true, n, f, d, b.dh1.data(), b.W2.value.data(), b.dh2.data());
    gemm(true, false, d, f, n, b.h3.data(), b.dh2.data(), b.W3.grad.data());
    gemm(false, true, n, d, f, b.dh2.data(), b.W3.value.data(), b.dh3.data());
    // Embedding: zero the table's gradient, then scatter-add the rows of dh3.
    float* gE = b.E.grad.data();
    const std::int64_t nE = std::int64_t(w * d);
#pragma omp parallel for schedule(static) if (nE >= kParallelMin)
    for (std::int64_t k = 0; k < nE; ++k) gE[k] = 0.0f;
    for (std::size_t k = 0; k < n; ++k) {
        float* row = gE + ids[k] * d;
        const float* src = b.dh3.data() + k * d;
        for (std::size_t j = 0; j < d; ++j) row[j] += src[j];
    }
    ++t_;
    for (Param* p : {&b.E, &b.W3, &b.W2, &b.W1}) adam_update(*p, adam_, t_);
    return float(loss / double(n));
}

}  // namespace bench
