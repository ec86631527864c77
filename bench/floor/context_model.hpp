// train_lm's default model as a bench size: the model users of the main job train.
//   context(k, d) linear(h) tanh linear(w), Adam, gradient-norm clip, batch n
//   E (w+1)×d (id w pads)  →  x n×(k·d)  →  W1 (k·d)×h, b1 1×h, tanh  →  W2 h×w, b2 1×w  →  logits n×w
// Two implementations of one step (forward, fused softmax-cross-entropy, backward, clip_grad_norm, Adam):
// the library's (ContextMlpStep: the model built from its spec, as train_lm does) and a floor written by
// hand (ContextMlpFloor: six cblas_sgemm calls on preallocated buffers and plain loops, compiled with the
// best flags this machine allows).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sizes.hpp"

namespace bench {

struct ContextMlpSize {
    std::size_t w = 98, k = 8, d = 24, h = 384, n = 256;  // w: the byte vocabulary of Debian's fortunes
    float clip = 1.0f;
    std::string spec() const;
    std::size_t parameters() const { return (w + 1) * d + k * d * h + h + h * w + w; }
    // GEMM work of a step: forward x·W1, a·W2; backward dW2 = aᵀ·dL, da = dL·W2ᵀ, dW1 = xᵀ·dh, dx = dh·W1ᵀ.
    double gemm_flops() const { return 3.0 * 2.0 * double(n) * double(k * d * h + h * w); }
};

class ContextMlpStep {
public:
    ContextMlpStep(const ContextMlpSize& size, const AdamSettings& adam, std::uint64_t seed);
    ~ContextMlpStep();
    // contexts: n×k ids (oldest first), targets: n; returns the mean cross-entropy before the update.
    float step(const std::vector<std::int64_t>& contexts, const std::vector<std::int64_t>& targets);
    // The initial parameters in the library's layout: E, W1, b1, W2, b2.
    std::vector<std::vector<float>> parameters() const;

private:
    struct State;
    std::unique_ptr<State> s_;
};

class ContextMlpFloor {
public:
    ContextMlpFloor(const ContextMlpSize& size, const AdamSettings& adam, std::vector<std::vector<float>> params);
    ~ContextMlpFloor();
    float step(const std::vector<std::int64_t>& contexts, const std::vector<std::int64_t>& targets);

private:
    struct Buffers;
    ContextMlpSize size_;
    AdamSettings adam_;
    std::unique_ptr<Buffers> b_;
    long t_ = 0;
};

}  // namespace bench
