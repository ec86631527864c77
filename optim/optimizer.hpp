/// \file
/// The optimizer interface: named parameters in, one update per step(), state saved and restored by name.
///
/// ~~~{.cpp}
///   Adam<float> opt(model.named_parameters(), {.lr = 1e-3});
///   for (...) { opt.zero_grad(); loss.backward(); opt.step(); tape.clear(); }
/// ~~~
///
/// Semantics shared by every optimizer (those of torch.optim):
///   - step() updates every parameter that has a gradient (Var::has_grad()). A parameter without one this
///     step is left alone entirely: no state update, no weight decay, its own step count does not advance
///     (torch skips parameters whose .grad is None).
///   - Each parameter keeps its own step count t (torch's state['step']); step_count() counts step() calls.
///     They differ only for parameters that skipped steps.
///   - Update loops run in T (float for float parameters, as torch computes float32 parameters in float32);
///     scalars derived from the hyper-parameters (bias corrections, lr·wd) are computed in double, then
///     rounded to T, as torch computes them in Python floats.
///   - A NaN or Inf gradient element throws DomainError naming the parameter and the (first) element, and no
///     NaN/Inf is ever written: elements whose gradient is not finite keep their value and state. The step
///     is not atomic: parameters earlier in the list, and the other elements of the offending parameter, were
///     updated; later parameters were not. Restore a state_dict (and the parameter values) to recover exactly.
///   - Hyper-parameters are checked at construction, by set_lr and by load_state_dict: DomainError naming the
///     optimizer, the hyper-parameter and its value.
///
/// State dict (keys under "optim."; other keys of the same StateDict are ignored, so a model's and an
/// optimizer's state may share one):
/// ~~~{.unparsed}
///   metadata  optim.kind = "SGD" | "Adam" | "AdamW", optim.lr, optim.step_count,
///             optim.step.<param name> (that parameter's step count, for every parameter),
///             and each optimizer's hyper-parameters (numbers written "%.17g": doubles round-trip exactly);
///   tensors   each optimizer's buffers, "optim.<buffer>.<param name>", for parameters that took a step.
/// ~~~
/// load_state_dict validates everything first (kind, every key present and known, values, shapes, every
/// buffer element) and only then assigns, so a failed load leaves the optimizer unchanged. It restores the
/// hyper-parameters too. Errors: UsageError (missing, unexpected or duplicate key, other optimizer kind),
/// ShapeError (a buffer whose shape differs from its parameter's), DomainError (a value that is not a valid
/// number, hyper-parameter or step count — counts are integers in [0, 2^53], a parameter's at most
/// optim.step_count — or a buffer element that is NaN or ±Inf, a negative second moment, an AMSGrad max_v below
/// v), e.g. "Adam.load_state_dict: tensor 'optim.v.layer.w' holds -1 at element 5 (row 1, col 1); its elements
/// must be finite and >= 0".
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tapegrad/autodiff/named.hpp"

namespace tapegrad {

namespace detail {
class StateKeys;
}

template <class T>
class Optimizer {
public:
    virtual ~Optimizer();
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;

    /// Forgets every parameter's gradient (Tape::zero_grad(var)); the next backward starts from zero.
    void zero_grad();
    /// One update of every parameter that has a gradient.
    void step();

    double lr() const { return lr_; }
    /// DomainError for a NaN, infinite or negative learning rate.
    void set_lr(double lr);
    /// step() calls so far.
    std::int64_t step_count() const { return step_count_; }
    /// Updates parameter i has received: its own t.
    std::int64_t param_step_count(std::size_t i) const { return param_steps_.at(i); }
    const std::vector<NamedParameter<T>>& parameters() const { return params_; }
    /// "SGD", "Adam", "AdamW": used in error messages and as optim.kind.
    const std::string& name() const { return name_; }

    StateDict<T> state_dict() const;
    void load_state_dict(const StateDict<T>& state);

protected:
    /// UsageError for an empty list, an empty or repeated name, a handle that is not a parameter, or the same
    /// parameter twice; DomainError for a bad lr.
    Optimizer(std::string name, std::vector<NamedParameter<T>> params, double lr);

    /// Updates parameter i, whose gradient is live and of the value's shape; t is this parameter's step
    /// count including this step (1 on its first). Calls throw_nonfinite before using a NaN/Inf element.
    virtual void update(std::size_t i, Tensor<T>& value, const Tensor<T>& grad, std::int64_t t) = 0;
    /// Adds the optimizer's hyper-parameters (metadata) and buffers (tensors) to out.
    virtual void save_state(StateDict<T>& out) const = 0;

    /// What a derived optimizer's loader sees: the keys being read and the tensors under "optim.".
    class Loader {
    public:
        Loader(detail::StateKeys& keys, const StateDict<T>& state, const Optimizer& opt,
               const std::vector<std::int64_t>& steps);
        detail::StateKeys& keys;
        const std::vector<std::int64_t>& steps;  ///< the loaded per-parameter step counts
        /// What a buffer's elements may be: every buffer is finite; second moments are also >= 0.
        enum class Range { finite, finite_nonnegative };
        /// The tensor `key` (UsageError if missing), of parameter i's shape (ShapeError otherwise), every
        /// element in `range` (DomainError naming the key, the element and its value otherwise), as a copy.
        Tensor<T> tensor(const std::string& key, std::size_t i, Range range = Range::finite);

    private:
        std::map<std::string, const Tensor<T>*> tensors_;
        const Optimizer& opt_;
    };
    /// Reads and validates the derived optimizer's hyper-parameters and buffers without changing anything;
    /// returns the function that assigns them (called only once everything was validated).
    virtual std::function<void()> prepare_load(Loader& in) = 0;

    /// "optim.<buffer>.<name of parameter i>"
    std::string key(const char* buffer, std::size_t i) const;
    /// "element 5 (row 1, col 1)": where flat index k of parameter i is.
    std::string element(std::size_t i, std::size_t k) const;
    /// DomainError: parameter i's gradient element k is NaN or Inf.
    [[noreturn]] void throw_nonfinite(std::size_t i, std::size_t k, double g) const;
    /// ShapeError: parameter i's value no longer has the shape of its state buffers.
    [[noreturn]] void throw_state_shape(std::size_t i, const Tensor<T>& value, const Tensor<T>& state) const;
    /// DomainError "<owner>: lr = ..." unless lr is finite and >= 0.
    static void check_lr(double lr, const std::string& owner);

    const std::string name_;

private:
    std::vector<NamedParameter<T>> params_;
    double lr_;
    std::int64_t step_count_ = 0;
    std::vector<std::int64_t> param_steps_;
};

extern template class Optimizer<float>;
extern template class Optimizer<double>;

}  // namespace tapegrad
