// What a trained model is used for, by train_lm and by `generate`: its mean loss over a split (exact, or
// estimated from a sample) and sampling text from it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "tapegrad/nn/token_model.hpp"

namespace train_lm {

// Called by a long phase after each chunk with the work done and the whole work.
using ProgressFn = std::function<void(std::size_t done, std::size_t total)>;

// Mean cross-entropy (nats/token) of predicting ids[p+1] from the context ending at p, over the first
// `max_positions` positions (all when 0), in chunks of eval_chunk_positions(model). Nothing is recorded for
// backward. Between chunks: reports to `progress` (if any) and throws Interrupted on a stop request.
double evaluate(tapegrad::LanguageModel<float>& model, const std::vector<std::int64_t>& ids, std::size_t pad,
                std::size_t max_positions = 0, const ProgressFn& progress = {});

// An estimate of evaluate()'s mean over every position of `ids`, from about `sample_positions` positions drawn
// uniformly with replacement (Generator(seed)): single positions for a context model, whole windows of the
// grid evaluate() reads for a windowed one (a position's loss depends on its place in its window, so windows
// are the units; the last, shorter window is never drawn). stderr is the units' sample standard deviation over
// √units: the exact mean lies within 2 stderr of the estimate about 95% of the time.
struct LossEstimate {
    double mean = 0, standard_error = 0;
    std::size_t positions = 0;
};
LossEstimate estimate_loss(tapegrad::LanguageModel<float>& model, const std::vector<std::int64_t>& ids, std::size_t pad,
                           std::size_t sample_positions, std::uint64_t seed, const ProgressFn& progress = {});

// The id that stands before the first token when sampling: the padding id of a context embedding, or
// for a plain embedding (no padding row) the id of '\n' (0 if the alphabet has none).
std::int64_t start_id(const tapegrad::LanguageModel<float>& model, const std::vector<unsigned char>& alphabet);

// Samples `length` tokens after `prompt` (ids), temperature > 0 and finite; deterministic for a seed. `pad`
// fills the context before the prompt (see start_id). `on_token` (if any) receives each token as it is
// drawn, so that output can stream (the tokens are then not kept: the result is empty); a stop request
// throws Interrupted between tokens.
std::vector<std::int64_t> sample(tapegrad::LanguageModel<float>& model, std::vector<std::int64_t> prompt, std::size_t length,
                                 double temperature, std::uint64_t seed, std::size_t pad,
                                 const std::function<void(std::int64_t)>& on_token = {});

}  // namespace train_lm
