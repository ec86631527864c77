/// \file
/// Embedding lookup: gather rows of a table by token id.
#pragma once

#include <cstdint>
#include <span>

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

/// table: w×d, ids: n ids in [0, w) → n×d with row k = table[ids[k]].
/// VJP: dtable[ids[k]] += dy[k] in order k = 0..n−1 (scatter-add: a repeated id receives the sum of its
/// positions' gradients; the order is fixed, so the result is deterministic).
/// The ids are not differentiable.
template <class T>
Var<T> embedding(const Var<T>& table, std::span<const std::int64_t> ids);

}  // namespace tapegrad
