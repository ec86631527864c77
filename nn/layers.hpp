/// \file
/// The layers. Each is a struct holding its parameters and a forward composed of tape ops: none has a
/// backward of its own. Weights follow the design note's orientation, y = x·W (+ b) with W: in×out.
#pragma once

#include <cstdint>
#include <vector>

#include "tapegrad/autodiff/ops/elementwise.hpp"
#include "tapegrad/nn/init.hpp"
#include "tapegrad/nn/module.hpp"
#include "tapegrad/nn/tokens.hpp"

namespace tapegrad {

/// y = x·W + b.  x: n×in, W: in×out, b: 1×out → n×out.
/// Initialised as torch.nn.Linear: W and b uniform in [−1/√in, 1/√in].
template <class T>
class Linear : public Module<T> {
public:
    Linear(Tape<T>& tape, std::size_t in, std::size_t out, Generator& gen, bool bias = true);
    Var<T> forward(const Var<T>& x) override;
    Var<T> forward_added_to(const Var<T>& x, const Var<T>& skip) override;  ///< addmm(skip, x, W), without bias
    std::string describe() const override;
    std::size_t in_features() const { return in_; }
    std::size_t out_features() const { return out_; }
    Var<T> weight, bias;  ///< bias invalid when built without one

private:
    std::size_t in_, out_;
};

/// y[k] = E[ids[k]].  ids: n (context 1) → n×d. Initialised N(0, 1) as torch.nn.Embedding.
template <class T>
class Embedding : public Module<T>, public TokenReader<T> {
public:
    Embedding(Tape<T>& tape, std::size_t vocab, std::size_t dim, Generator& gen);
    Var<T> forward_tokens(const TokenInput& tokens) override;
    std::string describe() const override;
    std::size_t vocab() const { return vocab_; }
    std::size_t dim() const { return dim_; }
    Var<T> weight;

private:
    std::size_t vocab_, dim_;
};

/// The MLP language model's input layer (Bengio et al., 2003): each position reads its k previous tokens
/// (itself last) and gets the concatenation of their embeddings.  ids: n×k → n×(k·d).
/// The table has vocab + 1 rows: id `vocab` is the reserved padding id for positions before the start of
/// a sequence (see make_contexts). With k = 1 this is a plain embedding.
template <class T>
class ContextEmbedding : public Module<T>, public TokenReader<T> {
public:
    ContextEmbedding(Tape<T>& tape, std::size_t vocab, std::size_t context, std::size_t dim, Generator& gen);
    Var<T> forward_tokens(const TokenInput& tokens) override;
    std::string describe() const override;
    std::size_t context_size() const override { return context_; }
    std::optional<std::int64_t> padding_id() const override { return std::int64_t(vocab_); }
    Var<T> weight;

private:
    std::size_t vocab_, context_, dim_;
};


template <class T>
class ReLU : public Module<T> {
public:
    explicit ReLU(Tape<T>& tape) : Module<T>(tape) {}
    Var<T> forward(const Var<T>& x) override { return relu(x); }
    std::string describe() const override { return "ReLU"; }
};

/// Causal multi-head self-attention over sequences of `block` consecutive rows (row b·block + t):
/// ~~~{.unparsed}
///   qkv = x·W_qkv (d×3d),  a = causal_self_attention(qkv, rows/block, block, heads),  y = a·W_proj (d×d)
/// ~~~
/// No biases (nanoGPT's bias=False); both matrices initialised as torch.nn.Linear, U(±1/√d). x: (B·block)×d,
/// or fewer than `block` rows: one shorter sequence (a prompt that has not yet filled the window).
template <class T>
class CausalSelfAttention : public Module<T> {
public:
    CausalSelfAttention(Tape<T>& tape, std::size_t d, std::size_t heads, std::size_t block, Generator& gen);
    Var<T> forward(const Var<T>& x) override;  ///< heads(x) · W_proj
    Var<T> forward_added_to(const Var<T>& x, const Var<T>& skip) override;  ///< addmm(skip, heads(x), W_proj)
    /// The heads before the output projection: causal_self_attention(x·W_qkv), (B·block)×d.
    Var<T> heads(const Var<T>& x);
    std::string describe() const override;
    std::size_t block() const { return block_; }
    std::size_t window() const override { return block_; }
    std::size_t heads() const { return heads_; }
    Var<T> qkv_weight, proj_weight;

private:
    std::size_t d_, heads_, block_;
};

/// Exact GELU, x·Φ(x), as torch.nn.GELU().
template <class T>
class GELU : public Module<T> {
public:
    explicit GELU(Tape<T>& tape) : Module<T>(tape) {}
    Var<T> forward(const Var<T>& x) override { return gelu(x); }
    std::string describe() const override { return "GELU"; }
};

template <class T>
class Tanh : public Module<T> {
public:
    explicit Tanh(Tape<T>& tape) : Module<T>(tape) {}
    Var<T> forward(const Var<T>& x) override { return tanh(x); }
    std::string describe() const override { return "Tanh"; }
};

template <class T>
class Sigmoid : public Module<T> {
public:
    explicit Sigmoid(Tape<T>& tape) : Module<T>(tape) {}
    Var<T> forward(const Var<T>& x) override { return sigmoid(x); }
    std::string describe() const override { return "Sigmoid"; }
};

/// Over each row: y = (x − μ) / √(σ² + eps) ⊙ γ + β, σ² the biased variance (torch.nn.LayerNorm).
/// x: n×width, γ, β: 1×width (ones, zeros).
template <class T>
class LayerNorm : public Module<T> {
public:
    LayerNorm(Tape<T>& tape, std::size_t width, double eps = 1e-5);
    Var<T> forward(const Var<T>& x) override;
    std::string describe() const override;
    Var<T> gamma, beta;

private:
    std::size_t width_;
    double eps_;
};

/// In train mode zeroes each element with probability p and scales the rest by 1/(1 − p); identity in
/// eval mode. Its random stream is its own, seeded at construction.
template <class T>
class Dropout : public Module<T> {
public:
    Dropout(Tape<T>& tape, double p, std::uint64_t seed);
    Var<T> forward(const Var<T>& x) override;
    std::string describe() const override;
    double p() const { return p_; }
    /// Restart the random stream (e.g.\ to draw the same mask again in a gradient check).
    void reseed(std::uint64_t seed) { gen_ = Generator(seed); }

private:
    double p_;
    Generator gen_;
    Tensor<T> mask_;
};

}  // namespace tapegrad
