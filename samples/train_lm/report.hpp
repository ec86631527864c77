// What a run prints: the header before the first step (data, model, optimizer, compute) and, after training,
// the final evaluation, the loss curve and a sample.
#pragma once

#include <cstdint>
#include <iosfwd>

#include "corpus.hpp"
#include "options.hpp"
#include "tapegrad/nn/spec.hpp"
#include "tapegrad/optim/optim.hpp"

namespace train_lm {

// The summary's fixed part: the model and the corpus's reference entropies.
TrainSummary reference_summary(const Corpus& corpus, const tapegrad::SpecModel<float>& model, int ranks);

void print_header(std::ostream& out, const Corpus& corpus, const TrainSummary& s, std::size_t k, std::size_t window,
                  const TrainOptions& opt, std::int64_t start_step, const tapegrad::Adam<float>& adam,
                  const tapegrad::WarmupCosineLR& schedule);

// After training, rank 0's: the final evaluation (opt.final_eval), the loss curve, and a sample that streams
// as it is drawn, all into `s` and `out`.
void final_report(tapegrad::LanguageModel<float>& model, const Corpus& corpus, const TrainOptions& opt, double train_seconds,
                  std::int64_t steps_done, TrainSummary& s, std::ostream& out);

}  // namespace train_lm
