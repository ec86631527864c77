#include "tapegrad/optim/sgd.hpp"

#include <cmath>

#include "tapegrad/optim/detail/masked_update.hpp"
#include "tapegrad/optim/detail/state_io.hpp"

namespace tapegrad {

namespace {

// The update of elements [begin, end) of one parameter; p, g and the buffer never overlap.
// One instantiation per combination of decay and momentum, each a loop the compiler vectorises.
template <class T>
struct SgdKernel {
    T* p;
    const T* g;
    T* buf;
    T lr, wd, mu, one_minus_dampening;
    bool first, nesterov;  // loop-invariant: the compiler unswitches them

    // Returns whether a non-finite gradient was met; its element keeps its old p (and buffer).
    template <bool decay, bool momentum>
    bool run(std::size_t begin, std::size_t end) const {
        // Local restrict pointers: GCC ignores restrict on struct members.
        T* __restrict p = this->p;
        const T* __restrict g = this->g;
        T* __restrict buf = this->buf;
        // Scalars as locals too, so that no store through the pointers can be thought to change them.
        const T lr = this->lr, wd = this->wd, mu = this->mu, one_minus_dampening = this->one_minus_dampening;
        const bool first = this->first, nesterov = this->nesterov;
        int nonfinite = 0;  // an int OR-reduction vectorises (a bool one does not)
        for (std::size_t k = begin; k < end; ++k) {
            T d = g[k];
            const bool finite = detail::is_finite_fast(d);
            nonfinite |= !finite;
            // L2 weight decay, added to the gradient: g ← g + wd·p
            if constexpr (decay) d = d + wd * p[k];
            if constexpr (momentum) {
                // Momentum buffer: b ← g on the parameter's first step, then b ← μ·b + (1 − dampening)·g
                const T b = first ? d : mu * buf[k] + one_minus_dampening * d;
                buf[k] = finite ? b : buf[k];
                // Nesterov looks ahead along the buffer, g ← g + μ·b; plain momentum follows it, g ← b
                d = nesterov ? d + mu * b : b;
            }
            // Descent (seed-math §3): p ← p − lr·g
            const T p_new = p[k] - lr * d;
            p[k] = finite ? p_new : p[k];
        }
        return nonfinite != 0;
    }
};

}  // namespace

template <class T>
SGD<T>::SGD(std::vector<NamedParameter<T>> params, SGDOptions options)
    : Optimizer<T>("SGD", std::move(params), options.lr), options_(options) {
    check(options_, this->name_);
    momentum_buffer_.resize(this->parameters().size());
}

template <class T>
void SGD<T>::check(const SGDOptions& o, const std::string& owner) const {
    using detail::check_hyper;
    check_hyper(std::isfinite(o.momentum) && o.momentum >= 0.0, owner, "momentum", o.momentum, "must be finite and >= 0");
    check_hyper(std::isfinite(o.dampening) && o.dampening >= 0.0, owner, "dampening", o.dampening,
                "must be finite and >= 0");
    check_hyper(std::isfinite(o.weight_decay) && o.weight_decay >= 0.0, owner, "weight_decay", o.weight_decay,
                "must be finite and >= 0");
    if (o.nesterov) {
        check_hyper(o.momentum > 0.0, owner, "momentum", o.momentum, "must be > 0 with nesterov");
        check_hyper(o.dampening == 0.0, owner, "dampening", o.dampening, "must be 0 with nesterov");
    }
}

template <class T>
SGDOptions SGD<T>::options() const {
    SGDOptions o = options_;
    o.lr = this->lr();
    return o;
}

// torch.optim.SGD (torch/optim/sgd.py, _single_tensor_sgd, 1.13), one element at a time, in T.
template <class T>
void SGD<T>::update(std::size_t i, Tensor<T>& value, const Tensor<T>& grad, std::int64_t t) {
    const bool decay = options_.weight_decay != 0.0;
    const bool momentum = options_.momentum != 0.0;
    const bool nesterov = options_.nesterov;
    const T lr = T(this->lr());
    const T wd = T(options_.weight_decay);
    const T mu = T(options_.momentum);
    const T one_minus_dampening = T(1.0 - options_.dampening);
    const bool first = t == 1;

    T* buf = nullptr;
    if (momentum) {
        Tensor<T>& b = momentum_buffer_[i];
        if (first)
            b.resize(value.shape());  // the only allocation: a parameter's first step
        else if (shape_of(b) != shape_of(value))
            this->throw_state_shape(i, value, b);
        buf = b.data();
    }
    SgdKernel<T> kernel{value.data(), grad.data(), buf, lr, wd, mu, one_minus_dampening, first, nesterov};
    const std::size_t n = value.size();
    const std::size_t bad = detail::update_where_finite(kernel.g, n, [&](std::size_t begin, std::size_t end) {
        if (momentum) return decay ? kernel.template run<true, true>(begin, end) : kernel.template run<false, true>(begin, end);
        return decay ? kernel.template run<true, false>(begin, end) : kernel.template run<false, false>(begin, end);
    });
    if (bad < n) this->throw_nonfinite(i, bad, kernel.g[bad]);
}

template <class T>
void SGD<T>::save_state(StateDict<T>& out) const {
    out.metadata["optim.momentum"] = detail::format_number(options_.momentum);
    out.metadata["optim.dampening"] = detail::format_number(options_.dampening);
    out.metadata["optim.weight_decay"] = detail::format_number(options_.weight_decay);
    out.metadata["optim.nesterov"] = detail::format_flag(options_.nesterov);
    if (options_.momentum == 0.0) return;
    for (std::size_t i = 0; i < momentum_buffer_.size(); ++i)
        if (this->param_step_count(i) > 0) out.tensors.emplace_back(this->key("momentum_buffer", i), momentum_buffer_[i]);
}

template <class T>
std::function<void()> SGD<T>::prepare_load(typename Optimizer<T>::Loader& in) {
    SGDOptions o;
    o.momentum = in.keys.number("optim.momentum");
    o.dampening = in.keys.number("optim.dampening");
    o.weight_decay = in.keys.number("optim.weight_decay");
    o.nesterov = in.keys.flag("optim.nesterov");
    check(o, in.keys.owner());
    std::vector<Tensor<T>> buffers(momentum_buffer_.size());
    if (o.momentum != 0.0)
        for (std::size_t i = 0; i < buffers.size(); ++i)
            if (in.steps[i] > 0) buffers[i] = in.tensor(this->key("momentum_buffer", i), i);
    return [this, o, buffers = std::move(buffers)]() mutable {
        options_ = o;
        momentum_buffer_ = std::move(buffers);
    };
}

template class SGD<float>;
template class SGD<double>;

}  // namespace tapegrad
