#include "context_model.hpp"

#include "tapegrad/autodiff/autodiff.hpp"
#include "tapegrad/nn/nn.hpp"
#include "tapegrad/optim/optim.hpp"

namespace bench {

std::string ContextMlpSize::spec() const {
    return "context(" + std::to_string(k) + ", " + std::to_string(d) + ") linear(" + std::to_string(h) + ") tanh linear(vocab)";
}

struct ContextMlpStep::State {
    ContextMlpSize size;
    tapegrad::Tape<float> tape;
    tapegrad::Generator gen;
    std::shared_ptr<tapegrad::SpecModel<float>> model;
    std::vector<tapegrad::NamedParameter<float>> params;
    tapegrad::Adam<float> adam;
    State(const ContextMlpSize& s, const AdamSettings& a, std::uint64_t seed)
        : size(s),
          gen(seed),
          model(tapegrad::build_model<float>(s.spec(), s.w, tape, gen)),
          params(model->named_parameters()),
          adam(params, tapegrad::AdamOptions{.lr = a.lr, .beta1 = a.beta1, .beta2 = a.beta2, .eps = a.eps}) {}
};

ContextMlpStep::ContextMlpStep(const ContextMlpSize& size, const AdamSettings& adam, std::uint64_t seed)
    : s_(std::make_unique<State>(size, adam, seed)) {}

ContextMlpStep::~ContextMlpStep() = default;

// What train_lm's loop does for one step, batch assembly aside.
float ContextMlpStep::step(const std::vector<std::int64_t>& contexts, const std::vector<std::int64_t>& targets) {
    State& s = *s_;
    s.tape.clear();
    s.adam.zero_grad();
    auto loss = tapegrad::cross_entropy(s.model->forward_tokens(tapegrad::TokenInput{contexts, s.size.k}), targets);
    loss.backward();
    tapegrad::clip_grad_norm(s.params, double(s.size.clip));
    s.adam.step();
    return loss.item();
}

std::vector<std::vector<float>> ContextMlpStep::parameters() const {
    std::vector<std::vector<float>> out;
    for (const auto& p : s_->params) out.emplace_back(p.var.value().begin(), p.var.value().end());
    return out;
}

}  // namespace bench
