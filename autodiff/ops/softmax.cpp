#include "tapegrad/autodiff/ops/softmax.hpp"

#include "tapegrad/autodiff/ops/elementwise.hpp"
#include "tapegrad/autodiff/ops/reduce.hpp"

#include "tapegrad/autodiff/detail/simd.hpp"
#include "tapegrad/autodiff/parallel.hpp"

#include <algorithm>
#include <cmath>

namespace tapegrad {
namespace {

// log Σ_j exp(x_j), computed as m + log Σ exp(x_j − m) with m = max_j x_j so nothing overflows.
template <class T>
T row_max(const T* x, std::size_t w) {
    // Eight independent running maxima: one dependent chain of compares would wait on each other.
    T acc[8];
    std::fill(acc, acc + 8, x[0]);
    std::size_t j = 0;
    for (; j + 8 <= w; j += 8)
        for (std::size_t l = 0; l < 8; ++l) acc[l] = x[j + l] > acc[l] ? x[j + l] : acc[l];
    T m = acc[0];
    for (std::size_t l = 1; l < 8; ++l) m = acc[l] > m ? acc[l] : m;
    for (; j < w; ++j) m = x[j] > m ? x[j] : m;
    return m;
}

template <class T>
T log_sum_exp(const T* x, std::size_t w) {
    const T m = row_max(x, w);
    return m + std::log(detail::sum_exp_shifted(x, w, m));
}

// ── softmax: y_ij = exp(x_ij − lse_i);  dx_i += y_i ⊙ (dy_i − ⟨dy_i, y_i⟩)
template <class T>
void softmax_forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& x = t.input(n, 0).value;
    const std::size_t R = n.rows(), W = n.cols();
    for (std::size_t r = 0; r < R; ++r) {
        const T* xr = x.data() + r * W;
        const T lse = log_sum_exp(xr, W);
        for (std::size_t j = 0; j < W; ++j) n.value.data()[r * W + j] = std::exp(xr[j] - lse);
    }
}
template <class T>
void softmax_vjp(Tape<T>& t, Node<T>& n) {
    const GradientOut<T> gx = t.gradient_to_add(n, 0);
    if (!gx) return;
    const std::size_t R = n.rows(), W = n.cols();
    for (std::size_t r = 0; r < R; ++r) {
        const T *y = n.value.data() + r * W, *dy = n.grad.data() + r * W;
        T dot = 0;
        for (std::size_t j = 0; j < W; ++j) dot += dy[j] * y[j];
        T* dx = gx.data() + r * W;
        for (std::size_t j = 0; j < W; ++j) dx[j] += y[j] * (dy[j] - dot);
    }
}
// Graph rule: dx = y ⊙ (dy − Σ_j dy_j y_j), the row sums broadcast over the columns.
template <class T>
void softmax_vjp_graph(const GraphVjp<T>& c) {
    if (!c.needed[0]) return;
    const Var<T> y = c.output();
    c.din[0] = mul(y, sub(c.dy, sum(mul(c.dy, y), 1)));
}
template <class T>
const OpDef<T> softmax_def{"softmax", softmax_forward<T>, softmax_vjp<T>, softmax_vjp_graph<T>};

// ── log_softmax: y_ij = x_ij − lse_i;  dx_i += dy_i − exp(y_i) · Σ_j dy_ij
template <class T>
void log_softmax_forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& x = t.input(n, 0).value;
    const std::size_t R = n.rows(), W = n.cols();
    for (std::size_t r = 0; r < R; ++r) {
        const T* xr = x.data() + r * W;
        const T lse = log_sum_exp(xr, W);
        for (std::size_t j = 0; j < W; ++j) n.value.data()[r * W + j] = xr[j] - lse;
    }
}
template <class T>
void log_softmax_vjp(Tape<T>& t, Node<T>& n) {
    const GradientOut<T> gx = t.gradient_to_add(n, 0);
    if (!gx) return;
    const std::size_t R = n.rows(), W = n.cols();
    for (std::size_t r = 0; r < R; ++r) {
        const T *y = n.value.data() + r * W, *dy = n.grad.data() + r * W;
        T total = 0;
        for (std::size_t j = 0; j < W; ++j) total += dy[j];
        T* dx = gx.data() + r * W;
        for (std::size_t j = 0; j < W; ++j) dx[j] += dy[j] - std::exp(y[j]) * total;
    }
}
// Graph rule: dx = dy − exp(y) ⊙ Σ_j dy_j.
template <class T>
void log_softmax_vjp_graph(const GraphVjp<T>& c) {
    if (c.needed[0]) c.din[0] = sub(c.dy, mul(exp(c.output()), sum(c.dy, 1)));
}
template <class T>
const OpDef<T> log_softmax_def{"log_softmax", log_softmax_forward<T>, log_softmax_vjp<T>, log_softmax_vjp_graph<T>};

