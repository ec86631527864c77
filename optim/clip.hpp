/// \file
/// Gradient clipping by the global L2 norm, as torch.nn.utils.clip_grad_norm_ (norm_type 2).
#pragma once

#include <vector>

#include "tapegrad/autodiff/named.hpp"

namespace tapegrad {

/// Computes the L2 norm of all the gradients together, ‖g‖ = √(Σ over parameters and elements of g²), in
/// double; parameters without a gradient (has_grad() false) are skipped, as torch skips .grad None. Then
/// scales every gradient by max_norm / (‖g‖ + 1e-6) when that factor is below 1, torch's formula
/// (torch/nn/utils/clip_grad.py, 1.13: `clip_coef = max_norm / (total_norm + 1e-6)`, clamped to at most 1).
/// So gradients change only when ‖g‖ + 1e-6 > max_norm, i.e. when ‖g‖ exceeds max_norm (or comes within 1e-6
/// of it), and the clipped norm is just below max_norm. Returns ‖g‖ before clipping (0 when no gradient).
/// DomainError: max_norm NaN or <= 0 (+inf is allowed and never clips); a NaN or Inf gradient element
/// (naming the parameter and the element; nothing is scaled then); a sum of squares that overflows double.
template <class T>
double clip_grad_norm(const std::vector<NamedParameter<T>>& params, double max_norm);

extern template double clip_grad_norm<float>(const std::vector<NamedParameter<float>>&, double);
extern template double clip_grad_norm<double>(const std::vector<NamedParameter<double>>&, double);

}  // namespace tapegrad
