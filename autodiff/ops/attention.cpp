#include "tapegrad/autodiff/ops/attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tapegrad/autodiff/detail/simd.hpp"
#include "tapegrad/autodiff/detail/strided_gemm.hpp"
#include "tapegrad/autodiff/parallel.hpp"

namespace tapegrad {
namespace {

// Node attributes: AttentionAttributes (T = rows / batch). What the node saves (n.saved, T columns), in one of
// two layouts (AttentionMemory, attention.hpp):
//   stored:      rows [0, B·H·T): the probabilities a, row p·T + i for query i of (sequence, head) pair p;
//                then kb rows of scratch per chunk (backward's da and dz);
//   recomputed:  rows [0, 2·B·H): each query row's softmax statistics, row 2p the shifts m_i (the row's
//                largest scaled score), row 2p + 1 the factors 1/Σ_j exp(z_ij/√hd − m_i); then 2·kb rows of
//                scratch per chunk (a block of probabilities, recomputed from the statistics, and its dz).
// The chunks are the pool's size when recorded: a step allocates nothing.
//
// The products run as GEMMs on row blocks of kb = 32 queries (detail/strided_gemm.hpp, on one head's
// columns in place: no head is copied or transposed). Block r of queries [r0, r0 + kb) meets only the keys
// [0, r0 + kb): the blocks above the diagonal, all masked, cost nothing; inside a diagonal block the masked
// scores are computed by the GEMM (cheaper in BLAS than skipping them) and then set to probability 0,
// without an exp. The recomputing backward repeats the forward's GEMM and arithmetic for each block, in the
// same order, so its probabilities and therefore its gradients are the stored path's, bit for bit.
struct AttentionAttributes {
    std::size_t batch, heads;
    bool recompute;
};

struct AttentionDims {
    std::size_t B, T, H, d, hd, kb;
    bool recompute;
    std::size_t C3() const { return 3 * d; }
    std::size_t pairs() const { return B * H; }
    // rows of n.saved before the scratch, and rows of scratch per chunk
    std::size_t kept_rows() const { return recompute ? 2 * B * H : B * H * T; }
    std::size_t scratch_rows() const { return recompute ? 2 * kb : kb; }
};

constexpr std::size_t kQueryBlock = 32;

template <class T>
AttentionDims dims_of(const Node<T>& n) {
    const auto [B, H, recompute] = n.template attributes<AttentionAttributes>();
    const std::size_t d = n.cols(), time = n.rows() / B;
    return {B, time, H, d, d / H, std::min(time, kQueryBlock), recompute};
}

// The probabilities of queries [r0, r0 + rows) of one (sequence, head) pair into P (rows × T, row length T):
// z = Q_r · K_{<keys}ᵀ, then for query i: a_ij = exp(z_ij/√hd − m_i) / Σ_j' exp(z_ij'/√hd − m_i) for j ≤ i (m_i the
// largest z_ij/√hd: stable), 0 for j > i. With `shift`/`inv_sum` null the statistics are computed (and, when
// `keep_shift`/`keep_inv` are given, written there, per query); otherwise they are read from there.
template <class T>
void probabilities_block(const AttentionDims& D, const T* Q, const T* K, std::size_t r0, std::size_t rows, T* P,
                         const T* shift, const T* inv_sum, T* keep_shift, T* keep_inv) {
    const std::size_t keys = r0 + rows, C3 = D.C3();
    const T scale = T(1) / std::sqrt(T(D.hd));
    detail::gemm(false, true, rows, keys, D.hd, Q + r0 * C3, C3, K, C3, P, D.T, T(0));
    for (std::size_t r = 0; r < rows; ++r) {
        const std::size_t i = r0 + r;
        T* a = P + r * D.T;
        const T top_now = detail::scale_and_max(a, i + 1, scale);
        const T top = shift ? shift[i] : top_now;
        const T sum = detail::exp_shifted_in_place(a, i + 1, top);
        const T inv = inv_sum ? inv_sum[i] : T(1) / sum;
        for (std::size_t j = 0; j <= i; ++j) a[j] *= inv;
        std::fill(a + i + 1, a + keys, T(0));
        if (keep_shift) keep_shift[i] = top;
        if (keep_inv) keep_inv[i] = inv;
    }
}

template <class T>
void attention_forward(Tape<T>& t, Node<T>& n) {
    const AttentionDims D = dims_of(n);
    const T* qkv = t.input(n, 0).value.data();
    T* y = n.value.data();
    T* kept = n.saved.data();
    T* scratch = kept + D.kept_rows() * D.T;
    const std::size_t slots = (n.saved.shape()[0] - D.kept_rows()) / D.scratch_rows();
    const std::size_t C3 = D.C3();
    // One (sequence, head) pair per task: disjoint outputs, the same arithmetic at any thread count.
    parallel_for_chunks(D.pairs(), D.pairs() * D.T * D.T * D.hd, slots, [&](std::size_t chunk, std::size_t p0, std::size_t p1) {
        T* block = scratch + chunk * D.scratch_rows() * D.T;
        for (std::size_t p = p0; p < p1; ++p) {
            const std::size_t b = p / D.H, h = p % D.H;
            const T* Q = qkv + b * D.T * C3 + h * D.hd;
            const T *K = Q + D.d, *V = Q + 2 * D.d;
            T* Y = y + b * D.T * D.d + h * D.hd;
            T* shift = D.recompute ? kept + 2 * p * D.T : nullptr;
            T* inv = D.recompute ? shift + D.T : nullptr;
            for (std::size_t r0 = 0; r0 < D.T; r0 += D.kb) {
                const std::size_t rows = std::min(D.kb, D.T - r0), keys = r0 + rows;
                T* P = D.recompute ? block : kept + p * D.T * D.T + r0 * D.T;
                probabilities_block(D, Q, K, r0, rows, P, static_cast<const T*>(nullptr), static_cast<const T*>(nullptr),
                                    shift, inv);
                // y_r = a_r · V_{<keys}   (rows × hd, into this head's columns)
                detail::gemm(false, false, rows, D.hd, keys, P, D.T, V, C3, Y + r0 * D.d, D.d, T(0));
            }
        }
    });
}

template <class T>
void attention_vjp(Tape<T>& t, Node<T>& n) {
    const GradientOut<T> g = t.gradient_to_write(n, 0);
    if (!g) return;
    const bool overwrite = !g.add;
    const AttentionDims D = dims_of(n);
    const T* qkv = t.input(n, 0).value.data();
    const T* dy = n.grad.data();
    T* kept = n.saved.data();
    T* dqkv = g.data();
    T* scratch = kept + D.kept_rows() * D.T;
    const std::size_t slots = (n.saved.shape()[0] - D.kept_rows()) / D.scratch_rows();
    const std::size_t C3 = D.C3();
    const T scale = T(1) / std::sqrt(T(D.hd));
    // Each (sequence, head) pair writes only its own rows' and head's columns of dq, dk, dv: no races.
    parallel_for_chunks(D.pairs(), D.pairs() * D.T * D.T * D.hd, slots, [&](std::size_t chunk, std::size_t p0, std::size_t p1) {
        T* block = scratch + chunk * D.scratch_rows() * D.T;
        T* S = D.recompute ? block + D.kb * D.T : block;
        for (std::size_t p = p0; p < p1; ++p) {
            const std::size_t b = p / D.H, h = p % D.H;
            const T* Q = qkv + b * D.T * C3 + h * D.hd;
            const T *K = Q + D.d, *V = Q + 2 * D.d;
            const T* G = dy + b * D.T * D.d + h * D.hd;
            T* dQ = dqkv + b * D.T * C3 + h * D.hd;
            T *dK = dQ + D.d, *dV = dQ + 2 * D.d;
            const T* shift = D.recompute ? kept + 2 * p * D.T : nullptr;
            // Query blocks from the last: its products reach every key, so on the gradient's first write they
            // assign dk and dv (beta = 0) and the blocks before add; each block assigns its own rows of dq.
            // Nothing is zero-filled first.
            const std::size_t blocks = (D.T + D.kb - 1) / D.kb;
            for (std::size_t blk = blocks; blk-- > 0;) {
                const std::size_t r0 = blk * D.kb, rows = std::min(D.kb, D.T - r0), keys = r0 + rows;
                const T beta_kv = overwrite && blk == blocks - 1 ? T(0) : T(1), beta_q = overwrite ? T(0) : T(1);
                const T* Ar = block;  // this block's probabilities: recomputed into scratch, or the stored ones
                if (D.recompute)
                    probabilities_block(D, Q, K, r0, rows, block, shift, shift + D.T, static_cast<T*>(nullptr),
                                        static_cast<T*>(nullptr));
                else
                    Ar = kept + p * D.T * D.T + r0 * D.T;
                // dv_{<keys} += a_rᵀ · g_r
                detail::gemm(true, false, keys, D.hd, rows, Ar, D.T, G + r0 * D.d, D.d, dV, C3, beta_kv);
                // da = g_r · V_{<keys}ᵀ
                detail::gemm(false, true, rows, keys, D.hd, G + r0 * D.d, D.d, V, C3, S, D.T, T(0));
                // dz_ij = a_ij (da_ij − Σ_j' a_ij' da_ij') / √hd for j ≤ i; 0 above the diagonal
                for (std::size_t i = 0; i < rows; ++i) {
                    const T* a = Ar + i * D.T;
                    T* dz = S + i * D.T;
                    const std::size_t last = r0 + i;
                    T weighted = 0;
                    for (std::size_t j = 0; j <= last; ++j) weighted += a[j] * dz[j];
                    for (std::size_t j = 0; j <= last; ++j) dz[j] = a[j] * (dz[j] - weighted) * scale;
                    std::fill(dz + last + 1, dz + keys, T(0));
                }
                // dq_r += dz · K_{<keys},   dk_{<keys} += dzᵀ · q_r
                detail::gemm(false, false, rows, D.hd, keys, S, D.T, K, C3, dQ + r0 * C3, C3, beta_q);
                detail::gemm(true, false, keys, D.hd, rows, S, D.T, Q + r0 * C3, C3, dK, C3, beta_kv);
            }
        }
    });
}

template <class T>
const OpDef<T> attention_def{
    "causal_self_attention", attention_forward<T>, attention_vjp<T>, nullptr,
    "for second derivatives write the attention with ops that have one: per head, matmul_nt(q, k) scaled, a "
    "constant causal mask added (-inf above the diagonal as a large negative number), softmax, matmul with v"};

}  // namespace

bool attention_recomputes(AttentionMemory memory, std::size_t time) {
    return memory == AttentionMemory::recompute || (memory == AttentionMemory::automatic && time >= kAttentionRecomputeFrom);
}

template <class T>
Var<T> causal_self_attention(const Var<T>& qkv, std::size_t batch, std::size_t time, std::size_t heads,
                             AttentionMemory memory) {
    Tape<T>& t = qkv.tape();
    const Shape s = t.shape(qkv, "causal_self_attention");
    if (batch == 0 || time == 0 || heads == 0)
        throw ShapeError("causal_self_attention: batch " + std::to_string(batch) + ", time " + std::to_string(time) +
                         ", heads " + std::to_string(heads) + " (each must be at least 1)");
    if (s[0] != batch * time)
        throw ShapeError("causal_self_attention: qkv is " + shape_str(s) + ", expected " + std::to_string(batch * time) +
                         " rows (" + std::to_string(batch) + " sequences of " + std::to_string(time) + " positions)");
    if (s[1] % 3 != 0 || (s[1] / 3) % heads != 0 || s[1] == 0)
        throw ShapeError("causal_self_attention: qkv is " + shape_str(s) + ", expected 3·d columns with d a multiple of " +
                         std::to_string(heads) + " heads");
    Node<T>& n = t.push(attention_def<T>, {qkv}, Shape{s[0], s[1] / 3});
    const bool recompute = attention_recomputes(memory, time);
    n.set_attributes(AttentionAttributes{batch, heads, recompute});
    // the probabilities or their row statistics, then scratch per chunk (layout above); the same shape as
    // last step keeps its memory
    const std::size_t kb = std::min(time, kQueryBlock);
    n.saved.resize({recompute ? 2 * batch * heads + pool_size() * 2 * kb : batch * heads * time + pool_size() * kb, time});
    return t.commit(n);
}

template Var<float> causal_self_attention(const Var<float>&, std::size_t, std::size_t, std::size_t, AttentionMemory);
template Var<double> causal_self_attention(const Var<double>&, std::size_t, std::size_t, std::size_t, AttentionMemory);

}  // namespace tapegrad
