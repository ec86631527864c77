// tapegrad_bench --size gpt: one training step of a GPT (by default train_lm --model gpt's, nanoGPT's baby GPT:
// 4 layers, 4 heads, width 128, 12 windows of 64 tokens; --block, --width, --layers, --heads and --windows set
// another shape; tied embeddings, AdamW, clipping), timed, with its allocations and its
// peak memory against what backward must keep, and against the step's GEMMs alone (gpt_floor.hpp). Its
// PyTorch twin is bench/pytorch/gpt_twin.py --bench.
#include <cstdio>
#include <iostream>
#include <random>

#include <nlohmann/json.hpp>

#include "alloc_counter.hpp"
#include "gpt_bench.hpp"
#include "gpt_floor.hpp"
#include "tapegrad/tapegrad.hpp"
#include "timing.hpp"

namespace bench {

namespace {

// What backward needs kept, at the least, for one step of the GPT (floats), as PyTorch's autograd keeps it:
// parameters, gradients and Adam's two moments (4P); per block the inputs of every matmul and of the
// attention (ln₁(x) n·d, qkv 3n·d, the attention's output n·d, ln₂(x) n·d, the MLP's pre-activation and
// GELU output 2·4n·d), each LayerNorm's input n·d and its mean and 1/σ (2n), the attention probabilities
// B·H·T² below the window length from which attention recomputes them (kAttentionRecomputeFrom), their row
// statistics 2·B·H·T from there on; then the final LayerNorm (input, stats, output) and the logits' softmax n·V.
double must_keep_floats(const tapegrad::GPTConfig& c, std::size_t windows, std::size_t parameters) {
    const double n = double(windows * c.block), d = double(c.width), T = double(c.block);
    const double pairs = double(windows * c.heads);
    const double attention = tapegrad::attention_recomputes(tapegrad::AttentionMemory::automatic, c.block) ? 2 * pairs * T : pairs * T * T;
    const double per_block = n * d * (1 + 3 + 1 + 1 + 8) + 2 * (n * d + 2 * n) + attention;
    return 4.0 * double(parameters) + double(c.layers) * per_block + (2 * n * d + 2 * n) + n * double(c.vocab);
}

}  // namespace

int run_gpt(const GptBenchShape& shape, int threads, int repeats, bool json) {
    using namespace tapegrad;
    // the default corpus's vocabulary
    const GPTConfig config{.vocab = 114, .block = shape.block, .layers = shape.layers, .heads = shape.heads, .width = shape.width};
    const std::size_t windows = shape.windows, n = windows * config.block;
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<std::int64_t> token(0, std::int64_t(config.vocab) - 1);
    std::vector<std::int64_t> ids(n), targets(n);
    for (auto& x : ids) x = token(rng);
    for (auto& x : targets) x = token(rng);

    const std::size_t live_before = heap_counters().live_bytes;
    Tape<float> tape;
    tape.set_release_intermediate_gradients(true);  // as train_lm: one gradient buffer per size, not per node
    Generator gen(1);
    auto model = make_gpt<float>(config, tape, gen);
    const auto params = model->named_parameters();
    AdamW<float> adamw(params, {.lr = 1e-3, .beta2 = 0.99, .weight_decay = 0.1, .decay_matrices_only = true});
    float last_loss = 0;
    auto step = [&] {
        adamw.zero_grad();
        Var<float> loss = cross_entropy((*model)(TokenInput{ids}), targets);
        loss.backward();
        clip_grad_norm(params, 1.0);
        adamw.step();
        last_loss = loss.item();
        tape.clear();
    };
    for (int k = 0; k < 3; ++k) step();
    const auto c0 = heap_counters();
    constexpr int kCounted = 5;
    for (int k = 0; k < kCounted; ++k) step();
    const double allocs_per_step = double(heap_counters().allocations - c0.allocations) / kCounted;
    reset_peak();
    step();
    const double peak_bytes = double(heap_counters().peak_bytes - live_before);
    const double must_keep_bytes = must_keep_floats(config, windows, model->parameter_count()) * sizeof(float);

    GptGemmFloor gemms_alone({config.layers, config.heads, config.width, config.block, windows, config.vocab,
                              attention_recomputes(AttentionMemory::automatic, config.block)});
    const PairTimes times = time_pairs(repeats, step, [&] { gemms_alone.step(); });
    const double step_ms = times.ours_ms, tokens_per_s = double(n) / (step_ms * 1e-3);
    std::printf("size gpt: train_lm --model gpt's step (%zu layers, %zu heads, width %zu, %zu windows of %zu, vocabulary %zu, "
                "%zu parameters), %d thread(s), %d steps, OpenBLAS %s\n",
                config.layers, config.heads, config.width, windows, config.block, config.vocab, model->parameter_count(),
                threads, repeats, blas_kernel().c_str());
    std::printf("  step           %10.4f ms   (%.0f tokens/s; loss %.4f)\n", step_ms, tokens_per_s, double(last_loss));
    std::printf("  GEMMs alone    %10.4f ms   (the step is %.3fx its products run as raw cblas_sgemm calls)\n", times.floor_ms,
                times.ratio);
    std::printf("  peak memory    %10.1f MB   (%.2fx the %.1f MB backward must keep)\n", peak_bytes / 1e6,
                peak_bytes / must_keep_bytes, must_keep_bytes / 1e6);
    std::printf("  allocations    %10.1f per steady-state step\n", allocs_per_step);
    if (json) {
        const nlohmann::ordered_json j = {{"size", "gpt"},
                                          {"threads", threads},
                                          {"block", config.block},
                                          {"width", config.width},
                                          {"layers", config.layers},
                                          {"heads", config.heads},
                                          {"windows", windows},
                                          {"parameters", model->parameter_count()},
                                          {"step_ms", step_ms},
                                          {"tokens_per_s", tokens_per_s},
                                          {"gemms_alone_ms", times.floor_ms},
                                          {"step_over_gemms", times.ratio},
                                          {"allocs_per_step", allocs_per_step},
                                          {"peak_bytes", peak_bytes},
                                          {"must_keep_bytes", must_keep_bytes},
                                          {"peak_ratio", peak_bytes / must_keep_bytes},
                                          {"attention_recomputes", attention_recomputes(AttentionMemory::automatic, config.block)},
                                          {"blas_kernel", blas_kernel()}};
        std::cout << j.dump() << std::endl;
    }
    return 0;
}

}  // namespace bench
