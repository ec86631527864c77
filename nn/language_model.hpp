/// \file
/// The design note's language model (seed-math 2.3 and 5), with the note's parameter names:
///
/// ~~~{.unparsed}
///   E  : w×d   h3 = E[ids]        (n×d)
///   W3 : d×f   h2 = h3·W3         (n×f)   [optionally h2 = act(h3·W3)]
///   W2 : f×d   h1 = h2·W2         (n×d)
///   W1 : d×w   logits = h1·W1     (n×w)
/// ~~~
///
/// No biases and no activation by default: exactly the note. `widths` generalises the chain (seed-math 5):
/// widths {d, f, d} is the note's model, {d} is E·W1 alone, {d, f, g, d} has four matrices W4…W1.
/// The matrices are named W<x> … W1 counting down to the output; the activation, if any, follows every
/// matrix but the last two (W2 and W1).
#pragma once

#include <string>
#include <vector>

#include "tapegrad/nn/init.hpp"
#include "tapegrad/nn/token_model.hpp"

namespace tapegrad {

enum class Activation { none, relu, gelu, tanh };

template <class T>
class SeedLanguageModel : public LanguageModel<T> {
public:
    SeedLanguageModel(Tape<T>& tape, std::size_t vocab, std::vector<std::size_t> widths, Generator& gen,
                      Activation activation = Activation::none);
    /// The note's sizes: widths {d, f, d}.
    SeedLanguageModel(Tape<T>& tape, std::size_t vocab, std::size_t d, std::size_t f, Generator& gen,
                      Activation activation = Activation::none)
        : SeedLanguageModel(tape, vocab, {d, f, d}, gen, activation) {}

    Var<T> forward_tokens(const TokenInput& tokens) override;
    /// Every intermediate of the chain: [h after E, h after each matrix …, logits].
    std::vector<Var<T>> forward_all(const TokenInput& tokens);
    std::string describe() const override;

    Var<T> E;
    std::vector<Var<T>> W;  ///< W[0] = W<x> (first after E) … W.back() = W1 (output)

private:
    std::size_t vocab_;
    std::vector<std::size_t> widths_;
    Activation activation_;
    /// Records E[ids] and the chain of matrices, calling visit on every intermediate; returns the logits.
    template <class Visit>
    Var<T> run_chain(const TokenInput& tokens, Visit&& visit);
};

/// The same model as a spec (docs/spec.md), for build_model and train_lm --model seed: embed(w0), then
/// linear(w_i, bias=false) for each width after the first and linear(vocab, bias=false), the activation
/// after every matrix but the last two. Built with the same generator it draws the same values as
/// SeedLanguageModel, in the same order (its parameters are named 0.weight … instead of E, W3 … W1).
std::string seed_spec(const std::vector<std::size_t>& widths, Activation activation = Activation::none);

extern template class SeedLanguageModel<float>;
extern template class SeedLanguageModel<double>;

}  // namespace tapegrad
