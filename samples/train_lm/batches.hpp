// Training examples: position p of a split predicts token p+1 from the k tokens ending at p (padding id =
// vocab before the start of the split). A step's batch depends only on (seed, step), so a resumed run draws
// exactly the batches the uninterrupted run would have.
#pragma once

#include <cstdint>
#include <span>
#include <string>
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

// What a step trains on, as train() sets it up: `batch` rows per global step (windows of `window` tokens for
// a windowed model, else positions with `context` ids each, `pad` before the split's start), drawn from
// (seed, step); this rank keeps rows [first, first + count).
struct BatchPlan {
    std::size_t batch = 0;
    std::uint64_t seed = 0;
    std::size_t window = 0;   // 0: a model of independent positions
    std::size_t context = 1;  // ids per position (context models)
    std::int64_t pad = 0;
    std::size_t first = 0, count = 0;
};

// A step's batch of one split. Every rank draws the same global batch from (seed, step) and keeps its own
// rows of it.
class BatchSource {
public:
    BatchSource(const std::vector<std::int64_t>& train, const BatchPlan& plan) : train_(train), plan_(plan) {}

    const BatchPlan& plan() const { return plan_; }
    std::size_t tokens_per_step() const { return plan_.batch * (plan_.window > 0 ? plan_.window : 1); }
    void draw(std::int64_t step, Batch& batch);

private:
    const std::vector<std::int64_t>& train_;
    BatchPlan plan_;
    std::vector<std::size_t> starts_;
};

// The data must hold a batch: drawn with replacement, but a batch larger than the data it is drawn from is
// a mistake (a typo, or the wrong --data), not a useful setting. std::runtime_error saying which.
void check_batch_fits_data(std::size_t train_tokens, std::size_t batch, std::size_t window, std::size_t tokens_per_step);

}  // namespace train_lm
