#include "tapegrad/nn/layers.hpp"


#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdio>

#include "tapegrad/autodiff/autodiff.hpp"

namespace tapegrad {

namespace {
std::string fmt(const char* format, double a) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, a);
    return buf;
}
}  // namespace

// ── Linear ──
template <class T>
Linear<T>::Linear(Tape<T>& tape, std::size_t in, std::size_t out, Generator& gen, bool with_bias)
    : Module<T>(tape), in_(in), out_(out) {
    if (in == 0 || out == 0)
        throw ShapeError("Linear: features must be positive, got " + std::to_string(in) + " -> " + std::to_string(out));
    const double bound = 1.0 / std::sqrt(double(in));
    weight = this->register_parameter("weight", uniform_tensor<T>(in, out, -bound, bound, gen));
    if (with_bias) bias = this->register_parameter("bias", uniform_tensor<T>(1, out, -bound, bound, gen));
}

template <class T>
Var<T> Linear<T>::forward(const Var<T>& x) {
    if (x.cols() != in_)
        throw ShapeError(describe() + ": input is " + shape_str(x.shape()) + ", expected " + std::to_string(in_) +
                         " columns");
    return bias.valid() ? affine(x, weight, bias)  // n×in · in×out + 1×out → n×out
                        : matmul(x, weight);
}

template <class T>
Var<T> Linear<T>::forward_added_to(const Var<T>& x, const Var<T>& skip) {
    if (bias.valid() || x.cols() != in_ || x.rows() != skip.rows() || out_ != skip.cols()) return Var<T>();
    return addmm(skip, x, weight);  // skip + x·W, the product never a tensor of its own
}

template <class T>
std::string Linear<T>::describe() const {
    return "Linear(" + std::to_string(in_) + " -> " + std::to_string(out_) + (bias.valid() ? ", bias)" : ", no bias)");
}

// ── Embedding ──
template <class T>
Embedding<T>::Embedding(Tape<T>& tape, std::size_t vocab, std::size_t dim, Generator& gen)
    : Module<T>(tape), vocab_(vocab), dim_(dim) {
    if (vocab == 0 || dim == 0)
        throw ShapeError("Embedding: vocabulary and width must be positive, got " + std::to_string(vocab) + " x " +
                         std::to_string(dim));
    weight = this->register_parameter("weight", normal_tensor<T>(vocab, dim, 0.0, 1.0, gen));
}

template <class T>
Var<T> Embedding<T>::forward_tokens(const TokenInput& tokens) {
    if (tokens.context != 1)
        throw ShapeError(describe() + ": input has " + std::to_string(tokens.context) +
                         " ids per position, expected 1 (use a context embedding for more)");
    return embedding(weight, tokens.ids);  // n ids → n×d
}

template <class T>
std::string Embedding<T>::describe() const {
    return "Embedding(" + std::to_string(vocab_) + " x " + std::to_string(dim_) + ")";
}

// ── ContextEmbedding ──
template <class T>
ContextEmbedding<T>::ContextEmbedding(Tape<T>& tape, std::size_t vocab, std::size_t context, std::size_t dim,
                                      Generator& gen)
    : Module<T>(tape), vocab_(vocab), context_(context), dim_(dim) {
    if (vocab == 0 || context == 0 || dim == 0)
        throw ShapeError("ContextEmbedding: vocabulary, context and width must be positive, got " +
                         std::to_string(vocab) + ", " + std::to_string(context) + ", " + std::to_string(dim));
    weight = this->register_parameter("weight", normal_tensor<T>(vocab + 1, dim, 0.0, 1.0, gen));
}

template <class T>
Var<T> ContextEmbedding<T>::forward_tokens(const TokenInput& tokens) {
    if (tokens.context != context_)
        throw ShapeError(describe() + ": input has " + std::to_string(tokens.context) + " ids per position, expected " +
                         std::to_string(context_));
    // Gathering the n·k ids row-major gives (n·k)×d; row i's k embeddings are consecutive, so reshaping to
    // n×(k·d) is exactly their concatenation.
    Var<T> rows = embedding(weight, tokens.ids);
    return reshape(rows, Shape{tokens.rows(), context_ * dim_});
}

template <class T>
std::string ContextEmbedding<T>::describe() const {
    return "ContextEmbedding(" + std::to_string(vocab_) + " + padding, " + std::to_string(context_) + " tokens x " +
           std::to_string(dim_) + ")";
}

