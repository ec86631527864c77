/// \file
/// The pieces of a GPT-style causal transformer (nanoGPT's model, Radford et al. 2019), and the model itself.
///
/// Rows are positions: B sequences ("windows") of T consecutive positions, row b·T + t. A model of block
/// size T also reads fewer than T rows as one shorter sequence (a prompt that has not filled the window).
///
/// ~~~{.unparsed}
///   x   = E[ids] + P[t]                                  token and position embeddings   (B·T)×d
///   x   = x + attn(ln₁(x))                               per block, N times (pre-LayerNorm residuals)
///   x   = x + W₂·gelu(W₁·ln₂(x))                         MLP of width 4d
///   out = ln_f(x) · Eᵀ                                   tied output layer (or a Linear to the vocabulary)
/// ~~~
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tapegrad/nn/init.hpp"
#include "tapegrad/nn/layers.hpp"
#include "tapegrad/nn/sequential.hpp"
#include "tapegrad/nn/spec.hpp"

namespace tapegrad {

/// Learned absolute position embedding: y = x + P[r mod block] for row r. P: block×d, N(0, 1) as
/// torch.nn.Embedding. x: (B·block)×d, or fewer than `block` rows (positions 0 … rows−1).
template <class T>
class PositionEmbedding : public Module<T> {
public:
    PositionEmbedding(Tape<T>& tape, std::size_t block, std::size_t dim, Generator& gen);
    Var<T> forward(const Var<T>& x) override;
    std::string describe() const override;
    std::size_t block() const { return block_; }
    std::size_t window() const override { return block_; }
    Var<T> weight;

private:
    std::size_t block_, dim_;
    std::vector<std::int64_t> positions_;  ///< r mod block for every row, kept: a step allocates nothing
};

/// The output layer tied to a token embedding: logits = h · Eᵀ (torch: lm_head.weight = wte.weight). It owns
/// no parameter: E is the embedding's, which receives the sum of both uses' gradients (the tape adds them).
template <class T>
class TiedOutput : public Module<T> {
public:
    TiedOutput(Tape<T>& tape, const Embedding<T>& embedding);
    Var<T> forward(const Var<T>& x) override;
    std::string describe() const override;

private:
    Var<T> table_;
    std::size_t vocab_, dim_;
};

/// nanoGPT's configuration; the defaults are its "baby GPT" for CPUs (with the vocabulary of the data).
struct GPTConfig {
    std::size_t vocab = 0;
    std::size_t block = 64;   ///< T: positions per window
    std::size_t layers = 4;   ///< N
    std::size_t heads = 4;    ///< H; width must be a multiple
    std::size_t width = 128;  ///< d
    bool tied = true;         ///< output layer = token embedding, transposed
};

/// The GPT as one spec string (docs/spec.md), initialised as nanoGPT: every matrix and embedding from
/// N(0, 0.02²), the two projections back into the residual stream (attention's and the MLP's second) from
/// N(0, (0.02/√(2N))²), LayerNorm γ = 1, β = 0, no biases:
/// ~~~{.unparsed}
///   embed(128, std=0.02) position(64, std=0.02)
///   repeat(4, residual(layernorm attention(4, std=0.02, proj_std=0.0070710678118654745)) residual(layernorm
///             linear(512, bias=false, std=0.02) gelu linear(128, bias=false, std=0.0070710678118654745)))
///   layernorm tied
/// ~~~
std::string gpt_spec(const GPTConfig& config);

/// The same model written in C++ (the modules gpt_spec names, in the same order, drawing the same random
/// numbers: make_gpt(c, tape, gen) and build_model(gpt_spec(c), c.vocab, tape, gen) are equal parameter for
/// parameter). ShapeError for a zero size or a width that is not a multiple of the heads.
template <class T>
std::shared_ptr<SpecModel<T>> make_gpt(const GPTConfig& config, Tape<T>& tape, Generator& gen);

extern template class PositionEmbedding<float>;
extern template class PositionEmbedding<double>;
extern template class TiedOutput<float>;
extern template class TiedOutput<double>;

}  // namespace tapegrad
