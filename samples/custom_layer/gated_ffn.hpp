// A new layer defined declaratively: a gated feed-forward block, y = (x·W ⊙ σ(x·V))·U.
// It holds its parameters and composes tape ops; the tape differentiates it, no backward is written.
#pragma once

#include <cmath>

#include "tapegrad/nn/nn.hpp"

template <class T>
struct GatedFFN : tapegrad::Module<T> {
    tapegrad::Var<T> W, V, U;  // W, V: d×f, U: f×d

    GatedFFN(tapegrad::Tape<T>& tape, std::size_t d, std::size_t f, tapegrad::Generator& gen) : tapegrad::Module<T>(tape) {
        const double in = 1.0 / std::sqrt(double(d)), hidden = 1.0 / std::sqrt(double(f));
        W = this->register_parameter("W", tapegrad::uniform_tensor<T>(d, f, -in, in, gen));
        V = this->register_parameter("V", tapegrad::uniform_tensor<T>(d, f, -in, in, gen));
        U = this->register_parameter("U", tapegrad::uniform_tensor<T>(f, d, -hidden, hidden, gen));
    }

    // x: n×d → n×d
    tapegrad::Var<T> forward(const tapegrad::Var<T>& x) override {
        return matmul(matmul(x, W) * sigmoid(matmul(x, V)), U);
    }
    std::string describe() const override { return "GatedFFN"; }
};

// A language model around it: context embedding → GatedFFN → linear(vocab).
template <class T>
std::shared_ptr<tapegrad::TokenSequential<T>> gated_model(tapegrad::Tape<T>& tape, std::size_t vocab, std::size_t context,
                                                           std::size_t dim, std::size_t hidden, tapegrad::Generator& gen) {
    using namespace tapegrad;
    auto model = std::make_shared<TokenSequential<T>>(tape);
    model->push_back(std::make_shared<ContextEmbedding<T>>(tape, vocab, context, dim, gen));  // reads the ids
    model->push_back(std::make_shared<GatedFFN<T>>(tape, context * dim, hidden, gen));
    model->push_back(std::make_shared<Linear<T>>(tape, context * dim, vocab, gen));
    return model;
}
