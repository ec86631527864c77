#include "tapegrad/nn/sequential.hpp"

#include "tapegrad/autodiff/ops/context_linear.hpp"
#include "tapegrad/autodiff/ops/linalg.hpp"
#include "tapegrad/nn/layers.hpp"

namespace tapegrad {

template <class T>
Sequential<T>::Sequential(Tape<T>& tape, std::initializer_list<std::shared_ptr<Module<T>>> modules) : Module<T>(tape) {
    for (const auto& m : modules) push_back(m);
}

template <class T>
void Sequential<T>::push_back(std::shared_ptr<Module<T>> module) {
    this->add_child(std::to_string(size()), std::move(module));
}

template <class T>
Var<T> Sequential<T>::forward(const Var<T>& x) {
    Var<T> h = x;
    for (const auto& [name, m] : this->children()) h = m->forward(h);
    return h;
}

template <class T>
Var<T> Sequential<T>::forward_tokens(const TokenInput& tokens) {
    if (size() == 0) throw UsageError("Sequential: empty, nothing to read token ids");
    Var<T> h;
    std::size_t next = 1;
    // A context embedding followed by a linear layer that reads all of it runs as one context_linear op:
    // the same function, with n·(k·d)·h multiply-adds replaced by k·V·d·h when the batch has more positions
    // than the vocabulary (autodiff/ops/context_linear.hpp). Parameters, names and gradients are unchanged.
    const auto* context = dynamic_cast<const ContextEmbedding<T>*>(&(*this)[0]);
    const auto* linear = size() > 1 ? dynamic_cast<const Linear<T>*>(&(*this)[1]) : nullptr;
    if (context && linear && tokens.context == context->context_size() &&
        linear->in_features() == context->context_size() * context->weight.cols()) {
        h = context_linear(context->weight, linear->weight, tokens.ids, tokens.context, linear->bias);
        next = 2;
    } else {
        h = (*this)[0].forward_tokens(tokens);
    }
    for (std::size_t i = next; i < size(); ++i) h = (*this)[i].forward(h);
    return h;
}

template <class T>
std::string Sequential<T>::describe() const {
    return "Sequential(" + std::to_string(size()) + " modules)";
}

template <class T>
Var<T> Residual<T>::forward(const Var<T>& x) {
    // A body that ends in a product (a Linear without bias, attention's output projection) runs that product
    // and the skip connection as one op (Module::forward_added_to: addmm, x + h·W): the product is never a
    // tensor of its own, one n×d buffer and one pass fewer per block. Same function, parameters, gradients.
    const std::size_t n = this->size();
    Var<T> h = x;
    for (std::size_t i = 0; i + 1 < n; ++i) h = (*this)[i].forward(h);
    if (n > 0) {
        if (Var<T> fused = (*this)[n - 1].forward_added_to(h, x); fused.valid()) return fused;
        h = (*this)[n - 1].forward(h);
    }
    if (h.shape() != x.shape())
        throw ShapeError(describe() + ": the body turns " + shape_str(x.shape()) + " into " + shape_str(h.shape()) +
                         "; a residual block must keep its input's shape");
    return add(x, h);
}

template <class T>
std::string Residual<T>::describe() const {
    return "Residual(" + std::to_string(this->size()) + " modules)";
}

template class Sequential<float>;
template class Sequential<double>;
template class Residual<float>;
template class Residual<double>;

}  // namespace tapegrad
