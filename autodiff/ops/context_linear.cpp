// The products here are on blocks of rows (W_j, P_j, S_j) addressed by pointer: detail/strided_gemm.hpp.
#include "tapegrad/autodiff/ops/context_linear.hpp"

#include <algorithm>

#include "tapegrad/autodiff/detail/strided_gemm.hpp"
#include "tapegrad/autodiff/parallel.hpp"

namespace tapegrad {
namespace {

using detail::gemm;

struct Dims {
    std::size_t n, k, V, d, h;
    // The tables cost k·V·d·h multiply-adds instead of n·k·d·h, but their GEMMs have an inner dimension of d
    // only and write k·V·h values: they pay from about 4·V positions (measured: the default model's batch of
    // 256 over 99 symbols runs faster plain at 2 threads; evaluation chunks of 4096 run 1.5-2x faster).
    // The tables also take k·V·h values of scratch: never more than 64 MiB of them (context(1000000, 1)
    // would want gigabytes), the plain path then runs.
    bool tables() const { return n >= 4 * V && double(k) * double(V) * double(h) <= double(1 << 24); }
};

// The op's attribute: k, ids per position.
struct ContextLinearAttributes {
    std::size_t context;
};

template <class T>
Dims dims_of(Tape<T>& t, const Node<T>& n) {
    const Tensor<T>& table = t.input(n, 0).value;
    const std::size_t k = n.template attributes<ContextLinearAttributes>().context;
    return {n.ids.size() / k, k, table.shape()[0], table.shape()[1], n.cols()};
}

// Node attributes: ids = the n·k ids, ContextLinearAttributes{k}, saved = scratch, sized once per shape and reused:
//   tables path: P or S (V × k·h, row v = [P_0[v] … P_{k−1}[v]]), W' and G' (d × k·h each)
//   plain path:  the gathered x and dx (n × k·d each)
// W' holds the blocks W_j side by side (W'[c, j·h + m] = W[j·d + c, m]), so that all k products are one GEMM:
// P = E·W', S·W'ᵀ = Σ_j S_j·W_jᵀ, and G' = Eᵀ·S holds every dW_j side by side.
std::size_t scratch_size(const Dims& D) {
    return D.tables() ? D.V * D.k * D.h + 2 * D.d * D.k * D.h : 2 * D.n * D.k * D.d;
}

// W (k·d × h, blocks stacked) ↔ W' (d × k·h, blocks side by side).
template <class T>
void blocks_side_by_side(const Dims& D, const T* W, T* Wp) {
    for (std::size_t j = 0; j < D.k; ++j)
        for (std::size_t c = 0; c < D.d; ++c) std::copy_n(W + (j * D.d + c) * D.h, D.h, Wp + c * D.k * D.h + j * D.h);
}

template <class T>
void context_linear_forward(Tape<T>& t, Node<T>& node) {
    const Dims D = dims_of(t, node);
    const T* E = t.input(node, 0).value.data();
    const T* W = t.input(node, 1).value.data();
    T* y = node.value.data();
    T* scratch = node.saved.data();
    const std::int64_t* ids = node.ids.data();
    const std::size_t kh = D.k * D.h;
    const T* bias = node.inputs.size() > 2 ? t.input(node, 2).value.data() : nullptr;  // 1×h, or none
    if (D.tables()) {
        T* P = scratch;
        T* Wp = scratch + D.V * kh;
        blocks_side_by_side(D, W, Wp);
        gemm(false, false, D.V, kh, D.d, E, D.d, Wp, kh, P, kh, T(0));  // P = E · W'
        // y_r = Σ_j P_j[id_rj], j = 0..k−1; threads split the rows
        parallel_for(D.n, D.n * kh, [&](std::size_t r0, std::size_t r1) {
            for (std::size_t r = r0; r < r1; ++r) {
                T* yr = y + r * D.h;
                const T* p0 = P + std::size_t(ids[r * D.k]) * kh;
                if (bias)
                    for (std::size_t c = 0; c < D.h; ++c) yr[c] = bias[c] + p0[c];
                else
                    std::copy_n(p0, D.h, yr);
                for (std::size_t j = 1; j < D.k; ++j) {
                    const T* pj = P + std::size_t(ids[r * D.k + j]) * kh + j * D.h;
                    for (std::size_t c = 0; c < D.h; ++c) yr[c] += pj[c];
                }
            }
        });
        return;
    }
    T* x = scratch;  // n×(k·d): the gathered embeddings, then y = x · W
    for (std::size_t i = 0; i < D.n * D.k; ++i) std::copy_n(E + std::size_t(ids[i]) * D.d, D.d, x + i * D.d);
    if (bias)  // the rows start as the bias, the GEMM adds (beta = 1)
        for (std::size_t r = 0; r < D.n; ++r) std::copy_n(bias, D.h, y + r * D.h);
    gemm(false, false, D.n, D.h, D.k * D.d, x, D.k * D.d, W, D.h, y, D.h, bias ? T(1) : T(0));
}

template <class T>
void context_linear_vjp(Tape<T>& t, Node<T>& node) {
    const Dims D = dims_of(t, node);
    const GradientOut<T> gE_out = t.gradient_to_add(node, 0);  // a scatter into the table's rows
    const GradientOut<T> gW_out = t.gradient_to_write(node, 1);
    Tensor<T>* gE = gE_out.tensor;
    Tensor<T>* gW = gW_out.tensor;
    const bool w_overwrite = gW_out && !gW_out.add;
    if (node.inputs.size() > 2) {  // db += Σ_rows dy
        if (const GradientOut<T> gb = t.gradient_to_write(node, 2)) {
            T* g = gb.data();
            const T* d = node.grad.data();
            if (!gb.add) std::copy_n(d, D.h, g);  // the first row assigns, the others add
            for (std::size_t r = gb.add ? 0 : 1; r < D.n; ++r)
                for (std::size_t c = 0; c < D.h; ++c) g[c] += d[r * D.h + c];
        }
    }
    if (gE == nullptr && gW == nullptr) return;
    const T* E = t.input(node, 0).value.data();
    const T* W = t.input(node, 1).value.data();
    const T* dy = node.grad.data();
    T* scratch = node.saved.data();
    const std::int64_t* ids = node.ids.data();
    if (D.tables()) {
        const std::size_t kh = D.k * D.h;
        T* S = scratch;
        T* Wp = scratch + D.V * kh;
        T* Gp = Wp + D.d * kh;
        // S_j[v] = Σ_{r: id_rj = v} dy_r, in the order of r; threads split the h columns, so a repeated id
        // never races and every sum runs in the same order at any thread count
        std::fill(S, S + D.V * kh, T(0));
        parallel_for(D.h, D.n * kh, [&](std::size_t c0, std::size_t c1) {
            for (std::size_t r = 0; r < D.n; ++r)
                for (std::size_t j = 0; j < D.k; ++j) {
                    T* s = S + std::size_t(ids[r * D.k + j]) * kh + j * D.h;
                    const T* g = dy + r * D.h;
                    for (std::size_t c = c0; c < c1; ++c) s[c] += g[c];
                }
        });
        if (gW) {  // G' = Eᵀ · S: block j is dW_j
            gemm(true, false, D.d, kh, D.V, E, D.d, S, kh, Gp, kh, T(0));
            for (std::size_t j = 0; j < D.k; ++j)
                for (std::size_t c = 0; c < D.d; ++c) {
                    T* out = gW->data() + (j * D.d + c) * D.h;
                    const T* in = Gp + c * kh + j * D.h;
                    if (w_overwrite) std::copy_n(in, D.h, out);
                    else
                        for (std::size_t m = 0; m < D.h; ++m) out[m] += in[m];
                }
        }
        if (gE) {  // dE += S · W'ᵀ = Σ_j S_j · W_jᵀ
            blocks_side_by_side(D, W, Wp);
            gemm(false, true, D.V, D.d, kh, S, kh, Wp, kh, gE->data(), D.d, T(1));
        }
        return;
    }
    const std::size_t kd = D.k * D.d;
    T* x = scratch;  // the gathered embeddings again (cheaper than keeping them alive between the passes)
    T* dx = scratch + D.n * kd;
    if (gW) {
        for (std::size_t i = 0; i < D.n * D.k; ++i) std::copy_n(E + std::size_t(ids[i]) * D.d, D.d, x + i * D.d);
        gemm(true, false, kd, D.h, D.n, x, kd, dy, D.h, gW->data(), D.h, w_overwrite ? T(0) : T(1));
    }
    if (gE) {
        gemm(false, true, D.n, kd, D.h, dy, D.h, W, D.h, dx, kd, T(0));
        for (std::size_t i = 0; i < D.n * D.k; ++i) {  // scatter-add in position order
            T* row = gE->data() + std::size_t(ids[i]) * D.d;
            const T* src = dx + i * D.d;
            for (std::size_t c = 0; c < D.d; ++c) row[c] += src[c];
        }
    }
}

template <class T>
const OpDef<T> context_linear_def{
    "context_linear", context_linear_forward<T>, context_linear_vjp<T>, nullptr,
    "for second derivatives write it as embedding(table, ids), reshape to n×(k·d), then affine(x, W, b) (or "
    "matmul), which have one; a TokenSequential fuses them only for first-order training"};

}  // namespace

template <class T>
Var<T> context_linear(const Var<T>& table, const Var<T>& weight, std::span<const std::int64_t> ids, std::size_t k,
                      const Var<T>& bias) {
    Tape<T>& t = table.tape();
    const Shape st = t.shape(table, "context_linear"), sw = t.shape(weight, "context_linear");
    if (bias.valid()) {
        const Shape sb = t.shape(bias, "context_linear");
        if (sb[0] != 1 || sb[1] != sw[1])
            throw ShapeError("context_linear: bias is " + shape_str(sb) + ", expected 1x" + std::to_string(sw[1]));
    }
    if (k == 0 || ids.size() % k != 0)
        throw ShapeError("context_linear: " + std::to_string(ids.size()) + " ids are not a whole number of contexts of " +
                         std::to_string(k));
    if (sw[0] != k * st[1])
        throw ShapeError("context_linear: weight is " + shape_str(sw) + ", expected " + std::to_string(k * st[1]) +
                         " rows (k = " + std::to_string(k) + " embeddings of width " + std::to_string(st[1]) + ", table " +
                         shape_str(st) + ")");
    for (std::size_t i = 0; i < ids.size(); ++i)
        if (ids[i] < 0 || std::size_t(ids[i]) >= st[0])
            throw IndexError("context_linear: token id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                             " is outside the vocabulary of size " + std::to_string(st[0]) + " (table is " +
                             shape_str(st) + ")");
    const std::size_t n = ids.size() / k;
    Node<T>& node = bias.valid() ? t.push(context_linear_def<T>, {table, weight, bias}, Shape{n, sw[1]})
                                 : t.push(context_linear_def<T>, {table, weight}, Shape{n, sw[1]});
    node.ids.assign(ids.begin(), ids.end());
    node.set_attributes(ContextLinearAttributes{k});
    const Dims D{n, k, st[0], st[1], sw[1]};
    node.saved.resize({1, std::max<std::size_t>(scratch_size(D), 1)});  // same shape as last step: keeps its memory
    return t.commit(node);
}

template Var<float> context_linear(const Var<float>&, const Var<float>&, std::span<const std::int64_t>, std::size_t,
                                   const Var<float>&);
template Var<double> context_linear(const Var<double>&, const Var<double>&, std::span<const std::int64_t>, std::size_t,
                                    const Var<double>&);

}  // namespace tapegrad