// ── cross_entropy (fused with log-softmax)
// Node attributes: ids = targets, CrossEntropyAttributes (the options, and the reduction's scale, which
// forward sets), saved = n×2: per row lse_i and loss_i.
// Only lse is kept for backward (not the n×w probabilities): P_ij = exp(x_ij − lse_i) is recomputed from
// the logits, which the tape keeps anyway.
//   q_ij    = (1 − ε)·[j = t_i] + ε/w
//   loss_i  = −Σ_j q_ij log P_ij = −(1 − ε)·log P_i,t_i − (ε/w)·Σ_j log P_ij     (0 for ignored positions)
//   with log P_ij = x_ij − lse_i, so Σ_j log P_ij = Σ_j x_ij − w·lse_i
struct CrossEntropyAttributes {
    CrossEntropyOptions options;
    double scale;  // of the reduction: 1/#counted (mean), 1 (sum, none); set by forward
};

template <class T>
void cross_entropy_forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& x = t.input(n, 0).value;
    const std::size_t R = x.shape()[0], W = x.shape()[1];
    auto attributes = n.template attributes<CrossEntropyAttributes>();
    const Reduction reduction = attributes.options.reduction;
    const std::int64_t ignore_index = attributes.options.ignore_index;
    const T eps = T(attributes.options.label_smoothing);
    n.saved.resize({R, 2});
    T* saved = n.saved.data();
    parallel_for(R, R * W, [&](std::size_t begin, std::size_t end) {
        for (std::size_t r = begin; r < end; ++r) {
            const T* xr = x.data() + r * W;
            const T lse = log_sum_exp(xr, W);
            T loss = 0;
            if (n.ids[r] != ignore_index) {
                loss = -(T(1) - eps) * (xr[n.ids[r]] - lse);
                if (eps != T(0)) {
                    T sum_x = 0;
                    for (std::size_t j = 0; j < W; ++j) sum_x += xr[j];
                    loss -= eps / T(W) * (sum_x - T(W) * lse);
                }
            }
            saved[2 * r] = lse;
            saved[2 * r + 1] = loss;
        }
    });
    // The reduction runs in row order on one thread: the loss does not depend on the thread count.
    T total = 0;
    std::size_t counted = 0;
    for (std::size_t r = 0; r < R; ++r) {
        if (n.ids[r] != ignore_index) ++counted;
        if (reduction == Reduction::none) n.value.data()[r] = saved[2 * r + 1];
        total += saved[2 * r + 1];
    }
    attributes.scale = reduction == Reduction::mean ? (counted ? 1.0 / double(counted) : 0.0) : 1.0;
    n.set_attributes(attributes);
    if (reduction != Reduction::none) n.value.data()[0] = total * T(attributes.scale);
}

// dlogits_ij += g_i · (P_ij − q_ij),  g_i = dy·scale (mean, sum) or dy_i (none); 0 for ignored positions.
template <class T>
void cross_entropy_vjp(Tape<T>& t, Node<T>& n) {
    const GradientOut<T> gx = t.gradient_to_write(n, 0);
    if (!gx) return;
    const bool overwrite = !gx.add;
    const Tensor<T>& x = t.input(n, 0).value;
    const std::size_t R = x.shape()[0], W = x.shape()[1];
    const auto attributes = n.template attributes<CrossEntropyAttributes>();
    const bool per_row = attributes.options.reduction == Reduction::none;
    const std::int64_t ignore_index = attributes.options.ignore_index;
    const T eps = T(attributes.options.label_smoothing), uniform = eps / T(W), scale = T(attributes.scale);
    parallel_for(R, R * W, [&](std::size_t begin, std::size_t end) {
        for (std::size_t r = begin; r < end; ++r) {
            T* dx = gx.data() + r * W;
            if (n.ids[r] == ignore_index) {
                if (overwrite) std::fill(dx, dx + W, T(0));
                continue;
            }
            const T g = per_row ? n.grad.data()[r] : n.grad.data()[0] * scale;
            const T lse = n.saved.data()[2 * r];
            const T* xr = x.data() + r * W;
            using B = xsimd::batch<T>;
            const B vg(g), vlse(lse), vu(uniform);
            const auto g_p_minus_q = [&](const B& v) { return vg * (xsimd::exp(v - vlse) - vu); };
            if (overwrite)
                detail::map_batches(xr, dx, W, g_p_minus_q);
            else
                detail::add_mapped_batches(xr, dx, W, g_p_minus_q);
            dx[n.ids[r]] -= g * (T(1) - eps);
        }
    });
}
// Graph rule: dlogits = (softmax(x) − Q) ⊙ G, with Q the constant target distribution (rows of ignored
// positions zero) and G the n×1 column of each row's weight: dy·scale (mean, sum) or dy_i (none), times a
// constant 0/1 mask of the counted rows. softmax(x) is recorded again, so its rule carries the next order.
template <class T>
void cross_entropy_vjp_graph(const GraphVjp<T>& c) {
    if (!c.needed[0]) return;
    Tape<T>& t = c.tape;
    const Node<T>& n = t.node(c.node);
    const Var<T> x = c.input(0);
    const std::size_t R = x.rows(), W = x.cols();
    const auto attributes = n.template attributes<CrossEntropyAttributes>();
    const T eps = T(attributes.options.label_smoothing);
    Tensor<T> q({R, W}, T(0)), counted({R, 1}, T(0));
    for (std::size_t r = 0; r < R; ++r) {
        if (n.ids[r] == attributes.options.ignore_index) continue;
        counted(r, 0) = T(1);
        for (std::size_t j = 0; j < W; ++j) q(r, j) = eps / T(W);
        q(r, std::size_t(n.ids[r])) += T(1) - eps;
    }
    const Var<T> rows = attributes.options.reduction == Reduction::none
                            ? mul(c.dy, t.constant(counted))
                            : mul(mul(t.constant(counted), c.dy), attributes.scale);
    c.din[0] = mul(sub(softmax(x), t.constant(q)), rows);
}
template <class T>
const OpDef<T> cross_entropy_def{"cross_entropy", cross_entropy_forward<T>, cross_entropy_vjp<T>, cross_entropy_vjp_graph<T>};

}  // namespace

