#include "presets.hpp"

#include <algorithm>
#include <vector>

#include "tapegrad/nn/spec.hpp"
#include "tapegrad/nn/transformer.hpp"
#include "tapegrad/nn/language_model.hpp"

namespace train_lm {

using namespace tapegrad;

std::string resolve_spec(const std::string& model, std::size_t vocab, std::size_t context) {
    if (model == "default")
        return std::string("context(") + std::to_string(context) + ", 24) linear(384) tanh linear(vocab)";
    if (model == "gpt") return gpt_spec({.vocab = vocab});
    if (model == "seed") {
        // The design note's model (E, W3, W2, W1; no bias, no activation) with d = f = w, so that the
        // product can represent any table of bigram logits.
        return seed_spec({vocab, vocab, vocab});
    }
    return model;
}

bool is_windowed_spec(const std::string& model) {
    if (model == "gpt") return true;
    const auto has_position = [](const auto& self, const std::vector<tapegrad::LayerSpec>& layers) -> bool {
        return std::any_of(layers.begin(), layers.end(),
                           [&](const tapegrad::LayerSpec& l) { return l.name == "position" || self(self, l.body); });
    };
    try {
        return has_position(has_position, tapegrad::parse_spec(model));
    } catch (const tapegrad::SpecError&) {
        return false;  // not a spec (a preset name) or a bad one, which building the model reports
    }
}

void use_gpt_defaults(TrainOptions& opt, const std::function<bool(const char*)>& given) {
    if (!given("--steps")) opt.steps = 2000;
    if (!given("--batch")) opt.batch = 12;
    use_gpt_optimizer(opt, given);
}

void use_gpt_optimizer(TrainOptions& opt, const std::function<bool(const char*)>& given) {
    if (!given("--lr")) opt.lr = 1e-3;
    if (!given("--warmup")) opt.warmup = 100;
    if (!given("--clip")) opt.clip = 1.0;
    if (!given("--eval-every")) opt.eval_every = 250;
    if (!given("--beta2")) opt.beta2 = 0.99;
    if (!given("--weight-decay")) opt.weight_decay = 0.1;
    opt.min_lr_ratio = 0.1;  // cosine to 1e-4
    opt.adamw = true;
}

}  // namespace train_lm
