// Training examples: position p of a split predicts token p+1 from the k tokens ending at p (padding id =
// vocab before the start of the split). A step's batch depends only on (seed, step), so a resumed run draws
// exactly the batches the uninterrupted run would have.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace train_lm {

struct Batch {
    std::vector<std::int64_t> contexts;  // rows × k ids, oldest first
    std::vector<std::int64_t> targets;   // rows
};

// Fills rows k-token contexts ending at positions[i] of `ids`, and their next tokens.
void fill_batch(std::span<const std::int64_t> ids, std::span<const std::size_t> positions, std::size_t k,
                std::int64_t pad, Batch& out);

// Windowed models (a GPT): row i of window w is position starts[w] + i; the window's T ids and the T ids
// after them (its targets).
void fill_windows(std::span<const std::int64_t> ids, std::span<const std::size_t> starts, std::size_t window, Batch& out);

// `rows` window starts drawn uniformly from [0, split_size − window − 1] (every token of a window has a
// next token) by a generator seeded from (seed, step).
void sample_window_starts(std::size_t split_size, std::size_t window, std::uint64_t seed, std::uint64_t step,
                          std::size_t rows, std::vector<std::size_t>& out);

// `rows` positions drawn uniformly from [0, ids.size() − 1) by a generator seeded from (seed, step).
void sample_positions(std::size_t split_size, std::uint64_t seed, std::uint64_t step, std::size_t rows,
                      std::vector<std::size_t>& out);

}  // namespace train_lm