template <class T>
Var<T> softmax(const Var<T>& x) {
    Tape<T>& t = x.tape();
    const Shape s = t.shape(x, "softmax");
    if (s[1] == 0) throw ShapeError("softmax: rows of a " + shape_str(s) + " tensor are empty");
    return t.commit(t.push(softmax_def<T>, {x}, s));
}

template <class T>
Var<T> log_softmax(const Var<T>& x) {
    Tape<T>& t = x.tape();
    const Shape s = t.shape(x, "log_softmax");
    if (s[1] == 0) throw ShapeError("log_softmax: rows of a " + shape_str(s) + " tensor are empty");
    return t.commit(t.push(log_softmax_def<T>, {x}, s));
}

template <class T>
Var<T> cross_entropy(const Var<T>& logits, std::span<const std::int64_t> targets, const CrossEntropyOptions& options) {
    Tape<T>& t = logits.tape();
    const Shape s = t.shape(logits, "cross_entropy");
    const std::size_t n = s[0], w = s[1];
    if (w == 0) throw ShapeError("cross_entropy: logits are " + shape_str(s) + ", a vocabulary of 0");
    if (n == 0) throw ShapeError("cross_entropy: empty batch (logits are " + shape_str(s) + ")");
    if (targets.size() != n)
        throw ShapeError("cross_entropy: " + std::to_string(targets.size()) + " targets for logits of shape " +
                         shape_str(s) + " (expected one target per row: " + std::to_string(n) + ")");
    if (!(options.label_smoothing >= 0.0 && options.label_smoothing <= 1.0))
        throw DomainError("cross_entropy: label_smoothing " + std::to_string(options.label_smoothing) +
                          " outside [0, 1]");
    for (std::size_t i = 0; i < n; ++i)
        if (targets[i] != options.ignore_index && (targets[i] < 0 || std::size_t(targets[i]) >= w))
            throw IndexError("cross_entropy: target " + std::to_string(targets[i]) + " at position " + std::to_string(i) +
                             " is outside the vocabulary of size " + std::to_string(w) + " (expected 0.." +
                             std::to_string(w - 1) + ", or ignore_index " + std::to_string(options.ignore_index) + ")");
    Node<T>& node = t.push(cross_entropy_def<T>, {logits}, options.reduction == Reduction::none ? Shape{n, 1} : Shape{1, 1});
    node.ids.assign(targets.begin(), targets.end());
    node.set_attributes(CrossEntropyAttributes{options, 1.0});
    return t.commit(node);
}

template Var<float> softmax(const Var<float>&);
template Var<double> softmax(const Var<double>&);
template Var<float> log_softmax(const Var<float>&);
template Var<double> log_softmax(const Var<double>&);
template Var<float> cross_entropy(const Var<float>&, std::span<const std::int64_t>, const CrossEntropyOptions&);
template Var<double> cross_entropy(const Var<double>&, std::span<const std::int64_t>, const CrossEntropyOptions&);

}  // namespace tapegrad
