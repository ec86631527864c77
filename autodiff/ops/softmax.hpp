/// \file
/// Softmax over rows and the fused, numerically stable softmax-cross-entropy.
#pragma once

#include <cstdint>
#include <span>

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

template <class T> Var<T> softmax(const Var<T>& x);      ///< n×w → n×w, each row sums to 1
template <class T> Var<T> log_softmax(const Var<T>& x);  ///< n×w → n×w, log of the above

enum class Reduction { mean, sum, none };

struct CrossEntropyOptions {
    /// mean: divided by the number of positions whose target is not ignore_index (0 if there are none);
    /// sum:  summed over positions;  none: one loss per position (n×1).
    Reduction reduction = Reduction::mean;
    /// Positions whose target equals this id contribute neither loss nor gradient (torch's default).
    std::int64_t ignore_index = -100;
    /// Target distribution (1 − ε)·onehot + ε/w, as torch.nn.CrossEntropyLoss(label_smoothing=ε).
    double label_smoothing = 0.0;
};

/// logits: n×w, targets: n ids in [0, w) (or ignore_index) → 1×1 (mean, sum) or n×1 (none).
/// ~~~{.unparsed}
///   loss_i = −Σ_j q_ij · log softmax(logits)_ij,  dL/dlogits_i = (softmax(logits)_i − q_i) · (scale of the reduction)
/// ~~~
template <class T>
Var<T> cross_entropy(const Var<T>& logits, std::span<const std::int64_t> targets, const CrossEntropyOptions& options = {});

}  // namespace tapegrad
