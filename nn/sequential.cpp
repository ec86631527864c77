#include "tapegrad/nn/sequential.hpp"

#include "tapegrad/autodiff/ops/elementwise.hpp"

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
