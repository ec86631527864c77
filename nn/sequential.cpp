#include "nn/sequential.hpp"

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
Var<T> Sequential<T>::forward(const TokenInput& tokens) {
    if (size() == 0) throw UsageError("Sequential: empty, nothing to read token ids");
    Var<T> h = (*this)[0].forward(tokens);
    for (std::size_t i = 1; i < size(); ++i) h = (*this)[i].forward(h);
    return h;
}

template <class T>
std::size_t Sequential<T>::context_size() const {
    return size() ? (*this)[0].context_size() : 1;
}

template <class T>
std::string Sequential<T>::describe() const {
    return "Sequential(" + std::to_string(size()) + " modules)";
}

template class Sequential<float>;
template class Sequential<double>;

}  // namespace tapegrad
