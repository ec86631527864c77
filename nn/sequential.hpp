/// \file
/// Sequential: tensor layers applied in order, named "0", "1", … (so parameters are "0.weight", "2.bias"). A
/// language model whose first module reads token ids is a TokenSequential (nn/token_model.hpp).
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "tapegrad/nn/module.hpp"

namespace tapegrad {

template <class T>
class Sequential : public Module<T> {
public:
    explicit Sequential(Tape<T>& tape) : Module<T>(tape) {}
    Sequential(Tape<T>& tape, std::initializer_list<std::shared_ptr<Module<T>>> modules);

    void push_back(std::shared_ptr<Module<T>> module);
    std::size_t size() const { return this->children().size(); }
    Module<T>& operator[](std::size_t i) const { return *this->children().at(i).second; }

    Var<T> forward(const Var<T>& x) override;
    std::string describe() const override;
};

/// A residual block: y = x + body(x), the body a Sequential of its own (children "0", "1", …), which must
/// keep the width. A pre-LayerNorm transformer block is two of them:
/// ~~~{.unparsed}
///   Residual{LayerNorm, CausalSelfAttention},  Residual{LayerNorm, Linear(d, 4d), GELU, Linear(4d, d)}.
/// ~~~
template <class T>
class Residual : public Sequential<T> {
public:
    explicit Residual(Tape<T>& tape) : Sequential<T>(tape) {}
    Residual(Tape<T>& tape, std::initializer_list<std::shared_ptr<Module<T>>> modules) : Sequential<T>(tape, modules) {}
    /// ShapeError naming the block when the body's output is not x's shape.
    Var<T> forward(const Var<T>& x) override;
    std::string describe() const override;
};

extern template class Sequential<float>;
extern template class Sequential<double>;
extern template class Residual<float>;
extern template class Residual<double>;

}  // namespace tapegrad
