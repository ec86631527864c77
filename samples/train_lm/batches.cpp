#include "batches.hpp"

#include <stdexcept>

#include "tapegrad/nn/init.hpp"

namespace train_lm {

void fill_batch(std::span<const std::int64_t> ids, std::span<const std::size_t> positions, std::size_t k,
                std::int64_t pad, Batch& out) {
    out.contexts.resize(positions.size() * k);
    out.targets.resize(positions.size());
    for (std::size_t i = 0; i < positions.size(); ++i) {
        const std::size_t p = positions[i];
        if (p + 1 >= ids.size()) throw std::out_of_range("fill_batch: position has no next token");
        for (std::size_t j = 0; j < k; ++j) {
            const std::size_t back = k - 1 - j;  // oldest first
            out.contexts[i * k + j] = p >= back ? ids[p - back] : pad;
        }
        out.targets[i] = ids[p + 1];
    }
}

void sample_positions(std::size_t split_size, std::uint64_t seed, std::uint64_t step, std::size_t rows,
                      std::vector<std::size_t>& out) {
    if (split_size < 2) throw std::invalid_argument("sample_positions: a split needs at least two tokens");
    // splitmix-style mixing of (seed, step) into one generator seed
    std::uint64_t z = seed * 0x9E3779B97F4A7C15ull + step + 1;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    tapegrad::Generator gen(z ^ (z >> 31));
    out.resize(rows);
    for (auto& p : out) p = std::size_t(gen.below(split_size - 1));
}

}  // namespace train_lm
