// What train_lm keeps in a checkpoint besides the model (metadata "train.*" and "data.*", the optimizer's
// and the schedule's state), and the checks a checkpoint passes before a run resumes from it or
// `generate` samples from it. Everything read from the file is validated before use.
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "corpus.hpp"
#include "tapegrad/nn/nn.hpp"

namespace train_lm {

// The alphabet as stored in checkpoint metadata (hex pairs), and back.
std::string alphabet_to_hex(const std::vector<unsigned char>& alphabet);
std::vector<unsigned char> alphabet_from_hex(const std::string& hex);

// A metadata value; CheckpointError naming the key when it is missing.
std::string meta(const tapegrad::SafetensorsFile& file, const std::string& key);

// A count stored in the metadata: the whole string a decimal integer in [min, max] (std::stoll and friends
// would accept "12x", wrap "-1" around, or throw std::invalid_argument without naming the key).
std::uint64_t meta_count(const tapegrad::SafetensorsFile& file, const std::string& key, std::uint64_t min,
                         std::uint64_t max = std::numeric_limits<std::uint64_t>::max());

// The checkpoint's alphabet ("data.alphabet"), checked against the model it was loaded into: one distinct
// byte per token of the model's vocabulary (an empty, short, long or repeating alphabet would index out of
// range or decode wrongly). CheckpointError naming `origin` otherwise.
std::vector<unsigned char> checkpoint_alphabet(const tapegrad::SafetensorsFile& file, std::size_t model_vocab,
                                               const std::string& origin);

// "" when the alphabets are equal, else what differs: the sizes, or the first symbol that is not the same.
std::string alphabet_difference(const std::vector<unsigned char>& checkpoint, const std::vector<unsigned char>& data);

// The step counters of a checkpoint must agree: train.step, the optimizer's step count and the schedule's
// position are the same number of completed steps, and that is at most the run's total steps.
// CheckpointError naming the counters and their values otherwise.
void check_step_counters(std::int64_t train_step, std::int64_t optimizer_steps, std::int64_t schedule_position,
                         std::int64_t total_steps, const std::string& origin);

}  // namespace train_lm
