#include "tapegrad/autodiff/ops/attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tapegrad/autodiff/parallel.hpp"

namespace tapegrad {
namespace {

// Node attributes: int_attr = B, int_attr2 = H (T = rows / B), saved = the probabilities a (B·H·T rows of T)
// and then one scratch row of T per (sequence, head) for backward's da: a step allocates nothing.
struct AttentionDims {
    std::size_t B, T, H, d, hd;
};

template <class T>
AttentionDims dims_of(const Node<T>& n) {
    const std::size_t B = std::size_t(n.int_attr), H = std::size_t(n.int_attr2);
    const std::size_t d = n.cols();
    return {B, n.rows() / B, H, d, d / H};
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
            for (std::size_t i = 0; i < D.T; ++i) {
                const T* q = qkv + (b * D.T + i) * C3 + h * D.hd;
                T* a = att + (p * D.T + i) * D.T;
                T top = -std::numeric_limits<T>::infinity();
                for (std::size_t j = 0; j <= i; ++j) {  // z_ij = q_i·k_j/√hd, causal: j ≤ i only
                    const T* k = qkv + (b * D.T + j) * C3 + D.d + h * D.hd;
                    T dot = 0;
                    for (std::size_t c = 0; c < D.hd; ++c) dot += q[c] * k[c];
                    a[j] = dot * scale;
                    top = std::max(top, a[j]);
                }
                T sum = 0;
                for (std::size_t j = 0; j <= i; ++j) sum += a[j] = std::exp(a[j] - top);  // stable: z − max
                const T inv = T(1) / sum;
                for (std::size_t j = 0; j <= i; ++j) a[j] *= inv;
                std::fill(a + i + 1, a + D.T, T(0));  // masked
                T* yi = y + (b * D.T + i) * D.d + h * D.hd;
                std::fill(yi, yi + D.hd, T(0));
                for (std::size_t j = 0; j <= i; ++j) {
                    const T* v = qkv + (b * D.T + j) * C3 + 2 * D.d + h * D.hd;
                    for (std::size_t c = 0; c < D.hd; ++c) yi[c] += a[j] * v[c];
                }
            }
        }
    });
}

template <class T>
void attention_vjp(Tape<T>& t, Node<T>& n) {
    Tensor<T>* g = t.grad_sink(n, 0);
    if (g == nullptr) return;
    const AttentionDims D = dims_of(n);
    const T* qkv = t.input(n, 0).value.data();
    const T* dy = n.grad.data();
    const T* att = n.saved.data();
    T* dqkv = g->data();
    const std::size_t C3 = 3 * D.d;
    const T scale = T(1) / std::sqrt(T(D.hd));
    // Each (sequence, head) pair writes only its own rows' and head's columns of dq, dk, dv: no races.
    T* scratch = n.saved.data() + D.B * D.H * D.T * D.T;
    parallel_for(D.B * D.H, D.B * D.H * D.T * D.T * D.hd, [&](std::size_t p0, std::size_t p1) {
        for (std::size_t p = p0; p < p1; ++p) {
            const std::size_t b = p / D.H, h = p % D.H;
            T* da = scratch + p * D.T;
            for (std::size_t i = 0; i < D.T; ++i) {
                const T* a = att + (p * D.T + i) * D.T;
                const T* gi = dy + (b * D.T + i) * D.d + h * D.hd;
                // da_ij = g_i·v_j and dv_j += a_ij·g_i
                T weighted = 0;
                for (std::size_t j = 0; j <= i; ++j) {
                    const T* v = qkv + (b * D.T + j) * C3 + 2 * D.d + h * D.hd;
                    T* dv = dqkv + (b * D.T + j) * C3 + 2 * D.d + h * D.hd;
                    T dot = 0;
                    for (std::size_t c = 0; c < D.hd; ++c) {
                        dot += gi[c] * v[c];
                        dv[c] += a[j] * gi[c];
                    }
                    da[j] = dot;
                    weighted += a[j] * dot;
                }
                // dz_ij = a_ij (da_ij − Σ a·da); dq_i += dz_ij k_j/√hd; dk_j += dz_ij q_i/√hd
                const T* q = qkv + (b * D.T + i) * C3 + h * D.hd;
                T* dq = dqkv + (b * D.T + i) * C3 + h * D.hd;
                for (std::size_t j = 0; j <= i; ++j) {
                    const T dz = a[j] * (da[j] - weighted) * scale;
                    const T* k = qkv + (b * D.T + j) * C3 + D.d + h * D.hd;
                    T* dk = dqkv + (b * D.T + j) * C3 + D.d + h * D.hd;
                    for (std::size_t c = 0; c < D.hd; ++c) {
                        dq[c] += dz * k[c];
                        dk[c] += dz * q[c];
                    }
                }
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
    n.int_attr = std::int64_t(batch);
    n.int_attr2 = std::int64_t(heads);
    n.saved.resize({batch * heads * (time + 1), time});  // same shape as last step: keeps its memory
    return t.commit(n);
}

template Var<float> causal_self_attention(const Var<float>&, std::size_t, std::size_t, std::size_t);
template Var<double> causal_self_attention(const Var<double>&, std::size_t, std::size_t, std::size_t);

}  // namespace tapegrad
