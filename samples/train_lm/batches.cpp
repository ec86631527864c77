#include "batches.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

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

namespace {
// A step's own generator: splitmix-style mixing of (seed, step) into one seed.
tapegrad::Generator step_generator(std::uint64_t seed, std::uint64_t step) {
    std::uint64_t z = seed * 0x9E3779B97F4A7C15ull + step + 1;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return tapegrad::Generator(z ^ (z >> 31));
}
}  // namespace

void sample_positions(std::size_t split_size, std::uint64_t seed, std::uint64_t step, std::size_t rows,
                      std::vector<std::size_t>& out) {
    if (split_size < 2) throw std::invalid_argument("sample_positions: a split needs at least two tokens");
    tapegrad::Generator gen = step_generator(seed, step);
    out.resize(rows);
    for (auto& p : out) p = std::size_t(gen.below(split_size - 1));
}

void fill_windows(std::span<const std::int64_t> ids, std::span<const std::size_t> starts, std::size_t window, Batch& out) {
    out.contexts.resize(starts.size() * window);
    out.targets.resize(starts.size() * window);
    for (std::size_t w = 0; w < starts.size(); ++w) {
        const std::size_t s = starts[w];
        if (s + window >= ids.size()) throw std::out_of_range("fill_windows: a window's last token has no next token");
        std::copy_n(ids.begin() + std::ptrdiff_t(s), window, out.contexts.begin() + std::ptrdiff_t(w * window));
        std::copy_n(ids.begin() + std::ptrdiff_t(s + 1), window, out.targets.begin() + std::ptrdiff_t(w * window));
    }
}

void sample_window_starts(std::size_t split_size, std::size_t window, std::uint64_t seed, std::uint64_t step,
                          std::size_t rows, std::vector<std::size_t>& out) {
    if (window == 0 || split_size < window + 1)
        throw std::invalid_argument("sample_window_starts: a split of " + std::to_string(split_size) +
                                    " tokens has no window of " + std::to_string(window) + " tokens and their next tokens");
    tapegrad::Generator gen = step_generator(seed, step);
    out.resize(rows);
    for (auto& s : out) s = std::size_t(gen.below(split_size - window));
}

void BatchSource::draw(std::int64_t step, Batch& batch) {
    const BatchPlan& p = plan_;
    if (p.window) {
        sample_window_starts(train_.size(), p.window, p.seed, std::uint64_t(step), p.batch, starts_);
        fill_windows(train_, std::span(starts_).subspan(p.first, p.count), p.window, batch);
    } else {
        sample_positions(train_.size(), p.seed, std::uint64_t(step), p.batch, starts_);
        fill_batch(train_, std::span(starts_).subspan(p.first, p.count), p.context, p.pad, batch);
    }
}

void check_batch_fits_data(std::size_t train_tokens, std::size_t batch, std::size_t window, std::size_t tokens_per_step) {
    if (window && train_tokens < window + 1)
        throw std::runtime_error("the training data (" + std::to_string(train_tokens) +
                                 " tokens) is shorter than one window of the model (" + std::to_string(window) + " tokens and the next)");
    if (tokens_per_step > train_tokens - 1)
        throw std::runtime_error(std::string("--batch ").append(std::to_string(batch))
                                     .append(" is larger than the training data (")
                                     .append(std::to_string(train_tokens - 1))
                                     .append(" positions); use a smaller batch or more data"));
}

}  // namespace train_lm
