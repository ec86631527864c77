// Validators for train_lm's command line (CLI11), so that a bad value fails at parse time with a message
// that names the flag and says what was expected: "--clip: must be a finite number >= 0, got 'nan'".
// CLI11's own checks let NaN through, accept "-1" for an unsigned option (wrapped to 2^64 − 1) and print
// the type's range ("not in range 0.000000 to 1797…").
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>

namespace train_lm::cli {

// A finite floating-point number > 0, or >= 0.
CLI::Validator finite_positive();
CLI::Validator finite_non_negative();
// A finite number in [0, 1) (Adam's betas).
CLI::Validator unit_interval();

// A decimal integer (no sign for unsigned options, no fraction, no trailing text) in [min, max].
CLI::Validator integer_in(std::int64_t min, std::int64_t max);
CLI::Validator unsigned_in(std::uint64_t min, std::uint64_t max);

// A path to a regular file (not a directory, FIFO or device) that exists.
CLI::Validator regular_file();

// A non-empty string.
CLI::Validator non_empty();

// 0 (the libraries' default) up to the cores this process may run on (sched_getaffinity).
CLI::Validator thread_count();
int available_cores();

}  // namespace train_lm::cli
