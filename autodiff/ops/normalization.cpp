#include "tapegrad/autodiff/ops/normalization.hpp"

#include <cmath>
#include <string>
#include <utility>

#include "tapegrad/autodiff/detail/simd.hpp"
#include "tapegrad/autodiff/ops/elementwise.hpp"
#include "tapegrad/autodiff/ops/reduce.hpp"
#include "tapegrad/autodiff/parallel.hpp"

namespace tapegrad {
namespace {

// (Σ_c ĝ_c, Σ_c ĝ_c·x̂_c) for a row, ĝ = g ⊙ γ, x̂ = (x − μ)·rstd: lane-wise partial sums added in a fixed
// order, as detail::sum_mapped_batches.
template <class T>
std::pair<T, T> row_grad_sums(const T* x, const T* g, const T* gamma, std::size_t n, T mu, T rstd) {
    using B = xsimd::batch<T>;
    constexpr std::size_t L = B::size;
    B acc_g(T(0)), acc_gx(T(0));
    const B m(mu), r(rstd);
    std::size_t c = 0;
    for (; c + L <= n; c += L) {
        const B gh = B::load_unaligned(g + c) * B::load_unaligned(gamma + c);
        acc_g += gh;
        acc_gx += gh * ((B::load_unaligned(x + c) - m) * r);
    }
    if (c < n) {  // padding g = 0: adds nothing
        alignas(B::arch_type::alignment()) T bx[L] = {}, bg[L] = {}, bgam[L] = {};
        std::copy(x + c, x + n, bx);
        std::copy(g + c, g + n, bg);
        std::copy(gamma + c, gamma + n, bgam);
        const B gh = B::load_aligned(bg) * B::load_aligned(bgam);
        acc_g += gh;
        acc_gx += gh * ((B::load_aligned(bx) - m) * r);
    }
    return {xsimd::hadd(acc_g), xsimd::hadd(acc_gx)};
}

// Node attributes: LayerNormAttributes, saved = n×2 [μ_r, rstd_r].
struct LayerNormAttributes {
    double eps;
};

template <class T>
void layer_norm_forward(Tape<T>& t, Node<T>& n) {
    const std::size_t R = n.rows(), W = n.cols();
    const T* x = t.input(n, 0).value.data();
    const T* gamma = t.input(n, 1).value.data();
    const T* beta = t.input(n, 2).value.data();
    T* y = n.value.data();
    T* stats = n.saved.data();
    const T eps = T(n.template attributes<LayerNormAttributes>().eps);
    parallel_for(R, R * W, [&](std::size_t r0, std::size_t r1) {
        for (std::size_t r = r0; r < r1; ++r) {
            const T* xr = x + r * W;
            const T mu = detail::sum_mapped_batches(xr, W, T(0), [](const auto& v) { return v; }) / T(W);
            // two passes: Σ(x − μ)², no cancellation of E[x²] − μ² (padding μ adds 0)
            const T sq = detail::sum_mapped_batches(xr, W, mu, [mu](const auto& v) {
                const auto dev = v - decltype(v)(mu);
                return dev * dev;
            });
            const T rstd = T(1) / std::sqrt(sq / T(W) + eps);
            T* yr = y + r * W;
            for (std::size_t c = 0; c < W; ++c) yr[c] = (xr[c] - mu) * rstd * gamma[c] + beta[c];
            stats[2 * r] = mu;
            stats[2 * r + 1] = rstd;
        }
    });
}

template <class T>
void layer_norm_vjp(Tape<T>& t, Node<T>& n) {
    const std::size_t R = n.rows(), W = n.cols();
    const T* x = t.input(n, 0).value.data();
    const T* gamma = t.input(n, 1).value.data();
    const T* g = n.grad.data();
    const T* stats = n.saved.data();
    // dγ += Σ_rows g ⊙ x̂, dβ += Σ_rows g: summed in row order (the same bits at any thread count).
    const GradientOut<T> dgamma_out = t.gradient_to_add(n, 1), dbeta_out = t.gradient_to_add(n, 2);
    T* dgamma = dgamma_out ? dgamma_out.data() : nullptr;
    T* dbeta = dbeta_out ? dbeta_out.data() : nullptr;
    auto add_gamma_beta_row = [&](std::size_t r) {
        const T *xr = x + r * W, *gr = g + r * W;
        const T mu = stats[2 * r], rstd = stats[2 * r + 1];
        if (dgamma)
            for (std::size_t c = 0; c < W; ++c) dgamma[c] += gr[c] * ((xr[c] - mu) * rstd);
        if (dbeta)
            for (std::size_t c = 0; c < W; ++c) dbeta[c] += gr[c];
    };
    bool gamma_beta_done = false;
    if (const GradientOut<T> gx = t.gradient_to_write(n, 0)) {
        T* dx = gx.data();
        const bool assign = !gx.add;
        parallel_for(R, R * W, [&](std::size_t r0, std::size_t r1) {
            // One chunk holding every row (one thread, or a small input): dγ and dβ ride on this pass, in row
            // order, while the row is in cache; otherwise they get their own pass below.
            const bool with_gamma_beta = r0 == 0 && r1 == R;
            for (std::size_t r = r0; r < r1; ++r) {
                const T *xr = x + r * W, *gr = g + r * W;
                const T mu = stats[2 * r], rstd = stats[2 * r + 1];
                auto [mean_g, mean_gx] = row_grad_sums(xr, gr, gamma, W, mu, rstd);  // then mean(ĝ), mean(ĝ ⊙ x̂)
                mean_g /= T(W);
                mean_gx /= T(W);
                T* dr = dx + r * W;
                for (std::size_t c = 0; c < W; ++c) {
                    const T v = rstd * (gr[c] * gamma[c] - mean_g - (xr[c] - mu) * rstd * mean_gx);
                    dr[c] = assign ? v : dr[c] + v;
                }
                if (with_gamma_beta) add_gamma_beta_row(r);
            }
            if (with_gamma_beta) gamma_beta_done = true;
        });
    }
    if (!gamma_beta_done && (dgamma || dbeta))
        for (std::size_t r = 0; r < R; ++r) add_gamma_beta_row(r);
}

// Graph rule: the VJP above with tape ops, x̂ and rstd recomputed as ops of x (so that they carry x's
// dependence into the next order):
//   μ = mean_c x,  x̃ = x − μ,  rstd = (mean_c x̃² + eps)^(−1/2),  x̂ = x̃ ⊙ rstd,  ĝ = dy ⊙ γ
//   dγ = Σ_r dy ⊙ x̂,  dβ = Σ_r dy,  dx = rstd ⊙ (ĝ − mean_c ĝ − x̂ ⊙ mean_c(ĝ ⊙ x̂))
template <class T>
void layer_norm_vjp_graph(const GraphVjp<T>& c) {
    const double eps = c.tape.node(c.node).template attributes<LayerNormAttributes>().eps;
    if (c.needed[2]) c.din[2] = sum(c.dy, 0);
    if (!c.needed[0] && !c.needed[1]) return;  // dβ alone needs no statistics
    const Var<T> x = c.input(0), gamma = c.input(1);
    const Var<T> centred = sub(x, mean(x, 1));
    const Var<T> rstd = pow(add(mean(square(centred), 1), eps), -0.5);
    const Var<T> xhat = mul(centred, rstd);
    if (c.needed[0]) {
        const Var<T> ghat = mul(c.dy, gamma);
        c.din[0] = mul(rstd, sub(sub(ghat, mean(ghat, 1)), mul(xhat, mean(mul(ghat, xhat), 1))));
    }
    if (c.needed[1]) c.din[1] = sum(mul(c.dy, xhat), 0);
}

template <class T>
const OpDef<T> layer_norm_def{"layer_norm", layer_norm_forward<T>, layer_norm_vjp<T>, layer_norm_vjp_graph<T>};

}  // namespace

template <class T>
Var<T> layer_norm(const Var<T>& x, const Var<T>& gamma, const Var<T>& beta, double eps) {
    Tape<T>& t = x.tape();
    const Shape sx = t.shape(x, "layer_norm"), sg = t.shape(gamma, "layer_norm"), sb = t.shape(beta, "layer_norm");
    if (sx[0] * sx[1] == 0) throw ShapeError("layer_norm: x is " + shape_str(sx) + ", expected a non-empty matrix");
    if (sg != Shape{1, sx[1]} || sb != Shape{1, sx[1]})
        throw ShapeError("layer_norm: x is " + shape_str(sx) + ", gamma " + shape_str(sg) + ", beta " + shape_str(sb) +
                         " (expected gamma and beta 1x" + std::to_string(sx[1]) + ")");
    if (!(std::isfinite(eps) && eps > 0))
        throw DomainError("layer_norm: eps must be finite and > 0, got " + std::to_string(eps));
    Node<T>& n = t.push(layer_norm_def<T>, {x, gamma, beta}, sx);
    n.set_attributes(LayerNormAttributes{eps});
    n.saved.resize({sx[0], 2});  // same shape as last step: keeps its memory
    return t.commit(n);
}

template Var<float> layer_norm(const Var<float>&, const Var<float>&, const Var<float>&, double);
template Var<double> layer_norm(const Var<double>&, const Var<double>&, const Var<double>&, double);

}  // namespace tapegrad
