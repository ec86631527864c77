#include "tapegrad/optim/optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "tapegrad/autodiff/finite.hpp"
#include "tapegrad/optim/detail/state_io.hpp"

namespace tapegrad {

template <class T>
Optimizer<T>::Optimizer(std::string name, std::vector<NamedParameter<T>> params, double lr)
    : name_(std::move(name)), params_(std::move(params)), lr_(lr), param_steps_(params_.size(), 0) {
    if (params_.empty()) throw UsageError(name_ + ": got an empty parameter list");
    std::set<std::string> names;
    std::set<std::pair<const Tape<T>*, NodeId>> vars;
    for (const auto& p : params_) {
        if (p.name.empty()) throw UsageError(name_ + ": a parameter has an empty name (names key the state)");
        if (!names.insert(p.name).second) throw UsageError(name_ + ": parameter name '" + p.name + "' appears twice");
        if (!p.var.valid()) throw UsageError(name_ + ": parameter '" + p.name + "' is an empty handle");
        if (!p.var.is_parameter())
            throw UsageError(name_ + ": '" + p.name + "' is not a parameter (create it with Tape::parameter)");
        if (!vars.insert({&p.var.tape(), p.var.id()}).second)
            throw UsageError(name_ + ": parameter '" + p.name + "' is the same tape parameter as an earlier one");
    }
    check_lr(lr, name_);
}

template <class T>
Optimizer<T>::~Optimizer() = default;

template <class T>
void Optimizer<T>::check_lr(double lr, const std::string& owner) {
    detail::check_hyper(std::isfinite(lr) && lr >= 0.0, owner, "lr", lr, "must be finite and >= 0");
}

template <class T>
void Optimizer<T>::set_lr(double lr) {
    check_lr(lr, name_);
    lr_ = lr;
}

template <class T>
void Optimizer<T>::zero_grad() {
    for (const auto& p : params_) p.var.tape().zero_grad(p.var);
}

template <class T>
void Optimizer<T>::step() {
    for (std::size_t i = 0; i < params_.size(); ++i) {
        const Var<T>& var = params_[i].var;
        if (!var.has_grad()) continue;  // as torch for .grad None: no state update, no weight decay
        Tensor<T>& value = var.mutable_value();
        const Tensor<T>& grad = var.grad();
        if (shape_of(grad) != shape_of(value))
            throw ShapeError(name_ + ".step: gradient of parameter '" + params_[i].name + "' is " +
                             shape_str(shape_of(grad)) + " but its value is " + shape_str(shape_of(value)));
        update(i, value, grad, param_steps_[i] + 1);
        ++param_steps_[i];
    }
    ++step_count_;
}

template <class T>
std::string Optimizer<T>::key(const char* buffer, std::size_t i) const {
    return std::string("optim.") + buffer + "." + params_[i].name;
}

template <class T>
std::string Optimizer<T>::element(std::size_t i, std::size_t k) const {
    const std::size_t cols = params_[i].var.value().shape()[1];
    return "element " + std::to_string(k) + " (row " + std::to_string(k / cols) + ", col " + std::to_string(k % cols) + ")";
}

template <class T>
void Optimizer<T>::throw_nonfinite(std::size_t i, std::size_t k, double g) const {
    throw DomainError(name_ + ".step: gradient of parameter '" + params_[i].name + "' is " +
                      detail::format_for_message(g) + " at " + element(i, k) +
                      "; nothing non-finite was written: elements with a non-finite gradient kept their values, the " +
                      "other elements of this parameter and the parameters before it were updated, later ones were not");
}

template <class T>
void Optimizer<T>::throw_state_shape(std::size_t i, const Tensor<T>& value, const Tensor<T>& state) const {
    throw ShapeError(name_ + ".step: parameter '" + params_[i].name + "' is " + shape_str(shape_of(value)) +
                     " but its optimizer state is " + shape_str(shape_of(state)) +
                     " (was the value resized after its first step?)");
}

// ── State ────────────────────────────────────────────────────────────────────────────────────────────

template <class T>
StateDict<T> Optimizer<T>::state_dict() const {
    StateDict<T> out;
    out.metadata["optim.kind"] = name_;
    out.metadata["optim.lr"] = detail::format_number(lr_);
    out.metadata["optim.step_count"] = detail::format_count(step_count_);
    for (std::size_t i = 0; i < params_.size(); ++i)
        out.metadata["optim.step." + params_[i].name] = detail::format_count(param_steps_[i]);
    save_state(out);
    return out;
}

template <class T>
Optimizer<T>::Loader::Loader(detail::StateKeys& k, const StateDict<T>& state, const Optimizer& opt,
                             const std::vector<std::int64_t>& s)
    : keys(k), steps(s), opt_(opt) {
    for (const auto& [name, tensor] : state.tensors) {
        keys.add_tensor_key(name);
        if (name.rfind("optim.", 0) == 0) tensors_[name] = &tensor;
    }
}

template <class T>
Tensor<T> Optimizer<T>::Loader::tensor(const std::string& key, std::size_t i, Range range) {
    auto it = tensors_.find(key);
    if (it == tensors_.end())
        throw UsageError(keys.owner() + ": missing tensor '" + key + "' (parameter '" + opt_.params_[i].name +
                         "' took " + std::to_string(steps[i]) + " steps)");
    const Shape want = opt_.params_[i].var.shape();
    if (shape_of(*it->second) != want)
        throw ShapeError(keys.owner() + ": tensor '" + key + "' is " + shape_str(shape_of(*it->second)) +
                         " but parameter '" + opt_.params_[i].name + "' is " + shape_str(want));
    // A NaN, an Inf or (in a second moment) a negative element would turn the next step's update into NaN.
    const Tensor<T>& t = *it->second;
    const bool nonnegative = range == Range::finite_nonnegative;
    const T* p = t.data();
    std::size_t k = first_nonfinite(p, t.size());
    if (nonnegative) k = std::size_t(std::find_if(p, p + k, [](T x) { return x < T(0); }) - p);  // first before k
    if (k < t.size())
        throw DomainError(keys.owner() + ": tensor '" + key + "' holds " + detail::format_for_message(double(p[k])) +
                          " at " + opt_.element(i, k) + "; its elements must be finite" + (nonnegative ? " and >= 0" : ""));
    keys.use_tensor(key);
    return t;
}

template <class T>
void Optimizer<T>::load_state_dict(const StateDict<T>& state) {
    detail::StateKeys keys(name_ + ".load_state_dict", "optim.", state.metadata);
    // 1. Validate everything; nothing below changes *this until step 2.
    const std::string& kind = keys.text("optim.kind");
    if (kind != name_) throw UsageError(keys.owner() + ": the state is of a " + kind + " optimizer, not " + name_);
    const double lr = keys.number("optim.lr");
    check_lr(lr, keys.owner());
    const std::int64_t step_count = keys.step_count("optim.step_count");
    std::vector<std::int64_t> steps(params_.size());
    for (std::size_t i = 0; i < params_.size(); ++i) {
        const std::string k = "optim.step." + params_[i].name;
        steps[i] = keys.step_count(k);
        if (steps[i] > step_count)
            throw DomainError(keys.owner() + ": '" + k + "' = " + std::to_string(steps[i]) +
                              " exceeds optim.step_count = " + std::to_string(step_count));
    }
    Loader loader(keys, state, *this, steps);
    std::function<void()> assign = prepare_load(loader);
    keys.require_all_used();
    // 2. Assign.
    lr_ = lr;
    step_count_ = step_count;
    param_steps_ = std::move(steps);
    assign();
}

template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace tapegrad