// ── LayerNorm ──
template <class T>
LayerNorm<T>::LayerNorm(Tape<T>& tape, std::size_t width, double eps) : Module<T>(tape), width_(width), eps_(eps) {
    if (width == 0) throw ShapeError("LayerNorm: width must be positive");
    // eps keeps var + eps away from 0 (x / √(var + eps) of a constant row is 0, not 0/0): it must be a
    // positive normal number in T. 1e-63 is positive as a double but 0 as a float.
    if (!(eps > 0) || !(T(eps) >= std::numeric_limits<T>::min()) || !(T(eps) <= std::numeric_limits<T>::max()))
        throw DomainError("LayerNorm: eps " + fmt("%g", eps) + " is not a positive normal " +
                          (sizeof(T) == 4 ? "float" : "double") + " (expected " + fmt("%g", double(std::numeric_limits<T>::min())) +
                          " to " + fmt("%g", double(std::numeric_limits<T>::max())) + ")");
    gamma = this->register_parameter("weight", Tensor<T>({1, width}, T(1)));
    beta = this->register_parameter("bias", Tensor<T>({1, width}, T(0)));
}

template <class T>
Var<T> LayerNorm<T>::forward(const Var<T>& x) {
    if (x.cols() != width_)
        throw ShapeError(describe() + ": input is " + shape_str(x.shape()) + ", expected " + std::to_string(width_) +
                         " columns");
    return layer_norm(x, gamma, beta, eps_);  // one op: (x − μ)/√(σ² + eps) ⊙ γ + β per row
}

template <class T>
std::string LayerNorm<T>::describe() const {
    return "LayerNorm(" + std::to_string(width_) + ", eps " + fmt("%g", eps_) + ")";
}

// ── Dropout ──
template <class T>
Dropout<T>::Dropout(Tape<T>& tape, double p, std::uint64_t seed) : Module<T>(tape), p_(p), gen_(seed) {
    if (!(p >= 0.0 && p < 1.0)) throw DomainError("Dropout: p must be in [0, 1), got " + fmt("%g", p));
}

template <class T>
Var<T> Dropout<T>::forward(const Var<T>& x) {
    if (!this->is_training() || p_ == 0.0) return x;
    mask_.resize(x.value().shape());
    const T keep_scale = T(1.0 / (1.0 - p_));
    for (auto& m : mask_) m = gen_.uniform() < p_ ? T(0) : keep_scale;
    return x * x.tape().constant(mask_);
}

template <class T>
std::string Dropout<T>::describe() const {
    return "Dropout(p " + fmt("%g", p_) + ")";
}

// ── CausalSelfAttention ──
template <class T>
CausalSelfAttention<T>::CausalSelfAttention(Tape<T>& tape, std::size_t d, std::size_t heads, std::size_t block, Generator& gen)
    : Module<T>(tape), d_(d), heads_(heads), block_(block) {
    if (d == 0 || heads == 0 || block == 0 || d % heads != 0)
        throw ShapeError("CausalSelfAttention: width " + std::to_string(d) + ", " + std::to_string(heads) + " heads, block " +
                         std::to_string(block) + " (expected positive values with the width a multiple of the heads)");
    const double bound = 1.0 / std::sqrt(double(d));
    qkv_weight = this->register_parameter("qkv_weight", uniform_tensor<T>(d, 3 * d, -bound, bound, gen));
    proj_weight = this->register_parameter("proj_weight", uniform_tensor<T>(d, d, -bound, bound, gen));
}

template <class T>
Var<T> CausalSelfAttention<T>::forward(const Var<T>& x) {
    return matmul(heads(x), proj_weight);
}

template <class T>
Var<T> CausalSelfAttention<T>::forward_added_to(const Var<T>& x, const Var<T>& skip) {
    if (x.shape() != skip.shape()) return Var<T>();
    return addmm(skip, heads(x), proj_weight);
}

template <class T>
Var<T> CausalSelfAttention<T>::heads(const Var<T>& x) {
    const std::size_t rows = x.rows();
    if (x.cols() != d_ || (rows > block_ && rows % block_ != 0))
        throw ShapeError(describe() + ": input is " + shape_str(x.shape()) + ", expected " + std::to_string(d_) +
                         " columns and a multiple of " + std::to_string(block_) +
                         " rows (whole sequences) or fewer (one shorter sequence)");
    const std::size_t time = std::min(rows, block_);
    return causal_self_attention(matmul(x, qkv_weight), rows / time, time, heads_);
}

template <class T>
std::string CausalSelfAttention<T>::describe() const {
    return "CausalSelfAttention(" + std::to_string(d_) + ", " + std::to_string(heads_) + " heads, block " + std::to_string(block_) + ")";
}

template class Linear<float>;
template class Linear<double>;
template class CausalSelfAttention<float>;
template class CausalSelfAttention<double>;
template class Embedding<float>;
template class Embedding<double>;
template class ContextEmbedding<float>;
template class ContextEmbedding<double>;
template class LayerNorm<float>;
template class LayerNorm<double>;
template class Dropout<float>;
template class Dropout<double>;

}  // namespace tapegrad
