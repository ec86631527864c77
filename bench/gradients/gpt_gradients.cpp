// gpt_gradients: one forward and backward of make_gpt<double> on a random batch, written as one safetensors
// file for gpt_gradients_vs_pytorch.py, which rebuilds the same model in PyTorch float64 and compares.
//
//   gpt_gradients --out FILE [--vocab 11 --block 8 --layers 2 --heads 2 --width 16 --windows 3]
//                 [--time T] [--untied] [--from-spec] [--seed 1] [--perturb 0]
//
// The model is make_gpt's, or with --from-spec build_model(gpt_spec(config)) (the path train_lm --model gpt
// takes; the same parameters), nanoGPT's initialisation from --seed; --perturb S then adds N(0, S²) noise to every parameter
// (LayerNorm's γ and β included), so that the check also covers peaked attention, γ ≠ 1 and β ≠ 0. The batch:
// --windows windows of --time positions (default: the block), row b·time + t, ids and targets uniform over
// the vocabulary (a generator of its own, seeded from --seed). A time below the block is one shorter
// sequence, so it needs --windows 1.
//
// The file holds, in the model's parameter order, "param.<name>" (the value the gradient was taken at) and
// "grad.<name>" (d loss / d param), all F64 in tapegrad's orientation (Linear weights in×out), and metadata:
//   config.vocab, config.block, config.layers, config.heads, config.width, config.tied ("true"/"false"),
//   batch.windows, batch.time, ids, targets (comma-separated), loss (%.17g), names (comma-separated
//   parameter names in order), seed, perturb (%.17g), spec, built ("make_gpt" or "build_model").
#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "tapegrad/nn/nn.hpp"

namespace {

std::string g17(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

std::string join(const std::vector<std::int64_t>& v) {
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"gpt_gradients: make_gpt<double>'s loss and parameter gradients on a random batch, as safetensors"};
    tapegrad::GPTConfig config{.vocab = 11, .block = 8, .layers = 2, .heads = 2, .width = 16, .tied = true};
    std::size_t windows = 3, time = 0;
    std::uint64_t seed = 1;
    double perturb = 0.0;
    bool untied = false, from_spec = false;
    std::string out;
    app.add_option("--out", out, "safetensors file to write")->required();
    app.add_option("--vocab", config.vocab, "vocabulary size V")->capture_default_str()->check(CLI::Range(1, 1 << 20));
    app.add_option("--block", config.block, "block size (positions per window)")->capture_default_str()->check(CLI::Range(1, 1 << 16));
    app.add_option("--layers", config.layers, "transformer blocks N")->capture_default_str()->check(CLI::Range(1, 1 << 10));
    app.add_option("--heads", config.heads, "attention heads H (the width must be a multiple)")->capture_default_str()->check(CLI::Range(1, 1 << 12));
    app.add_option("--width", config.width, "model width d")->capture_default_str()->check(CLI::Range(1, 1 << 16));
    app.add_option("--windows", windows, "windows B in the batch")->capture_default_str()->check(CLI::Range(1, 1 << 16));
    app.add_option("--time", time, "positions per window (default: the block; fewer needs --windows 1)")->check(CLI::Range(1, 1 << 16));
    app.add_flag("--untied", untied, "an output Linear d×V of its own instead of the token embedding transposed");
    app.add_flag("--from-spec", from_spec, "build the model from gpt_spec(config) with build_model, not make_gpt");
    app.add_option("--seed", seed, "seed of the initialisation and of the batch")->capture_default_str();
    app.add_option("--perturb", perturb, "add N(0, S^2) noise to every parameter after the initialisation")
        ->capture_default_str()->check(CLI::Range(0.0, 100.0));
    CLI11_PARSE(app, argc, argv);
    config.tied = !untied;
    if (time == 0) time = config.block;
    try {
        if (time > config.block) throw std::runtime_error("--time " + std::to_string(time) + " is above the block " + std::to_string(config.block));
        if (time < config.block && windows != 1)
            throw std::runtime_error("--time below the block is one shorter sequence: it needs --windows 1");

        tapegrad::Tape<double> tape;
        tape.set_release_intermediate_gradients(true);  // as train_lm: buffers handed over and reused
        tapegrad::Generator gen(seed);
        auto model = from_spec ? tapegrad::build_model<double>(tapegrad::gpt_spec(config), config.vocab, tape, gen)
                               : tapegrad::make_gpt<double>(config, tape, gen);
        const auto params = model->named_parameters();
        if (perturb > 0)
            for (const auto& p : params)
                for (double& x : p.var.mutable_value()) x += perturb * gen.normal();

        tapegrad::Generator data_gen(seed * 0x9E3779B97F4A7C15ull + 0x5EED);
        std::vector<std::int64_t> ids(windows * time), targets(windows * time);
        for (auto& id : ids) id = std::int64_t(data_gen.below(config.vocab));
        for (auto& id : targets) id = std::int64_t(data_gen.below(config.vocab));

        tapegrad::Var<double> logits = (*model)(tapegrad::TokenInput{ids});
        tapegrad::Var<double> loss = tapegrad::cross_entropy(logits, targets);
        loss.backward();

        tapegrad::StateDict<double> values, grads;
        std::string names;
        for (const auto& p : params) {
            values.tensors.emplace_back(p.name, p.var.value());
            grads.tensors.emplace_back(p.name, p.var.grad());
            names += (names.empty() ? "" : ",") + p.name;
        }
        tapegrad::SafetensorsWriter writer;
        tapegrad::add_state(writer, values, "param.");
        tapegrad::add_state(writer, grads, "grad.");
        writer.metadata = {{"config.vocab", std::to_string(config.vocab)},
                           {"config.block", std::to_string(config.block)},
                           {"config.layers", std::to_string(config.layers)},
                           {"config.heads", std::to_string(config.heads)},
                           {"config.width", std::to_string(config.width)},
                           {"config.tied", config.tied ? "true" : "false"},
                           {"batch.windows", std::to_string(windows)},
                           {"batch.time", std::to_string(time)},
                           {"ids", join(ids)},
                           {"targets", join(targets)},
                           {"loss", g17(loss.item())},
                           {"names", names},
                           {"seed", std::to_string(seed)},
                           {"perturb", g17(perturb)},
                           {"spec", model->spec()},
                           {"built", from_spec ? "build_model" : "make_gpt"}};
        writer.save(out);
        std::cout << "loss " << g17(loss.item()) << ", " << params.size() << " parameters (" << model->parameter_count()
                  << " scalars) -> " << out << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "gpt_gradients: error: " << e.what() << "\n";
        return 1;
    }
}
