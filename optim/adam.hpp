/// \file
/// Adam (seed-math §4, = torch.optim.Adam), its AMSGrad variant, and AdamW (decoupled weight decay,
/// = torch.optim.AdamW), exactly as torch 1.13 defines them (torch/optim/adam.py and adamw.py,
/// _single_tensor_adam / _single_tensor_adamw):
///
/// ~~~{.unparsed}
///   t ← t + 1                                  this parameter's own step count (torch's state['step'])
///   p ← p·(1 − lr·wd)                          AdamW only: decoupled weight decay, before the update
///   g ← g + wd·p                               Adam only: L2 weight decay, added to the gradient
///   m ← β1·m + (1 − β1)·g                      first moment
///   v ← β2·v + (1 − β2)·g²                     second moment
///   v_max ← max(v_max, v)                      AMSGrad only
///   p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)          √v_max instead of √v with AMSGrad
/// ~~~
///
/// The last line is the note's p ← p − lr·m̂/(√v̂ + ε) with m̂ = m/(1 − β1ᵗ) and v̂ = v/(1 − β2ᵗ), factored as
/// torch computes it. With AMSGrad the denominator is √v_max/√(1 − β2ᵗ) + ε, bias-corrected with the same
/// 1 − β2ᵗ, as in torch 1.13 (torch/optim/adam.py, _single_tensor_adam:
/// `denom = (max_exp_avg_sqs[i].sqrt() / bias_correction2_sqrt).add_(eps)`, bias_correction2_sqrt = √(1 − β2ᵗ));
/// v_max starts at 0 and is a separate buffer: v itself keeps its running mean.
///
/// t is per parameter, as in torch: it equals the optimizer's step_count() unless the parameter skipped
/// steps (had no gradient), in which case its bias corrections use the number of updates it actually
/// received. This keeps trajectories identical to torch's when parameters are skipped.
#pragma once

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad {

struct AdamOptions {
    double lr = 1e-3;           ///< finite, >= 0
    double beta1 = 0.9;         ///< in [0, 1)
    double beta2 = 0.999;       ///< in [0, 1)
    double eps = 1e-8;          ///< finite, > 0
    double weight_decay = 0.0;  ///< finite, >= 0; L2 (added to the gradient) in Adam, decoupled in AdamW
    bool amsgrad = false;
    /// Weight decay only on matrices: parameters with more than one row and more than one column (weights,
    /// embeddings), none on biases and LayerNorm gains (1×n). nanoGPT's two parameter groups (dim >= 2).
    bool decay_matrices_only = false;
};

/// AdamW's defaults differ from Adam's only in weight_decay (0.01, as torch.optim.AdamW).
struct AdamWOptions {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 1e-2;  ///< finite, >= 0; decoupled: p ← p·(1 − lr·wd)
    bool amsgrad = false;
    bool decay_matrices_only = false;  ///< as AdamOptions
};

/// Adam (with AMSGrad and L2 weight decay as options), the update at the top of this file.
/// State: optim.m.\<param>, optim.v.\<param>, and optim.max_v.\<param> with AMSGrad, for parameters that took
/// a step. Metadata: optim.beta1, optim.beta2, optim.eps, optim.weight_decay, optim.amsgrad,
/// optim.decay_matrices_only (false when absent: state written before it existed).
/// load_state_dict requires every element of m finite, of v and max_v finite and >= 0, and max_v >= v
/// (DomainError naming the tensor and the element otherwise).
template <class T>
class Adam : public Optimizer<T> {
public:
    /// DomainError naming the hyper-parameter and its value: lr NaN/infinite/negative, beta1 or beta2 outside
    /// [0, 1), eps NaN/infinite/<= 0, weight_decay NaN/infinite/negative.
    explicit Adam(std::vector<NamedParameter<T>> params, AdamOptions options = {});
    /// Over unnamed parameters (Module::parameters()), named "0", "1", … in the state dict.
    explicit Adam(const std::vector<Var<T>>& params, AdamOptions options = {}) : Adam(named_by_position(params), options) {}

    /// The hyper-parameters in force (lr included).
    AdamOptions options() const;

protected:
    Adam(std::string name, bool decoupled, std::vector<NamedParameter<T>> params, AdamOptions options);

    void update(std::size_t i, Tensor<T>& value, const Tensor<T>& grad, std::int64_t t) override;
    void save_state(StateDict<T>& out) const override;
    std::function<void()> prepare_load(typename Optimizer<T>::Loader& in) override;

private:
    void check(const AdamOptions& o, const std::string& owner) const;

    const bool decoupled_;  ///< AdamW
    AdamOptions options_;
    struct Moments {
        Tensor<T> m, v, max_v;  ///< empty until the parameter's first step; max_v only with AMSGrad
    };
    std::vector<Moments> state_;
};

template <class T>
class AdamW : public Adam<T> {
public:
    /// DomainError as Adam's constructor.
    explicit AdamW(std::vector<NamedParameter<T>> params, AdamWOptions options = {});
    /// Over unnamed parameters (Module::parameters()), named "0", "1", … in the state dict.
    explicit AdamW(const std::vector<Var<T>>& params, AdamWOptions options = {}) : AdamW(named_by_position(params), options) {}

    /// The hyper-parameters in force (lr included).
    AdamWOptions options() const;
};

extern template class Adam<float>;
extern template class Adam<double>;
extern template class AdamW<float>;
extern template class AdamW<double>;

}  // namespace tapegrad
