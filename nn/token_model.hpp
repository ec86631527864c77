/// \file
/// Language models: what every model that reads token ids offers (LanguageModel), and the one most models are,
/// a stack (TokenSequential): an input stage that reads the ids (module "0": an Embedding, a ContextEmbedding,
/// or any module that is also a TokenReader), then tensor layers "1", "2", … (so parameters are named as in
/// a Sequential: "0.weight", "2.bias"). A model built from a spec (SpecModel, nn/spec.hpp), make_gpt's and a
/// hand-built one are TokenSequentials.
#pragma once

#include <concepts>
#include <initializer_list>
#include <memory>
#include <string>

#include "tapegrad/nn/module.hpp"
#include "tapegrad/nn/tokens.hpp"

namespace tapegrad {

template <class T>
class ContextEmbedding;
template <class T>
class Linear;

/// Token ids in, logits (or any rows) out, and how the model reads its input.
template <class T>
class LanguageModel : public Module<T> {
public:
    using Module<T>::Module;
    using Module<T>::operator();
    virtual Var<T> forward_tokens(const TokenInput& tokens) = 0;
    Var<T> operator()(const TokenInput& tokens) { return forward_tokens(tokens); }
    /// Ids per position the model reads: k for a model that starts with a context embedding of k tokens.
    virtual std::size_t context_size() const { return 1; }
    /// The window length T of a model that reads windows of consecutive positions (a GPT), 0 for a model of
    /// independent positions.
    virtual std::size_t window_size() const { return 0; }
    /// The id that pads positions before a sequence's start (a context embedding's reserved id), if any.
    virtual std::optional<std::int64_t> padding_id() const { return std::nullopt; }
};

/// A language model as a stack of modules: push_back the input stage first, then the tensor layers.
/// A ContextEmbedding followed by a Linear that reads all its k·d columns runs as one context_linear op
/// (autodiff/ops/context_linear.hpp: k·V·d·h multiply-adds instead of n·k·d·h when the batch has more positions
/// than the vocabulary), the same function, parameters, names and gradients. The pair is recognised by the
/// types pushed (push_back(shared_ptr<Linear>) after push_back(shared_ptr<ContextEmbedding>), the classes
/// themselves, not subclasses that may override forward), never by casts; given in the constructor's list
/// the Linear is a plain module and nothing is fused. window_size() is the first window() in the tree (a
/// position embedding's or attention's block), or what set_window_size states.
template <class T>
class TokenSequential : public LanguageModel<T> {
public:
    explicit TokenSequential(Tape<T>& tape) : LanguageModel<T>(tape) {}
    /// The input stage, then tensor layers: TokenSequential<float>(tape, embedding, {relu, linear}).
    template <class R>
        requires std::derived_from<R, Module<T>> && std::derived_from<R, TokenReader<T>>
    TokenSequential(Tape<T>& tape, std::shared_ptr<R> reader, std::initializer_list<std::shared_ptr<Module<T>>> layers = {})
        : LanguageModel<T>(tape) {
        push_back(std::move(reader));
        for (const auto& layer : layers) push_back(layer);
    }

    /// The input stage, module "0": UsageError unless the model is still empty.
    template <class R>
        requires std::derived_from<R, Module<T>> && std::derived_from<R, TokenReader<T>>
    void push_back(std::shared_ptr<R> reader) {
        set_reader(reader, reader);  // throws unless the model is empty: nothing is kept from a refused reader
        if constexpr (std::is_same_v<R, ContextEmbedding<T>>) context_ = exactly_context_embedding(reader);
    }
    /// A tensor layer after the input stage (a Linear right after a ContextEmbedding: see above).
    template <class L>
        requires std::derived_from<L, Module<T>> && (!std::derived_from<L, TokenReader<T>>)
    void push_back(std::shared_ptr<L> layer) {
        if constexpr (std::derived_from<L, Linear<T>>) push_linear(std::move(layer));
        else push_back(std::shared_ptr<Module<T>>(std::move(layer)));
    }
    void push_back(std::shared_ptr<Module<T>> layer);

    std::size_t size() const { return this->children().size(); }
    Module<T>& operator[](std::size_t i) const { return *this->children().at(i).second; }

    /// The input stage's ids, then every layer in order.
    Var<T> forward_tokens(const TokenInput& tokens) override;
    std::size_t context_size() const override;
    std::size_t window_size() const override { return window_ ? window_ : this->window_in_tree(); }
    std::optional<std::int64_t> padding_id() const override;
    void set_window_size(std::size_t t) { window_ = t; }
    std::string describe() const override;

private:
    void set_reader(std::shared_ptr<Module<T>> module, std::shared_ptr<TokenReader<T>> reader);
    void push_linear(std::shared_ptr<Linear<T>> layer);
    /// The reader when its dynamic type is ContextEmbedding itself (a subclass may read ids its own way).
    static std::shared_ptr<ContextEmbedding<T>> exactly_context_embedding(std::shared_ptr<ContextEmbedding<T>> reader);
    TokenReader<T>* reader_ = nullptr;
    std::shared_ptr<ContextEmbedding<T>> context_;  ///< the input stage, when it is a context embedding
    std::shared_ptr<Linear<T>> context_linear_;     ///< module 1, when it fuses with it
    std::size_t window_ = 0;  ///< set_window_size's; 0: found in the tree
};

extern template class LanguageModel<float>;
extern template class LanguageModel<double>;
extern template class TokenSequential<float>;
extern template class TokenSequential<double>;

}  // namespace tapegrad
