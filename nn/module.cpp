#include "tapegrad/nn/module.hpp"

#include <algorithm>

namespace tapegrad {

template <class T>
Var<T> Module<T>::forward(const Var<T>&) {
    throw UsageError(describe() + ": has no forward of a tensor (a module that reads token ids is called with "
                                  "forward_tokens; a language model as model(tokens))");
}

template <class T>
Var<T> Module<T>::forward_added_to(const Var<T>&, const Var<T>&) {
    return Var<T>();
}

template <class T>
std::size_t Module<T>::window_in_tree() const {
    if (const std::size_t w = window()) return w;
    for (const auto& [name, child] : children_)
        if (const std::size_t w = child->window_in_tree()) return w;
    return 0;
}

template <class T>
Var<T> Module<T>::register_parameter(std::string name, Tensor<T> value) {
    if (name.empty() || name.find('.') != std::string::npos)
        throw UsageError(describe() + ": parameter name '" + name + "' must be non-empty and contain no '.'");
    for (const auto& [n, v] : params_)
        if (n == name) throw UsageError(describe() + ": parameter '" + name + "' registered twice");
    Var<T> p = tape_->parameter(std::move(value));
    params_.emplace_back(std::move(name), p);
    return p;
}

template <class T>
void Module<T>::add_child(std::string name, std::shared_ptr<Module<T>> module) {
    if (!module) throw UsageError(describe() + ": submodule '" + name + "' is null");
    if (&module->tape() != tape_)
        throw UsageError(describe() + ": submodule '" + name + "' lives on another tape");
    for (const auto& [n, m] : children_)
        if (n == name) throw UsageError(describe() + ": submodule '" + name + "' registered twice");
    children_.emplace_back(std::move(name), std::move(module));
}

template <class T>
void Module<T>::collect(const std::string& prefix, std::vector<NamedParameter<T>>& out) const {
    for (const auto& [name, var] : params_) out.push_back({prefix + name, var});
    for (const auto& [name, child] : children_) child->collect(prefix + name + ".", out);
}

template <class T>
std::vector<NamedParameter<T>> Module<T>::named_parameters() const {
    std::vector<NamedParameter<T>> out;
    collect("", out);
    return out;
}

template <class T>
std::vector<Var<T>> Module<T>::parameters() const {
    std::vector<Var<T>> out;
    for (auto& p : named_parameters()) out.push_back(p.var);
    return out;
}

template <class T>
std::size_t Module<T>::parameter_count() const {
    std::size_t n = 0;
    for (auto& p : named_parameters()) n += p.var.size();
    return n;
}

template <class T>
void Module<T>::zero_grad() {
    for (auto& p : named_parameters()) tape_->zero_grad(p.var);
}

template <class T>
void Module<T>::train(bool on) {
    training_ = on;
    for (auto& [name, child] : children_) child->train(on);
}

template <class T>
void Module<T>::summarize(const std::string& name, int depth, std::string& out) const {
    out += std::string(std::size_t(depth) * 2, ' ') + (name.empty() ? "" : name + ": ") + describe() + "\n";
    for (const auto& [pname, var] : params_)
        out += std::string(std::size_t(depth) * 2 + 2, ' ') + pname + " " + shape_str(var.shape()) + "\n";
    for (const auto& [cname, child] : children_) child->summarize(cname, depth + 1, out);
}

template <class T>
std::string Module<T>::summary() const {
    std::string out;
    summarize("", 0, out);
    out += std::to_string(parameter_count()) + " parameters\n";
    return out;
}

template class Module<float>;
template class Module<double>;

}  // namespace tapegrad
