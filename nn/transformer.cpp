#include "tapegrad/nn/transformer.hpp"

#include <charconv>

#include <cmath>

#include "tapegrad/autodiff/autodiff.hpp"

namespace tapegrad {

// ── PositionEmbedding ──
template <class T>
PositionEmbedding<T>::PositionEmbedding(Tape<T>& tape, std::size_t block, std::size_t dim, Generator& gen)
    : Module<T>(tape), block_(block), dim_(dim) {
    if (block == 0 || dim == 0)
        throw ShapeError("PositionEmbedding: block and width must be positive, got " + std::to_string(block) + " x " +
                         std::to_string(dim));
    weight = this->register_parameter("weight", normal_tensor<T>(block, dim, 0.0, 1.0, gen));
}

template <class T>
Var<T> PositionEmbedding<T>::forward(const Var<T>& x) {
    const std::size_t rows = x.rows();
    if (x.cols() != dim_ || rows == 0 || (rows > block_ && rows % block_ != 0))
        throw ShapeError(describe() + ": input is " + shape_str(x.shape()) + ", expected " + std::to_string(dim_) +
                         " columns and a multiple of " + std::to_string(block_) +
                         " rows (whole windows) or fewer (one shorter window)");
    positions_.resize(rows);
    for (std::size_t r = 0; r < rows; ++r) positions_[r] = std::int64_t(r % block_);
    // The gather's backward scatter-adds dy into P's rows: P[t] receives Σ_b dy[b·block + t].
    return add(x, embedding(weight, std::span<const std::int64_t>(positions_)));
}

template <class T>
std::string PositionEmbedding<T>::describe() const {
    return "PositionEmbedding(" + std::to_string(block_) + " positions x " + std::to_string(dim_) + ")";
}

// ── TiedOutput ──
template <class T>
TiedOutput<T>::TiedOutput(Tape<T>& tape, const Embedding<T>& embedding)
    : Module<T>(tape), table_(embedding.weight), vocab_(embedding.vocab()), dim_(embedding.dim()) {}

template <class T>
Var<T> TiedOutput<T>::forward(const Var<T>& x) {
    if (x.cols() != dim_)
        throw ShapeError(describe() + ": input is " + shape_str(x.shape()) + ", expected " + std::to_string(dim_) +
                         " columns (the embedding's width)");
    return matmul_nt(x, table_);  // n×d · (V×d)ᵀ → n×V
}

template <class T>
std::string TiedOutput<T>::describe() const {
    return "TiedOutput(" + std::to_string(dim_) + " -> " + std::to_string(vocab_) + ", the embedding transposed)";
}

// ── GPT ──
namespace {

void check_config(const GPTConfig& c) {
    if (c.vocab == 0 || c.block == 0 || c.layers == 0 || c.heads == 0 || c.width == 0 || c.width % c.heads != 0)
        throw ShapeError("GPT: vocab " + std::to_string(c.vocab) + ", block " + std::to_string(c.block) + ", " +
                         std::to_string(c.layers) + " layers, " + std::to_string(c.heads) + " heads, width " +
                         std::to_string(c.width) + " (expected positive sizes with the width a multiple of the heads)");
}

constexpr double kStd = 0.02;  // nanoGPT's _init_weights
// The residual projections' std, 0.02/√(2N) (GPT-2: their sum over N blocks keeps the stream's scale).
double projection_std(const GPTConfig& c) { return kStd / std::sqrt(2.0 * double(c.layers)); }

// "%.17g" (reads back as v) in the C locale's form whatever the process's locale (to_chars).
std::string number(double v) {
    char buf[40];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 17);
    return std::string(buf, ec == std::errc() ? end : buf);
}

}  // namespace

std::string gpt_spec(const GPTConfig& c) {
    check_config(c);
    const std::string d = std::to_string(c.width), init = number(kStd), proj = number(projection_std(c));
    return "embed(" + d + ", std=" + init + ") position(" + std::to_string(c.block) + ", std=" + init + ") repeat(" +
           std::to_string(c.layers) + ", residual(layernorm attention(" + std::to_string(c.heads) + ", std=" + init +
           ", proj_std=" + proj + ")) residual(layernorm linear(" + std::to_string(4 * c.width) +
           ", bias=false, std=" + init + ") gelu linear(" + d + ", bias=false, std=" + proj + "))) layernorm " +
           (c.tied ? std::string("tied") : "linear(vocab, bias=false, std=" + init + ")");
}

template <class T>
std::shared_ptr<SpecModel<T>> make_gpt(const GPTConfig& c, Tape<T>& tape, Generator& gen) {
    check_config(c);
    const std::size_t d = c.width;
    const double proj_std = projection_std(c);
    auto model = std::make_shared<SpecModel<T>>(tape, gpt_spec(c), c.vocab);
    auto tokens = std::make_shared<Embedding<T>>(tape, c.vocab, d, gen);
    init_normal(tokens->weight, kStd, gen);
    auto positions = std::make_shared<PositionEmbedding<T>>(tape, c.block, d, gen);
    init_normal(positions->weight, kStd, gen);
    model->push_back(tokens);
    model->push_back(positions);
    auto blocks = std::make_shared<Sequential<T>>(tape);
    for (std::size_t i = 0; i < c.layers; ++i) {
        auto block = std::make_shared<Sequential<T>>(tape);
        auto attention = std::make_shared<CausalSelfAttention<T>>(tape, d, c.heads, c.block, gen);
        init_normal(attention->qkv_weight, kStd, gen);
        init_normal(attention->proj_weight, proj_std, gen);
        block->push_back(std::make_shared<Residual<T>>(
            tape, std::initializer_list<std::shared_ptr<Module<T>>>{std::make_shared<LayerNorm<T>>(tape, d), attention}));
        auto up = std::make_shared<Linear<T>>(tape, d, 4 * d, gen, false);
        init_normal(up->weight, kStd, gen);
        auto down = std::make_shared<Linear<T>>(tape, 4 * d, d, gen, false);
        init_normal(down->weight, proj_std, gen);
        block->push_back(std::make_shared<Residual<T>>(
            tape, std::initializer_list<std::shared_ptr<Module<T>>>{std::make_shared<LayerNorm<T>>(tape, d), up,
                                                                    std::make_shared<GELU<T>>(tape), down}));
        blocks->push_back(block);
    }
    model->push_back(blocks);
    model->push_back(std::make_shared<LayerNorm<T>>(tape, d));
    if (c.tied) {
        model->push_back(std::make_shared<TiedOutput<T>>(tape, *tokens));
    } else {
        auto head = std::make_shared<Linear<T>>(tape, d, c.vocab, gen, false);
        init_normal(head->weight, kStd, gen);
        model->push_back(head);
    }
    return model;
}

template class PositionEmbedding<float>;
template class PositionEmbedding<double>;
template class TiedOutput<float>;
template class TiedOutput<double>;
template std::shared_ptr<SpecModel<float>> make_gpt(const GPTConfig&, Tape<float>&, Generator&);
template std::shared_ptr<SpecModel<double>> make_gpt(const GPTConfig&, Tape<double>&, Generator&);

}  // namespace tapegrad
