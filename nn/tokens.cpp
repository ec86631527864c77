#include "tapegrad/nn/tokens.hpp"

#include "tapegrad/nn/layers.hpp"
#include "tapegrad/nn/sequential.hpp"
#include "tapegrad/nn/transformer.hpp"

namespace tapegrad {

std::vector<std::int64_t> make_contexts(std::span<const std::int64_t> sequence, std::size_t k, std::int64_t pad) {
    std::vector<std::int64_t> out(sequence.size() * k);
    for (std::size_t i = 0; i < sequence.size(); ++i)
        for (std::size_t j = 0; j < k; ++j) {
            // position i − (k − 1 − j): oldest first, the token itself last
            const std::ptrdiff_t src = std::ptrdiff_t(i) - std::ptrdiff_t(k - 1 - j);
            out[i * k + j] = src < 0 ? pad : sequence[std::size_t(src)];
        }
    return out;
}

template <class T>
std::size_t context_size(const Module<T>& model) {
    if (const auto* context = dynamic_cast<const ContextEmbedding<T>*>(&model)) return context->context_size();
    if (const auto* seq = dynamic_cast<const Sequential<T>*>(&model); seq && seq->size() > 0) return context_size((*seq)[0]);
    return 1;
}

template <class T>
std::size_t window_size(const Module<T>& model) {
    if (const auto* p = dynamic_cast<const PositionEmbedding<T>*>(&model)) return p->block();
    if (const auto* a = dynamic_cast<const CausalSelfAttention<T>*>(&model)) return a->block();
    for (const auto& [name, child] : model.children())
        if (const std::size_t t = window_size(*child)) return t;
    return 0;
}

template std::size_t context_size(const Module<float>&);
template std::size_t context_size(const Module<double>&);
template std::size_t window_size(const Module<float>&);
template std::size_t window_size(const Module<double>&);

}  // namespace tapegrad
