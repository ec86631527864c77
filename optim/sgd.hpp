/// \file
/// Stochastic gradient descent: the design note's update (seed-math §3, p = p − lr·g) with torch.optim.SGD's
/// momentum, dampening, Nesterov and weight decay, exactly as torch defines them.
#pragma once

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad {

struct SGDOptions {
    double lr = 1e-3;            ///< torch >= 2.0's default (torch 1.13 requires it)
    double momentum = 0.0;       ///< >= 0
    double dampening = 0.0;      ///< >= 0 (torch allows any; > 1 would flip the gradient's sign)
    double weight_decay = 0.0;   ///< >= 0, L2: added to the gradient
    bool nesterov = false;       ///< requires momentum > 0 and dampening = 0
};

/// SGD with optional momentum, dampening, Nesterov and weight decay (torch.optim.SGD).
/// State: optim.momentum_buffer.\<param> (when momentum != 0, for parameters that took a step; every element
/// finite, or load_state_dict throws DomainError naming the tensor and the element).
/// Metadata: optim.momentum, optim.dampening, optim.weight_decay, optim.nesterov.
template <class T>
class SGD : public Optimizer<T> {
public:
    /// DomainError naming the hyper-parameter and its value for a NaN, infinite or negative lr, momentum,
    /// dampening or weight_decay, and for Nesterov without momentum or with dampening.
    explicit SGD(std::vector<NamedParameter<T>> params, SGDOptions options = {});
    /// Over unnamed parameters (Module::parameters()), named "0", "1", … in the state dict.
    explicit SGD(const std::vector<Var<T>>& params, SGDOptions options = {}) : SGD(named_by_position(params), options) {}

    /// The hyper-parameters in force (lr included).
    SGDOptions options() const;

protected:
    void update(std::size_t i, Tensor<T>& value, const Tensor<T>& grad, std::int64_t t) override;
    void save_state(StateDict<T>& out) const override;
    std::function<void()> prepare_load(typename Optimizer<T>::Loader& in) override;

private:
    void check(const SGDOptions& o, const std::string& owner) const;

    SGDOptions options_;
    std::vector<Tensor<T>> momentum_buffer_;  ///< per parameter; empty until its first step
};

extern template class SGD<float>;
extern template class SGD<double>;

}  // namespace tapegrad
