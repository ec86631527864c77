#include "tapegrad/autodiff/ops/attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tapegrad/autodiff/detail/simd.hpp"
#include "tapegrad/autodiff/detail/strided_gemm.hpp"
#include "tapegrad/autodiff/parallel.hpp"

namespace tapegrad {
namespace {

// Node attributes: AttentionAttributes (T = rows / batch). saved = the probabilities a (B·H·T rows of
// T), then one scratch block of kb rows of T per thread (the pool's size when recorded) for backward's da
// and dz: a step allocates nothing.
//
// The products run as GEMMs on row blocks of kb = 32 queries (detail/strided_gemm.hpp, on one head's
// columns in place: no head is copied or transposed). Block r of queries [r0, r0 + kb) meets only the keys
// [0, r0 + kb): the blocks above the diagonal, all masked, cost nothing; inside a diagonal block the masked
// scores are computed by the GEMM (cheaper in BLAS than skipping them) and then set to probability 0,
// without an exp.
struct AttentionAttributes {
    std::size_t batch, heads;
};

struct AttentionDims {
    std::size_t B, T, H, d, hd, kb;
};

constexpr std::size_t kQueryBlock = 32;

template <class T>
AttentionDims dims_of(const Node<T>& n) {
    const auto [B, H] = n.template attributes<AttentionAttributes>();
    const std::size_t d = n.cols(), time = n.rows() / B;
    return {B, time, H, d, d / H, std::min(time, kQueryBlock)};
}

template <class T>
void attention_forward(Tape<T>& t, Node<T>& n) {
    const AttentionDims D = dims_of(n);
    const T* qkv = t.input(n, 0).value.data();
    T* y = n.value.data();
    T* att = n.saved.data();
    const std::size_t C3 = 3 * D.d;
    const T scale = T(1) / std::sqrt(T(D.hd));
    // One (sequence, head) pair per task: disjoint outputs, the same arithmetic at any thread count.
    parallel_for(D.B * D.H, D.B * D.H * D.T * D.T * D.hd, [&](std::size_t p0, std::size_t p1) {
        for (std::size_t p = p0; p < p1; ++p) {
            const std::size_t b = p / D.H, h = p % D.H;
            const T* Q = qkv + b * D.T * C3 + h * D.hd;
            const T *K = Q + D.d, *V = Q + 2 * D.d;
            T* A = att + p * D.T * D.T;
            T* Y = y + b * D.T * D.d + h * D.hd;
            for (std::size_t r0 = 0; r0 < D.T; r0 += D.kb) {
                const std::size_t rows = std::min(D.kb, D.T - r0), keys = r0 + rows;
                // z = Q_r · K_{<keys}ᵀ   (rows × keys)
                detail::gemm(false, true, rows, keys, D.hd, Q + r0 * C3, C3, K, C3, A + r0 * D.T, D.T, T(0));
                for (std::size_t i = r0; i < r0 + rows; ++i) {
                    T* a = A + i * D.T;
                    // a_ij = softmax over j ≤ i of z_ij/√hd, stably (z − max); j > i: 0
                    const T top = detail::scale_and_max(a, i + 1, scale);
                    const T inv = T(1) / detail::exp_shifted_in_place(a, i + 1, top);
                    for (std::size_t j = 0; j <= i; ++j) a[j] *= inv;
                    std::fill(a + i + 1, a + D.T, T(0));
                }
                // y_r = a_r · V_{<keys}   (rows × hd, into this head's columns)
                detail::gemm(false, false, rows, D.hd, keys, A + r0 * D.T, D.T, V, C3, Y + r0 * D.d, D.d, T(0));
            }
        }
    });
}

template <class T>
void attention_vjp(Tape<T>& t, Node<T>& n) {
    bool overwrite = false;
    Tensor<T>* g = t.grad_sink(n, 0, &overwrite);
    if (g == nullptr) return;
    const AttentionDims D = dims_of(n);
    const T* qkv = t.input(n, 0).value.data();
    const T* dy = n.grad.data();
    const T* att = n.saved.data();
    T* dqkv = g->data();
    T* scratch = n.saved.data() + D.B * D.H * D.T * D.T;
    const std::size_t slots = (n.saved.shape()[0] - D.B * D.H * D.T) / D.kb;  // chunks that have scratch
    const std::size_t C3 = 3 * D.d;
    const T scale = T(1) / std::sqrt(T(D.hd));
    // Each (sequence, head) pair writes only its own rows' and head's columns of dq, dk, dv: no races.
    parallel_for_chunks(D.B * D.H, D.B * D.H * D.T * D.T * D.hd, slots, [&](std::size_t chunk, std::size_t p0, std::size_t p1) {
        T* S = scratch + chunk * D.kb * D.T;
        for (std::size_t p = p0; p < p1; ++p) {
            const std::size_t b = p / D.H, h = p % D.H;
            const T* Q = qkv + b * D.T * C3 + h * D.hd;
            const T *K = Q + D.d, *V = Q + 2 * D.d;
            const T* A = att + p * D.T * D.T;
            const T* G = dy + b * D.T * D.d + h * D.hd;
            T* dQ = dqkv + b * D.T * C3 + h * D.hd;
            T *dK = dQ + D.d, *dV = dQ + 2 * D.d;
            // Query blocks from the last: its products reach every key, so on the gradient's first write they
            // assign dk and dv (beta = 0) and the blocks before add; each block assigns its own rows of dq.
            // Nothing is zero-filled first.
            const std::size_t blocks = (D.T + D.kb - 1) / D.kb;
            for (std::size_t blk = blocks; blk-- > 0;) {
                const std::size_t r0 = blk * D.kb, rows = std::min(D.kb, D.T - r0), keys = r0 + rows;
                const T beta_kv = overwrite && blk == blocks - 1 ? T(0) : T(1), beta_q = overwrite ? T(0) : T(1);
                const T* Ar = A + r0 * D.T;
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
const OpDef<T> attention_def{"causal_self_attention", attention_forward<T>, attention_vjp<T>};

}  // namespace

template <class T>
Var<T> causal_self_attention(const Var<T>& qkv, std::size_t batch, std::size_t time, std::size_t heads) {
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
    n.set_attributes(AttentionAttributes{batch, heads});
    // the probabilities, then a scratch block per thread; same shape as last step: keeps its memory
    n.saved.resize({batch * heads * time + pool_size() * std::min(time, kQueryBlock), time});
    return t.commit(n);
}

template Var<float> causal_self_attention(const Var<float>&, std::size_t, std::size_t, std::size_t);
template Var<double> causal_self_attention(const Var<double>&, std::size_t, std::size_t, std::size_t);

}  // namespace tapegrad
