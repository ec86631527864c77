// The training loop: a run's steps, their log lines, the periodic estimates and checkpoints. Its parts live
// beside it: options.hpp (settings, summary), presets.hpp (named models and optimizers), run_state.hpp (fresh
// or resumed model, optimizer and schedule; checkpoints), batches.hpp, inference.hpp (evaluation, sampling),
// report.hpp (what a run prints).
#pragma once

#include <cstdint>
#include <iosfwd>

#include "corpus.hpp"
#include "options.hpp"
#include "tapegrad/nn/module.hpp"

namespace train_lm {

// Dropout masks differ between ranks (each rank drops from its own rows) yet stay reproducible: on rank r > 0
// every Dropout layer, nested ones included, is reseeded from (seed, r, its number in a depth-first walk of
// the modules: a flat model's layer i is number i); rank 0 keeps the masks a single process would draw.
void reseed_dropout(tapegrad::Module<float>& model, std::uint64_t seed, int rank);

// Trains (or resumes) as the options say. A stop request (stop_signals.hpp) during training saves a
// checkpoint and returns with `interrupted`; one during the final evaluation, plot or sample throws
// Interrupted (the checkpoint is already saved).
TrainSummary train(const Corpus& corpus, const TrainOptions& options, std::ostream& out);

}  // namespace train_lm
