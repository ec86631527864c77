// tapegrad_bench: one training step of the design note's model, the library against the floor.
//
//   tapegrad_bench --size small --threads 2 [--repeats 30] [--json]
//
// Prints the step time, the floor's time (the same GEMMs and loops written by hand, seed_floor.cpp) and
// their ratio as the median over pairs run back to back, GFLOP/s of the step's GEMM work, the tape's
// overhead per node, heap allocations per steady-state step and peak heap bytes against the theory.
// With --json the last line is one JSON object with those figures.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <random>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "alloc_counter.hpp"
#include "gpt_bench.hpp"
#include "context_model.hpp"
#include "timing.hpp"
#include "tapegrad/autodiff/threads.hpp"
#include "seed_floor.hpp"
#include "seed_step.hpp"

namespace bench {
int run_context_mlp(int threads, int repeats, bool json);  // context_bench.cpp
}

namespace {


int default_repeats(const std::string& size) {
    return size == "tiny" ? 2001 : size == "small" ? 41 : size == "context" ? 401 : size == "gpt" ? 41 : 9;
}

}  // namespace

int main(int argc, char** argv) {
    // libgomp reads OMP_WAIT_POLICY once, at start-up: threads spinning after an OpenMP loop would steal
    // the cores OpenBLAS needs for the next GEMM (performance-notes.md), so make them sleep instead.
    tapegrad::reexec_with_machine_settings(argv);

    CLI::App app{"tapegrad_bench: one training step of the note's model against the hand-written floor"};
    std::string size_name = "small";
    int threads = 1, repeats = 0;
    bool json = false;
    app.add_option("--size", size_name, "tiny, small or large (the note's model), context (train_lm's default model), gpt (train_lm --model gpt)")->capture_default_str()->check(CLI::IsMember({"tiny", "small", "large", "context", "gpt"}));
    app.add_option("--threads", threads, "threads for OpenBLAS and OpenMP")->capture_default_str()->check(CLI::Range(1, 256));
    app.add_option("--repeats", repeats, "timed pairs (default: 2001 tiny, 41 small, 9 large, 401 context, 41 gpt steps)")->check(CLI::PositiveNumber);
    app.add_flag("--json", json, "print the figures as one JSON object on the last line");
    bench::GptBenchShape gpt;  // --size gpt: train_lm --model gpt's shape unless told otherwise
    app.add_option("--block", gpt.block, "gpt: positions per window (T)")->capture_default_str()->check(CLI::Range(1, 1 << 16));
    app.add_option("--width", gpt.width, "gpt: model width (d)")->capture_default_str()->check(CLI::Range(1, 1 << 16));
    app.add_option("--layers", gpt.layers, "gpt: blocks (N)")->capture_default_str()->check(CLI::Range(1, 1024));
    app.add_option("--heads", gpt.heads, "gpt: attention heads (H; d must be a multiple)")->capture_default_str()->check(CLI::Range(1, 1024));
    app.add_option("--windows", gpt.windows, "gpt: windows per step (B)")->capture_default_str()->check(CLI::Range(1, 1 << 16));
    CLI11_PARSE(app, argc, argv);
    if (repeats == 0) repeats = default_repeats(size_name);
    if (size_name == "gpt") {
        bench::set_threads(threads);
        if (gpt.width % gpt.heads != 0) {
            std::cerr << "tapegrad_bench: --width " << gpt.width << " is not a multiple of --heads " << gpt.heads << "\n";
            return 2;
        }
        return bench::run_gpt(gpt, threads, repeats, json);
    }
    if (size_name == "context") {
        bench::set_threads(threads);
        return bench::run_context_mlp(threads, repeats, json);
    }

    const bench::ModelSize size = bench::model_size(size_name);
    const bench::AdamSettings adam;
    bench::set_threads(threads);

    std::mt19937_64 rng(7);
    std::uniform_int_distribution<std::int64_t> token(0, std::int64_t(size.w) - 1);
    std::vector<std::int64_t> ids(size.n), targets(size.n);
    for (auto& x : ids) x = token(rng);
    for (auto& x : targets) x = token(rng);

    // Both steps start from the same parameters; their losses must agree, or the floor is not the same work.
    const std::size_t live_before = bench::heap_counters().live_bytes;
    bench::TapegradStep ours(size, adam, 1);
    const std::size_t before_floor = bench::heap_counters().live_bytes;
    auto init = ours.parameters();
    bench::FloorStep floor(size, adam, std::move(init[0]), std::move(init[1]), std::move(init[2]), std::move(init[3]));
    init.clear();
    const std::size_t floor_bytes = bench::heap_counters().live_bytes - before_floor;
    double worst = 0;
    for (int k = 0; k < 3; ++k) {
        const float a = ours.step(ids, targets), b = floor.step(ids, targets);
        worst = std::max(worst, std::abs(double(a) - double(b)) / std::abs(double(b)));
    }
    if (!(worst < 1e-4)) {
        std::cerr << "tapegrad_bench: the library's loss and the floor's differ by " << worst << " (relative)\n";
        return 1;
    }

    // Steady state: heap allocations and the peak of live heap bytes during one step.
    const auto c0 = bench::heap_counters();
    constexpr int kCounted = 5;
    for (int k = 0; k < kCounted; ++k) ours.step(ids, targets);
    const double allocs_per_step = double(bench::heap_counters().allocations - c0.allocations) / kCounted;
    bench::reset_peak();
    ours.step(ids, targets);
    const std::size_t peak_bytes = bench::heap_counters().peak_bytes - floor_bytes - live_before;
    // Theory: parameters, their gradients and Adam's two moments, plus the activations backward reads
    // (h3 n×d, h2 n×f, h1 n×d, logits n×w).
    const std::size_t theory_bytes =
        (4 * size.parameters() + size.n * (size.d + size.f + size.d + size.w)) * sizeof(float);

    // Timing: pairs back to back, the order alternating, medians.
    const bench::PairTimes times =
        bench::time_pairs(repeats, [&] { ours.step(ids, targets); }, [&] { floor.step(ids, targets); });
    const double step_ms = times.ours_ms, floor_ms = times.floor_ms, ratio = times.ratio;
    const double gflops = size.gemm_flops() / (step_ms * 1e6);
    const double overhead = bench::node_overhead_us(1000, size_name == "tiny" ? 201 : 51);

    std::printf("size %s (w %zu, d %zu, f %zu, n %zu), %d thread(s), %d pairs\n", size.name.c_str(), size.w, size.d,
                size.f, size.n, threads, repeats);
    std::printf("  step           %10.4f ms   (%.1f GFLOP/s of GEMM work)\n", step_ms, gflops);
    std::printf("  floor          %10.4f ms   (%.1f GFLOP/s)\n", floor_ms, size.gemm_flops() / (floor_ms * 1e6));
    std::printf("  step / floor   %10.3f      (median of pair ratios; ratio of medians %.3f)\n", ratio, step_ms / floor_ms);
    std::printf("  tape overhead  %10.3f us per node (chain of 1000 1x1 ops, forward + backward)\n", overhead);
    std::printf("  allocations    %10.1f per steady-state step\n", allocs_per_step);
    std::printf("  peak heap      %10.1f MiB, theory %.1f MiB (%.3fx)\n", double(peak_bytes) / 1048576.0,
                double(theory_bytes) / 1048576.0, double(peak_bytes) / double(theory_bytes));
    if (json) {
        nlohmann::ordered_json j = {{"size", size.name},        {"threads", threads},         {"step_ms", step_ms},
                            {"floor_ms", floor_ms},     {"ratio", ratio},             {"gflops", gflops},
                            {"node_overhead_us", overhead}, {"allocs_per_step", allocs_per_step},
                            {"peak_bytes", peak_bytes}, {"theory_bytes", theory_bytes},
                            {"blas_kernel", tapegrad::blas_kernel()}};
        std::cout << j.dump() << std::endl;
    }
    return 0;
}
