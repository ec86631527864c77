#include "tapegrad/nn/tokens.hpp"


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

}  // namespace tapegrad
