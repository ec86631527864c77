#include "tapegrad/nn/token_model.hpp"

#include "tapegrad/autodiff/ops/context_linear.hpp"
#include "tapegrad/nn/layers.hpp"
#include "tapegrad/nn/transformer.hpp"

#include <typeinfo>

namespace tapegrad {

template <class T>
void TokenSequential<T>::set_reader(std::shared_ptr<Module<T>> module, std::shared_ptr<TokenReader<T>> reader) {
    if (size() != 0)
        throw UsageError(describe() + ": " + module->describe() +
                         " reads token ids: it can only be the first module (module 0), and this model has one");
    this->add_child("0", std::move(module));
    reader_ = reader.get();
}

template <class T>
void TokenSequential<T>::push_back(std::shared_ptr<Module<T>> layer) {
    if (size() == 0)
        throw UsageError(describe() + ": module 0 must read token ids (an Embedding, a ContextEmbedding or another "
                                      "TokenReader), not " + (layer ? layer->describe() : std::string("null")));
    this->add_child(std::to_string(size()), std::move(layer));
}

// Fused only with the class itself: a subclass of Linear may override forward, which the fused op would skip.
template <class T>
void TokenSequential<T>::push_linear(std::shared_ptr<Linear<T>> layer) {
    const bool fuses = size() == 1 && context_ && layer && typeid(*layer) == typeid(Linear<T>) &&
                       layer->in_features() == context_->context_size() * context_->weight.cols();
    push_back(std::shared_ptr<Module<T>>(layer));
    if (fuses) context_linear_ = std::move(layer);
}

template <class T>
std::shared_ptr<ContextEmbedding<T>> TokenSequential<T>::exactly_context_embedding(std::shared_ptr<ContextEmbedding<T>> reader) {
    return reader && typeid(*reader) == typeid(ContextEmbedding<T>) ? std::move(reader) : nullptr;
}

template <class T>
Var<T> TokenSequential<T>::forward_tokens(const TokenInput& tokens) {
    if (reader_ == nullptr) throw UsageError(describe() + ": empty, nothing reads the token ids");
    Var<T> h;
    std::size_t next = 1;
    if (context_linear_ && tokens.context == context_->context_size()) {
        h = context_linear(context_->weight, context_linear_->weight, tokens.ids, tokens.context, context_linear_->bias);
        next = 2;
    } else {
        h = reader_->forward_tokens(tokens);  // a mismatched context: the reader's own error names it
    }
    for (std::size_t i = next; i < size(); ++i) h = (*this)[i].forward(h);
    return h;
}

template <class T>
std::size_t TokenSequential<T>::context_size() const {
    return reader_ ? reader_->context_size() : 1;
}

template <class T>
std::optional<std::int64_t> TokenSequential<T>::padding_id() const {
    return reader_ ? reader_->padding_id() : std::nullopt;
}

template <class T>
std::string TokenSequential<T>::describe() const {
    return "TokenSequential(" + std::to_string(size()) + " modules)";
}

template class LanguageModel<float>;
template class LanguageModel<double>;
template class TokenSequential<float>;
template class TokenSequential<double>;

}  // namespace tapegrad
