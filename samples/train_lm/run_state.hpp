// The model, optimizer and schedule of a run: built fresh from the spec, or loaded from --resume after every
// check a checkpoint must pass; and the checkpoint that saves them with the run's own settings.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include "corpus.hpp"
#include "options.hpp"
#include "tapegrad/nn/spec.hpp"
#include "tapegrad/optim/optim.hpp"

namespace train_lm {

struct RunState {
    tapegrad::Tape<float> tape;
    std::shared_ptr<tapegrad::SpecModel<float>> model;
    std::unique_ptr<tapegrad::Adam<float>> adam;
    std::unique_ptr<tapegrad::WarmupCosineLR> schedule;
    std::int64_t start_step = 0;
};

// Fills `run` as the options say; a resumed run takes seed and batch from its checkpoint (written into opt).
void start_run(RunState& run, const Corpus& corpus, TrainOptions& opt);

// Everything a checkpoint holds: the model, optimizer and schedule, and the run's settings (step, seed,
// batch) and data (alphabet, source).
void save_run(const std::filesystem::path& path, const RunState& run, const Corpus& corpus, std::uint64_t seed,
              std::size_t batch, std::int64_t step);

}  // namespace train_lm
