// How much memory a run's forward passes take, decided before they allocate: a model whose parameter count
// is modest can still need more than the machine has for its activations (context(1000000, 1) reads a
// million ids per position). Evaluation then runs in smaller chunks; a training batch that cannot fit is
// refused up front with what it needs, instead of an out-of-memory kill or a bare std::bad_alloc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "tapegrad/nn/nn.hpp"

namespace train_lm {

// An upper estimate of the bytes one position costs in a forward pass: its k context ids and target (8 bytes
// each) and, per parameter matrix, an input row and an output row of floats (rows + cols elements).
std::size_t bytes_per_position(const tapegrad::LanguageModel<float>& model);

// Positions per evaluation chunk: 4096, or fewer so that a chunk's forward stays within 256 MiB.
std::size_t eval_chunk_positions(const tapegrad::LanguageModel<float>& model);

// The memory this process may use: the smallest of the physical memory, RLIMIT_AS and the cgroup's
// memory.max. 0 when none can be read.
std::uint64_t available_memory_bytes();

// Throws std::runtime_error when a training step of `batch` positions (values and gradients of the
// activations, parameters, gradients and Adam's two moments) needs more than available_memory_bytes(),
// saying how much it needs and how much there is.
void check_training_fits(const tapegrad::LanguageModel<float>& model, std::size_t batch, const std::string& spec);

// "1.5 GB", "320 MB": bytes for a message.
std::string human_bytes(double bytes);

}  // namespace train_lm
