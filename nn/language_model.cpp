#include "tapegrad/nn/language_model.hpp"

#include <cmath>

#include "tapegrad/autodiff/autodiff.hpp"

namespace tapegrad {

template <class T>
SeedLanguageModel<T>::SeedLanguageModel(Tape<T>& tape, std::size_t vocab, std::vector<std::size_t> widths,
                                        Generator& gen, Activation activation)
    : LanguageModel<T>(tape), vocab_(vocab), widths_(std::move(widths)), activation_(activation) {
    if (vocab == 0 || widths_.empty())
        throw ShapeError("SeedLanguageModel: needs a vocabulary and at least one width (d)");
    for (std::size_t wdt : widths_)
        if (wdt == 0) throw ShapeError("SeedLanguageModel: widths must be positive");
    E = this->register_parameter("E", normal_tensor<T>(vocab, widths_[0], 0.0, 1.0, gen));
    const std::size_t x = widths_.size();  // number of matrices after E
    for (std::size_t i = 0; i < x; ++i) {
        const std::size_t in = widths_[i], out = i + 1 < x ? widths_[i + 1] : vocab;
        const double bound = 1.0 / std::sqrt(double(in));  // as Linear
        W.push_back(this->register_parameter(std::string("W").append(std::to_string(x - i)), uniform_tensor<T>(in, out, -bound, bound, gen)));
    }
}

template <class T>
template <class Visit>
Var<T> SeedLanguageModel<T>::run_chain(const TokenInput& tokens, Visit&& visit) {
    if (tokens.context != 1)
        throw ShapeError(describe() + ": input has " + std::to_string(tokens.context) + " ids per position, expected 1");
    Var<T> h = embedding(E, tokens.ids);  // h3 = E[ids]
    visit(h);
    for (std::size_t i = 0; i < W.size(); ++i) {
        h = matmul(h, W[i]);  // h(i) = h(i−1)·p(i)
        const bool activated = i + 2 < W.size();
        if (activated && activation_ == Activation::relu) h = relu(h);
        if (activated && activation_ == Activation::gelu) h = gelu(h);
        if (activated && activation_ == Activation::tanh) h = tanh(h);
        visit(h);
    }
    return h;
}

template <class T>
std::vector<Var<T>> SeedLanguageModel<T>::forward_all(const TokenInput& tokens) {
    std::vector<Var<T>> h;
    run_chain(tokens, [&](const Var<T>& v) { h.push_back(v); });
    return h;
}

// The training path: the same chain, without collecting the intermediates (no allocation per step).
template <class T>
Var<T> SeedLanguageModel<T>::forward_tokens(const TokenInput& tokens) {
    return run_chain(tokens, [](const Var<T>&) {});
}

template <class T>
std::string SeedLanguageModel<T>::describe() const {
    std::string s = "SeedLanguageModel(w " + std::to_string(vocab_) + ", widths";
    for (std::size_t wdt : widths_) s.append(" ").append(std::to_string(wdt));
    return s + ")";
}

std::string seed_spec(const std::vector<std::size_t>& widths, Activation activation) {
    if (widths.empty()) throw ShapeError("seed_spec: needs at least one width (d)");
    const char* act = activation == Activation::relu ? " relu" : activation == Activation::gelu ? " gelu"
                      : activation == Activation::tanh ? " tanh" : "";
    std::string spec = "embed(" + std::to_string(widths[0]) + ")";
    const std::size_t x = widths.size();  // matrices after E
    for (std::size_t i = 0; i < x; ++i) {
        spec += " linear(" + (i + 1 < x ? std::to_string(widths[i + 1]) : std::string("vocab")) + ", bias=false)";
        if (i + 2 < x) spec += act;
    }
    return spec;
}

template class SeedLanguageModel<float>;
template class SeedLanguageModel<double>;

}  // namespace tapegrad
