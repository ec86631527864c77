// The models and optimizer settings train_lm knows by name: --model default / seed / gpt, and the GPT preset's
// optimizer that a windowed spec gets unless told otherwise.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "options.hpp"

namespace train_lm {

// The spec a --model value stands for ("gpt": tapegrad::gpt_spec of nanoGPT's baby GPT, see use_gpt_defaults).
std::string resolve_spec(const std::string& model, std::size_t vocab, std::size_t context);

// `--model gpt`'s reference configuration (nanoGPT's "baby GPT" for CPUs) for every option the user did not
// give (given(flag) says whether "--steps" etc. was on the command line): 2000 steps of 12 windows of 64
// tokens, AdamW lr 1e-3, betas (0.9, 0.99), weight decay 0.1 on matrices only, 100 warm-up steps then cosine
// to 1e-4, clip 1.0.
void use_gpt_defaults(TrainOptions& opt, const std::function<bool(const char*)>& given);

// The GPT preset's optimizer and schedule alone (AdamW lr 1e-3, betas (0.9, 0.99), weight decay 0.1 on
// matrices, 100 warm-up steps then cosine to 1e-4, clip 1.0, evaluation every 250 steps) for every option
// not given: what a windowed spec (one with position(T)) trains with unless told otherwise, since the
// context models' Adam at lr 3e-3 without decay is not what a transformer wants.
void use_gpt_optimizer(TrainOptions& opt, const std::function<bool(const char*)>& given);

// True for "gpt" and for a spec with a position(T) layer (a model that reads windows); false for anything
// else, a spec that does not parse included (building the model reports its error).
bool is_windowed_spec(const std::string& model);

}  // namespace train_lm
