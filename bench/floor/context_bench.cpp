// tapegrad_bench --size context: train_lm's default model, the library's step against its floor.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>

#include <nlohmann/json.hpp>

#include "alloc_counter.hpp"
#include "tapegrad/autodiff/threads.hpp"
#include "context_model.hpp"
#include "timing.hpp"

namespace bench {

// Runs the comparison and prints it; returns non-zero when the two steps disagree.
int run_context_mlp(int threads, int repeats, bool json) {
    const ContextMlpSize size;
    const AdamSettings adam{.lr = 3e-3f};
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<std::int64_t> token(0, std::int64_t(size.w));  // w: the padding id
    std::vector<std::int64_t> contexts(size.n * size.k), targets(size.n);
    for (auto& x : contexts) x = token(rng);
    for (auto& x : targets) x = token(rng) % std::int64_t(size.w);

    ContextMlpStep ours(size, adam, 1);
    ContextMlpFloor floor(size, adam, ours.parameters());
    double worst = 0;
    for (int k = 0; k < 3; ++k) {
        const float a = ours.step(contexts, targets), b = floor.step(contexts, targets);
        worst = std::max(worst, std::abs(double(a) - double(b)) / std::abs(double(b)));
    }
    if (!(worst < 1e-4)) {
        std::cerr << "tapegrad_bench: context model: the library's loss and the floor's differ by " << worst << " (relative)\n";
        return 1;
    }
    const auto c0 = heap_counters();
    constexpr int kCounted = 5;
    for (int k = 0; k < kCounted; ++k) ours.step(contexts, targets);
    const double allocs_per_step = double(heap_counters().allocations - c0.allocations) / kCounted;

    const PairTimes times =
        time_pairs(repeats, [&] { ours.step(contexts, targets); }, [&] { floor.step(contexts, targets); });
    const double step_ms = times.ours_ms, floor_ms = times.floor_ms, ratio = times.ratio;
    const double tokens_per_s = double(size.n) / (step_ms * 1e-3);
    std::printf("size context: train_lm's default model %s, vocabulary %zu, batch %zu (%zu parameters), %d thread(s), %d pairs, OpenBLAS %s\n",
                size.spec().c_str(), size.w, size.n, size.parameters(), threads, repeats, tapegrad::blas_kernel().c_str());
    std::printf("  step           %10.4f ms   (%.0f tokens/s, %.1f GFLOP/s of GEMM work)\n", step_ms, tokens_per_s,
                size.gemm_flops() / (step_ms * 1e6));
    std::printf("  floor          %10.4f ms   (%.0f tokens/s)\n", floor_ms, double(size.n) / (floor_ms * 1e-3));
    std::printf("  step / floor   %10.3f      (median of pair ratios; ratio of medians %.3f)\n", ratio, step_ms / floor_ms);
    std::printf("  allocations    %10.1f per steady-state step\n", allocs_per_step);
    if (json) {
        const nlohmann::ordered_json j = {{"size", "context"},       {"threads", threads},       {"step_ms", step_ms},
                                          {"floor_ms", floor_ms},     {"ratio", ratio},           {"tokens_per_s", tokens_per_s},
                                          {"allocs_per_step", allocs_per_step}, {"blas_kernel", tapegrad::blas_kernel()}};
        std::cout << j.dump() << std::endl;
    }
    return 0;
}

}  // namespace bench
