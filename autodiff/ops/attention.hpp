/// \file
/// Causal multi-head self-attention, fused: scaled scores, causal mask, stable softmax and the weighted sum
/// in one op, forward and VJP side by side (in the style of llm.c's attention_forward/backward).
#pragma once

#include <cstddef>

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

/// What causal_self_attention keeps for backward: the probabilities (store), their row statistics only
/// (recompute: backward recomputes the probabilities), or the one of the two the window length calls for.
enum class AttentionMemory { automatic, store, recompute };

/// The window length from which AttentionMemory::automatic recomputes: at T = 512 the probabilities of a
/// block with d = 128 and 4 heads are already as large as the rest of its activations (H·T ≥ 14·d).
inline constexpr std::size_t kAttentionRecomputeFrom = 512;

/// qkv: (B·T)×(3d), rows B sequences of T consecutive positions (row b·T + t), columns [q | k | v], each d =
/// H·hd wide; head h reads columns [h·hd, (h+1)·hd) of q, k and v. Returns (B·T)×d, head h in the same
/// columns:
/// ~~~{.unparsed}
///   a_ts = softmax over s ≤ t of  q_t·k_s / √hd      (per sequence and head; entries s > t are not computed)
///   y_t  = Σ_{s ≤ t} a_ts · v_s
/// ~~~
/// Backward needs the probabilities a. Stored, they take B·H·T² values, which outgrow the rest of a
/// transformer block's activations as T grows (at T 1024, d 128, 4 heads: 2.3 times them). So from T =
/// kAttentionRecomputeFrom on (AttentionMemory::automatic) the op keeps only each query row's softmax
/// statistics, its shift m_t and 1/Σ, 2·B·H·T values, and backward recomputes the probabilities block by
/// block from q, k and those (as FlashAttention does), at the cost of one more T×T product per head:
/// the same bits as the stored path. VJP, with g = dy_t:
/// ~~~{.unparsed}
///   da_ts = g·v_s,   dv_s += Σ_t a_ts · g_t,
///   dz_ts = a_ts · (da_ts − Σ_{s'} a_ts' · da_ts'),
///   dq_t += Σ_s dz_ts · k_s / √hd,   dk_s += Σ_t dz_ts · q_t / √hd.
/// ~~~
/// ShapeError unless qkv has B·T rows and 3·d columns with d a multiple of H.
template <class T>
Var<T> causal_self_attention(const Var<T>& qkv, std::size_t batch, std::size_t time, std::size_t heads,
                             AttentionMemory memory = AttentionMemory::automatic);

/// Whether causal_self_attention with this memory choice and window length keeps the row statistics only.
bool attention_recomputes(AttentionMemory memory, std::size_t time);

}  // namespace tapegrad
