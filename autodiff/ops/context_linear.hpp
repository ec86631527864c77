/// \file
/// A linear layer on a context of token embeddings, fused: y = [table[id_1] … table[id_k]] · W.
#pragma once

#include <cstdint>
#include <span>

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

/// table: V×d, weight: (k·d)×h, ids: n·k ids in [0, V), row-major (position r's ids are ids[r·k .. r·k+k)).
/// Returns n×h with row r = Σ_j table[ids[r·k + j]] · W_j, W_j = rows [j·d, (j+1)·d) of weight: the same as
/// matmul(reshape(embedding(table, ids), {n, k·d}), weight), computed with less work when n ≥ 4·V:
/// ~~~{.unparsed}
///   tables: P_j = table · W_j (V×h, k GEMMs of V·d·h) once, then row r = Σ_j P_j[ids[r·k + j]]
/// ~~~
/// instead of n·(k·d)·h multiply-adds. VJP, with dy n×h and S_j = the rows of dy scattered to their ids
/// (S_j[v] = Σ_{r : ids[r·k+j] = v} dy_r, V×h):
/// ~~~{.unparsed}
///   dW_j    += tableᵀ · S_j          (= Σ_r table[ids[r·k+j]]ᵀ dy_r)
///   dtable  += Σ_j S_j · W_jᵀ        (= the scatter of dy·Wᵀ's k blocks)
/// ~~~
/// For n < 4·V, or when the tables would exceed 2^24 values, the plain gather-then-GEMM path runs. The ids
/// are not differentiable; an id outside [0, V) throws IndexError naming it and its position.
/// With a bias (1×h, optional: a default Var is none) it is added to every row, in the same op: db += Σ_rows dy.
template <class T>
Var<T> context_linear(const Var<T>& table, const Var<T>& weight, std::span<const std::int64_t> ids, std::size_t k,
                      const Var<T>& bias = Var<T>());

}  // namespace tapegrad
