#include "tapegrad/optim/adam.hpp"

#include <algorithm>
#include <cmath>

#include "tapegrad/optim/detail/masked_update.hpp"
#include "tapegrad/optim/detail/state_io.hpp"

namespace tapegrad {

namespace {

// The update of elements [begin, end) of one parameter; p, g, m, v, v_max never overlap.
template <class T>
struct AdamKernel {
    T* p;
    const T* g;
    T* m;
    T* v;
    T* max_v;
    T beta1, one_minus_beta1, beta2, one_minus_beta2, eps, wd, decay, step_size, bias_correction2_sqrt;

    // Returns whether a non-finite gradient was met; its element keeps its old p, m, v (and v_max).
    template <bool decoupled, bool l2, bool amsgrad>
    bool run(std::size_t begin, std::size_t end) const {
        // Local restrict pointers: GCC ignores restrict on struct members.
        T* __restrict p = this->p;
        const T* __restrict g = this->g;
        T* __restrict m = this->m;
        T* __restrict v = this->v;
        T* __restrict max_v = this->max_v;
        // Scalars as locals too, so that no store through the pointers can be thought to change them.
        const T beta1 = this->beta1, one_minus_beta1 = this->one_minus_beta1, beta2 = this->beta2,
                one_minus_beta2 = this->one_minus_beta2, eps = this->eps, wd = this->wd, decay = this->decay,
                step_size = this->step_size, bias_correction2_sqrt = this->bias_correction2_sqrt;
        int nonfinite = 0;  // an int OR-reduction vectorises (a bool one does not)
        for (std::size_t k = begin; k < end; ++k) {
            T gk = g[k];
            const bool finite = detail::is_finite_fast(gk);
            nonfinite |= !finite;
            T pk = p[k];
            // AdamW: decoupled weight decay shrinks the parameter before the update, p ← p·(1 − lr·wd)
            if constexpr (decoupled) pk = pk * decay;
            // Adam: L2 weight decay is added to the gradient, g ← g + wd·p
            if constexpr (l2) gk = gk + wd * pk;
            // First moment, a running mean of gradients: m ← β1·m + (1 − β1)·g
            const T mk = beta1 * m[k] + one_minus_beta1 * gk;
            // Second moment, a running mean of squared gradients: v ← β2·v + (1 − β2)·g²
            const T vk = beta2 * v[k] + one_minus_beta2 * gk * gk;
            // AMSGrad keeps the largest second moment seen and divides by it: v_max ← max(v_max, v)
            T v_hat = vk;
            if constexpr (amsgrad) {
                v_hat = std::max(max_v[k], vk);
                max_v[k] = finite ? v_hat : max_v[k];
            }
            // Bias-corrected √v̂ plus ε: √v / √(1 − β2ᵗ) + ε
            const T denom = std::sqrt(v_hat) / bias_correction2_sqrt + eps;
            // Update with the bias-corrected m̂ = m / (1 − β1ᵗ): p ← p − (lr / (1 − β1ᵗ))·m / denom
            const T p_new = pk + (-step_size) * mk / denom;
            m[k] = finite ? mk : m[k];
            v[k] = finite ? vk : v[k];
            p[k] = finite ? p_new : p[k];
        }
        return nonfinite != 0;
    }
};

}  // namespace

template <class T>
Adam<T>::Adam(std::vector<NamedParameter<T>> params, AdamOptions options)
    : Adam("Adam", false, std::move(params), options) {}

template <class T>
Adam<T>::Adam(std::string name, bool decoupled, std::vector<NamedParameter<T>> params, AdamOptions options)
    : Optimizer<T>(std::move(name), std::move(params), options.lr), decoupled_(decoupled), options_(options) {
    check(options_, this->name_);
    state_.resize(this->parameters().size());
}

template <class T>
void Adam<T>::check(const AdamOptions& o, const std::string& owner) const {
    using detail::check_hyper;
    check_hyper(o.beta1 >= 0.0 && o.beta1 < 1.0, owner, "beta1", o.beta1, "must be in [0, 1)");
    check_hyper(o.beta2 >= 0.0 && o.beta2 < 1.0, owner, "beta2", o.beta2, "must be in [0, 1)");
    check_hyper(std::isfinite(o.eps) && o.eps > 0.0, owner, "eps", o.eps, "must be finite and > 0");
    check_hyper(std::isfinite(o.weight_decay) && o.weight_decay >= 0.0, owner, "weight_decay", o.weight_decay,
                "must be finite and >= 0");
}

template <class T>
AdamOptions Adam<T>::options() const {
    AdamOptions o = options_;
    o.lr = this->lr();
    return o;
}

// One pass over the parameter's memory: p, g, m, v (and v_max) are each read once and written once.
template <class T>
void Adam<T>::update(std::size_t i, Tensor<T>& value, const Tensor<T>& grad, std::int64_t t) {
    const AdamOptions& o = options_;
    Moments& s = state_[i];
    if (t == 1) {
        // m and v (and v_max) start at 0: the only allocation, on the parameter's first step.
        s.m = Tensor<T>(value.shape(), T(0));
        s.v = Tensor<T>(value.shape(), T(0));
        if (o.amsgrad) s.max_v = Tensor<T>(value.shape(), T(0));
    } else {
        if (shape_of(s.m) != shape_of(value)) this->throw_state_shape(i, value, s.m);
        if (o.amsgrad && shape_of(s.max_v) != shape_of(value)) this->throw_state_shape(i, value, s.max_v);
    }

    // Scalars in double, as torch computes them in Python floats, then rounded to T.
    const double lr = this->lr();
    const T step_size = T(lr / (1.0 - std::pow(o.beta1, double(t))));              // lr / (1 − β1ᵗ)
    const T bias_correction2_sqrt = T(std::sqrt(1.0 - std::pow(o.beta2, double(t))));  // √(1 − β2ᵗ)
    const T beta1 = T(o.beta1), one_minus_beta1 = T(1.0 - o.beta1);
    const T beta2 = T(o.beta2), one_minus_beta2 = T(1.0 - o.beta2);
    const T eps = T(o.eps);
    const double weight_decay =
        (o.decay_matrices_only && (value.shape()[0] <= 1 || value.shape()[1] <= 1)) ? 0.0 : o.weight_decay;
    const T wd = T(weight_decay);
    const T decay = T(1.0 - lr * weight_decay);
    const bool decoupled = decoupled_;
    const bool l2 = !decoupled && weight_decay != 0.0;
    const bool amsgrad = o.amsgrad;

    AdamKernel<T> kernel{value.data(), grad.data(), s.m.data(), s.v.data(), amsgrad ? s.max_v.data() : nullptr,
                         beta1, one_minus_beta1, beta2, one_minus_beta2, eps, wd, decay, step_size, bias_correction2_sqrt};
    const std::size_t n = value.size();
    const std::size_t bad = detail::update_where_finite(kernel.g, n, [&](std::size_t begin, std::size_t end) {
        // One instantiation per combination of the flags: each is a branch-free loop the compiler vectorises.
        if (amsgrad)
            return decoupled ? kernel.template run<true, false, true>(begin, end)
                             : (l2 ? kernel.template run<false, true, true>(begin, end)
                                   : kernel.template run<false, false, true>(begin, end));
        return decoupled ? kernel.template run<true, false, false>(begin, end)
                         : (l2 ? kernel.template run<false, true, false>(begin, end)
                               : kernel.template run<false, false, false>(begin, end));
    });
    if (bad < n) this->throw_nonfinite(i, bad, kernel.g[bad]);
}

template <class T>
void Adam<T>::save_state(StateDict<T>& out) const {
    out.metadata["optim.beta1"] = detail::format_number(options_.beta1);
    out.metadata["optim.beta2"] = detail::format_number(options_.beta2);
    out.metadata["optim.eps"] = detail::format_number(options_.eps);
    out.metadata["optim.weight_decay"] = detail::format_number(options_.weight_decay);
    out.metadata["optim.amsgrad"] = detail::format_flag(options_.amsgrad);
    out.metadata["optim.decay_matrices_only"] = detail::format_flag(options_.decay_matrices_only);
    for (std::size_t i = 0; i < state_.size(); ++i) {
        if (this->param_step_count(i) == 0) continue;
        out.tensors.emplace_back(this->key("m", i), state_[i].m);
        out.tensors.emplace_back(this->key("v", i), state_[i].v);
        if (options_.amsgrad) out.tensors.emplace_back(this->key("max_v", i), state_[i].max_v);
    }
}

template <class T>
std::function<void()> Adam<T>::prepare_load(typename Optimizer<T>::Loader& in) {
    AdamOptions o;
    o.beta1 = in.keys.number("optim.beta1");
    o.beta2 = in.keys.number("optim.beta2");
    o.eps = in.keys.number("optim.eps");
    o.weight_decay = in.keys.number("optim.weight_decay");
    o.amsgrad = in.keys.flag("optim.amsgrad");
    o.decay_matrices_only = in.keys.flag("optim.decay_matrices_only", false);
    check(o, in.keys.owner());
    using Range = typename Optimizer<T>::Loader::Range;
    std::vector<Moments> state(state_.size());
    for (std::size_t i = 0; i < state.size(); ++i) {
        if (in.steps[i] == 0) continue;
        // m finite; v (a mean of squares) and v_max finite and >= 0: √v of a negative v is NaN.
        state[i].m = in.tensor(this->key("m", i), i);
        state[i].v = in.tensor(this->key("v", i), i, Range::finite_nonnegative);
        if (!o.amsgrad) continue;
        state[i].max_v = in.tensor(this->key("max_v", i), i, Range::finite_nonnegative);
        // v_max ← max(v_max, v) after every update: it is never below v.
        const T* v = state[i].v.data();
        const T* max_v = state[i].max_v.data();
        const std::size_t n = state[i].v.size();
        std::size_t k = 0;
        while (k < n && !(max_v[k] < v[k])) ++k;
        if (k < n)
            throw DomainError(in.keys.owner() + ": tensor '" + this->key("max_v", i) + "' holds " +
                              detail::format_number(double(max_v[k])) + " at " + this->element(i, k) +
                              ", below '" + this->key("v", i) + "' = " + detail::format_number(double(v[k])) +
                              " there; AMSGrad's max_v is the running maximum of v, never below it");
    }
    return [this, o, state = std::move(state)]() mutable {
        options_ = o;
        state_ = std::move(state);
    };
}

namespace {
AdamOptions as_adam(const AdamWOptions& w) {
    return {.lr = w.lr, .beta1 = w.beta1, .beta2 = w.beta2, .eps = w.eps, .weight_decay = w.weight_decay, .amsgrad = w.amsgrad,
            .decay_matrices_only = w.decay_matrices_only};
}
}  // namespace

template <class T>
AdamW<T>::AdamW(std::vector<NamedParameter<T>> params, AdamWOptions options)
    : Adam<T>("AdamW", true, std::move(params), as_adam(options)) {}

template <class T>
AdamWOptions AdamW<T>::options() const {
    const AdamOptions a = Adam<T>::options();
    return {.lr = a.lr, .beta1 = a.beta1, .beta2 = a.beta2, .eps = a.eps, .weight_decay = a.weight_decay, .amsgrad = a.amsgrad,
            .decay_matrices_only = a.decay_matrices_only};
}

template class Adam<float>;
template class Adam<double>;
template class AdamW<float>;
template class AdamW<double>;

}  // namespace tapegrad
