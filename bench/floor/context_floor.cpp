// The floor of train_lm's default model: the step written by hand. Like the other floors it is compiled with
// the best flags the machine allows (-O3 -march=native, bench/CMakeLists.txt), and the tanh loop is vectorised
// through glibc's libmvec (#pragma omp simd), so the ratio step/floor shows what the library's build leaves on
// the table.
#include "context_model.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "floor_common.hpp"

namespace bench {

namespace {

using floor::gemm;
using floor::kParallelMin;
using floor::Param;

// Column sums of an n×c matrix into out (1×c): a bias's gradient.
void column_sums(const float* x, std::size_t n, std::size_t c, float* out) {
    std::fill(out, out + c, 0.0f);
    for (std::size_t r = 0; r < n; ++r)
        for (std::size_t j = 0; j < c; ++j) out[j] += x[r * c + j];
}

}  // namespace

struct ContextMlpFloor::Buffers {
    Param E, W1, b1, W2, b2;
    std::vector<float> x, a, z, da, dx;
};

ContextMlpFloor::ContextMlpFloor(const ContextMlpSize& s, const AdamSettings& adam, std::vector<std::vector<float>> p)
    : size_(s), adam_(adam) {
    if (p.size() != 5) throw std::invalid_argument("ContextMlpFloor: expected 5 parameters (E, W1, b1, W2, b2)");
    b_.reset(new Buffers{Param(std::move(p[0])), Param(std::move(p[1])), Param(std::move(p[2])), Param(std::move(p[3])),
                         Param(std::move(p[4])), std::vector<float>(s.n * s.k * s.d), std::vector<float>(s.n * s.h),
                         std::vector<float>(s.n * s.w), std::vector<float>(s.n * s.h), std::vector<float>(s.n * s.k * s.d)});
}

ContextMlpFloor::~ContextMlpFloor() = default;

float ContextMlpFloor::step(const std::vector<std::int64_t>& ctx, const std::vector<std::int64_t>& targets) {
    const std::size_t n = size_.n, k = size_.k, d = size_.d, h = size_.h, w = size_.w, kd = k * d;
    Buffers& b = *b_;
    // Forward. x: the k embeddings of each context side by side; a = tanh(x·W1 + b1); z = a·W2 + b2.
    for (std::size_t r = 0; r < n; ++r)
        for (std::size_t j = 0; j < k; ++j) std::copy_n(b.E.value.data() + ctx[r * k + j] * d, d, b.x.data() + r * kd + j * d);
    gemm(false, false, n, h, kd, b.x.data(), b.W1.value.data(), b.a.data());
    {
        float* a = b.a.data();
        const float* bias = b.b1.value.data();
        for (std::size_t r = 0; r < n; ++r) {
            float* row = a + r * h;
#pragma omp simd
            for (std::size_t j = 0; j < h; ++j) row[j] = std::tanh(row[j] + bias[j]);
        }
    }
    gemm(false, false, n, w, h, b.a.data(), b.W2.value.data(), b.z.data());
    // Fused bias + softmax-cross-entropy, in place: z becomes dL/dz = (softmax(z) − onehot(t)) / n.
    double loss = 0;
    const float inv_n = 1.0f / float(n);
    for (std::size_t r = 0; r < n; ++r) {
        float* zr = b.z.data() + r * w;
        const float* bias = b.b2.value.data();
        for (std::size_t j = 0; j < w; ++j) zr[j] += bias[j];
        float mx = zr[0];  // not −inf: -ffast-math assumes finite values
        for (std::size_t j = 1; j < w; ++j) mx = std::max(mx, zr[j]);
        float sum = 0;
#pragma omp simd reduction(+ : sum)
        for (std::size_t j = 0; j < w; ++j) sum += std::exp(zr[j] - mx);
        const float lse = mx + std::log(sum);
        loss += double(lse - zr[targets[r]]);
#pragma omp simd
        for (std::size_t j = 0; j < w; ++j) zr[j] = std::exp(zr[j] - lse) * inv_n;
        zr[targets[r]] -= inv_n;
    }
    // Backward: dW2 = aᵀ·dz, db2 = Σ_rows dz, da = dz·W2ᵀ ⊙ (1 − a²), dW1 = xᵀ·da, db1 = Σ_rows da, dx = da·W1ᵀ.
    gemm(true, false, h, w, n, b.a.data(), b.z.data(), b.W2.grad.data());
    column_sums(b.z.data(), n, w, b.b2.grad.data());
    gemm(false, true, n, h, w, b.z.data(), b.W2.value.data(), b.da.data());
    for (std::size_t i = 0; i < n * h; ++i) b.da[i] *= 1.0f - b.a[i] * b.a[i];
    gemm(true, false, kd, h, n, b.x.data(), b.da.data(), b.W1.grad.data());
    column_sums(b.da.data(), n, h, b.b1.grad.data());
    gemm(false, true, n, kd, h, b.da.data(), b.W1.value.data(), b.dx.data());
    std::fill(b.E.grad.begin(), b.E.grad.end(), 0.0f);
    for (std::size_t r = 0; r < n; ++r)
        for (std::size_t j = 0; j < k; ++j) {
            float* row = b.E.grad.data() + ctx[r * k + j] * d;
            const float* src = b.dx.data() + r * kd + j * d;
            for (std::size_t c = 0; c < d; ++c) row[c] += src[c];
        }
    // clip_grad_norm (torch's): g ← g · (clip / (‖g‖ + 1e-6)) when that is < 1, ‖g‖ over every gradient.
    Param* params[] = {&b.E, &b.W1, &b.b1, &b.W2, &b.b2};
    double sq = 0;
    for (Param* p : params)
        for (float g : p->grad) sq += double(g) * double(g);
    const double norm = std::sqrt(sq);
    if (const double coef = double(size_.clip) / (norm + 1e-6); coef < 1.0) {
        const float scale = float(coef);
        for (Param* p : params)
            for (float& g : p->grad) g *= scale;
    }
    // Adam (bias-corrected), as in seed_floor.cpp.
    ++t_;
    const float step_size = float(double(adam_.lr) / (1.0 - std::pow(double(adam_.beta1), double(t_))));
    const float bc2 = float(std::sqrt(1.0 - std::pow(double(adam_.beta2), double(t_))));
    const float b1 = adam_.beta1, b2 = adam_.beta2, eps = adam_.eps;
    for (Param* p : params) {
        float* __restrict v = p->value.data();
        const float* __restrict g = p->grad.data();
        float* __restrict m = p->m.data();
        float* __restrict s = p->v.data();
        const std::int64_t count = std::int64_t(p->value.size());
#pragma omp parallel for simd schedule(static) if (count >= kParallelMin)
        for (std::int64_t i = 0; i < count; ++i) {
            m[i] = b1 * m[i] + (1.0f - b1) * g[i];
            s[i] = b2 * s[i] + (1.0f - b2) * g[i] * g[i];
            v[i] -= step_size * m[i] / (std::sqrt(s[i]) / bc2 + eps);
        }
    }
    return float(loss / double(n));
}

}  // namespace bench
