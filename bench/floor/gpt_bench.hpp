// tapegrad_bench --size gpt: one training step of a GPT of any shape (gpt_bench.cpp).
#pragma once

#include <cstddef>

namespace bench {

// The GPT's shape; the defaults are train_lm --model gpt's (nanoGPT's baby GPT).
struct GptBenchShape {
    std::size_t block = 64, width = 128, layers = 4, heads = 4, windows = 12;
};

int run_gpt(const GptBenchShape& shape, int threads, int repeats, bool json);

}  // namespace bench
