#include "seed_step.hpp"

#include <algorithm>
#include <chrono>

#include "tapegrad/autodiff/autodiff.hpp"
#include "tapegrad/nn/nn.hpp"
#include "tapegrad/optim/optim.hpp"

namespace bench {

struct TapegradStep::State {
    tapegrad::Tape<float> tape;
    tapegrad::Generator gen;
    tapegrad::SeedLanguageModel<float> model;
    tapegrad::Adam<float> adam;
    State(const ModelSize& s, const AdamSettings& a, std::uint64_t seed)
        : gen(seed),
          model(tape, s.w, {s.d, s.f, s.d}, gen),
          adam(model.named_parameters(), tapegrad::AdamOptions{.lr = a.lr, .beta1 = a.beta1, .beta2 = a.beta2, .eps = a.eps}) {}
};

TapegradStep::TapegradStep(const ModelSize& size, const AdamSettings& adam, std::uint64_t seed)
    : s_(std::make_unique<State>(size, adam, seed)) {}

TapegradStep::~TapegradStep() = default;

float TapegradStep::step(const std::vector<std::int64_t>& ids, const std::vector<std::int64_t>& targets) {
    State& s = *s_;
    s.tape.clear();
    s.adam.zero_grad();
    auto logits = s.model.forward_tokens(tapegrad::TokenInput{ids});
    auto loss = tapegrad::cross_entropy(logits, targets);
    loss.backward();
    s.adam.step();
    return loss.item();
}

std::vector<std::vector<float>> TapegradStep::parameters() const {
    std::vector<std::vector<float>> out;
    for (const auto& p : s_->model.named_parameters()) {
        const auto& v = p.var.value();
        out.emplace_back(v.begin(), v.end());
    }
    return out;
}

double node_overhead_us(std::size_t nodes, int repeats) {
    tapegrad::Tape<float> tape;
    auto x = tape.parameter(tapegrad::Tensor<float>({1, 1}, 1.0f));
    double best = 1e300;
    for (int r = 0; r < repeats; ++r) {
        const auto start = std::chrono::steady_clock::now();
        tape.clear();
        tape.zero_grad();
        tapegrad::Var<float> y = x;
        for (std::size_t k = 0; k < nodes; ++k) y = tapegrad::mul(y, 1.0);
        y.backward();
        const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
        best = std::min(best, us / double(nodes));
    }
    return best;
}

}  // namespace bench
