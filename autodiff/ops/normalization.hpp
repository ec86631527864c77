/// \file
/// Layer normalisation as one op (torch.nn.functional.layer_norm over the last dimension).
#pragma once

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

/// x: n×w, γ, β: 1×w. Per row r, with the biased variance and rstd_r = 1/√(σ²_r + eps):
/// ~~~{.unparsed}
///   x̂ = (x − μ_r)·rstd_r,   y = x̂ ⊙ γ + β.
/// ~~~
/// μ and rstd are kept (2 numbers a row), x̂ is recomputed in backward. VJP, with g = dy:
/// ~~~{.unparsed}
///   dβ += Σ_r g_r,   dγ += Σ_r g_r ⊙ x̂_r,
///   dx_r += rstd_r · (ĝ_r − mean(ĝ_r) − x̂_r · mean(ĝ_r ⊙ x̂_r)),   ĝ = g ⊙ γ.
/// ~~~
/// ShapeError unless γ and β are 1×w; DomainError unless eps is finite and > 0.
template <class T>
Var<T> layer_norm(const Var<T>& x, const Var<T>& gamma, const Var<T>& beta, double eps = 1e-5);

}  // namespace tapegrad
