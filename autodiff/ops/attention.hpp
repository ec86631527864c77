/// \file
/// Causal multi-head self-attention, fused: scaled scores, causal mask, stable softmax and the weighted sum
/// in one op, forward and VJP side by side (in the style of llm.c's attention_forward/backward).
#pragma once

#include <cstddef>

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

/// qkv: (B·T)×(3d), rows B sequences of T consecutive positions (row b·T + t), columns [q | k | v], each d =
/// H·hd wide; head h reads columns [h·hd, (h+1)·hd) of q, k and v. Returns (B·T)×d, head h in the same
/// columns:
/// ~~~{.unparsed}
///   a_ts = softmax over s ≤ t of  q_t·k_s / √hd      (per sequence and head; entries s > t are not computed)
///   y_t  = Σ_{s ≤ t} a_ts · v_s
/// ~~~
/// The probabilities a (B·H·T·T/2 of them, B·H·T·T stored) are kept for backward. VJP, with g = dy_t:
/// ~~~{.unparsed}
///   da_ts = g·v_s,   dv_s += Σ_t a_ts · g_t,
///   dz_ts = a_ts · (da_ts − Σ_{s'} a_ts' · da_ts'),
///   dq_t += Σ_s dz_ts · k_s / √hd,   dk_s += Σ_t dz_ts · q_t / √hd.
/// ~~~
/// ShapeError unless qkv has B·T rows and 3·d columns with d a multiple of H.
template <class T>
Var<T> causal_self_attention(const Var<T>& qkv, std::size_t batch, std::size_t time, std::size_t heads);

}  // namespace tapegrad
