// Elementwise ops: each rule states the forward y = f(x) and its derivative next to it; one generic
// forward and one generic VJP (dx += dy ⊙ f'(x)) serve the whole table.
#include "tapegrad/autodiff/ops/elementwise.hpp"

#include "tapegrad/autodiff/detail/simd.hpp"
#include "tapegrad/autodiff/parallel.hpp"
#include "tapegrad/autodiff/ops/reduce.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace tapegrad {
namespace {

template <class T>
T sigmoid_of(T x) {
    // Stable on both tails: never exponentiates a large positive number.
    if (x >= 0) return T(1) / (T(1) + std::exp(-x));
    const T e = std::exp(x);
    return e / (T(1) + e);
}

// GELU(x) = x·Φ(x), Φ(x) = ½(1 + erf(x/√2)) = ½·erfc(−x/√2);  GELU'(x) = Φ(x) + x·φ(x), φ(x) = e^{−x²/2}/√(2π).
// The erfc form: for x ≪ 0, 1 + erf(x/√2) cancels to a few correct digits; erfc(−x/√2) keeps them all.
template <class T>
T gelu_of(T x) {
    return T(0.5) * x * std::erfc(-x / std::numbers::sqrt2_v<T>);
}
template <class T>
T gelu_grad_of(T x) {
    const T cdf = T(0.5) * std::erfc(-x / std::numbers::sqrt2_v<T>);
    const T pdf = std::exp(T(-0.5) * x * x) / std::sqrt(T(2) * std::numbers::pi_v<T>);
    return cdf + x * pdf;
}

template <class T>
T gelu_second_of(T x) {
    return std::exp(T(-0.5) * x * x) / std::sqrt(T(2) * std::numbers::pi_v<T>) * (T(2) - x * x);
}

bool is_integer(double p) { return std::floor(p) == p; }

// The attribute of the unary ops: the scalar of add_scalar, mul_scalar, rsub, rdiv and pow.
struct ScalarAttribute {
    double s;
};

// 1 where x > 0, else 0, as a constant: relu's derivative, whose own derivative is 0.
template <class T>
Var<T> step_mask(const Var<T>& x) {
    Tensor<T> mask(shape_of(x.value()));
    std::transform(x.value().begin(), x.value().end(), mask.begin(), [](T v) { return T(v > T(0) ? 1 : 0); });
    return x.tape().constant(mask);
}

// ── The unary derivative table ──
// Columns: op name | y = f(x, s) | dy/dx = df(x, y, s) | domain of x (checked before recording).
// s is the op's scalar attribute (ScalarAttribute); it is unused by the ops that have none.
#define TAPEGRAD_UNARY_RULE(NAME, F, DF, DOMAIN)                                   \
    struct NAME##_rule {                                                            \
        static constexpr const char* name = #NAME;                                  \
        template <class T>                                                          \
        static T f([[maybe_unused]] T x, [[maybe_unused]] T s) { return F; }        \
        template <class T>                                                          \
        static T df([[maybe_unused]] T x, [[maybe_unused]] T y, [[maybe_unused]] T s) { return DF; } \
        template <class T>                                                          \
        static bool domain([[maybe_unused]] T x, [[maybe_unused]] T s) { return DOMAIN; } \
    };

TAPEGRAD_UNARY_RULE(neg,        -x,                   T(-1),                true)
TAPEGRAD_UNARY_RULE(exp,        std::exp(x),          y,                    true)
TAPEGRAD_UNARY_RULE(log,        std::log(x),          T(1) / x,             x >= T(0))
TAPEGRAD_UNARY_RULE(sqrt,       std::sqrt(x),         T(0.5) / y,           x >= T(0))
TAPEGRAD_UNARY_RULE(square,     x * x,                T(2) * x,             true)
TAPEGRAD_UNARY_RULE(tanh,       std::tanh(x),         T(1) - y * y,         true)
TAPEGRAD_UNARY_RULE(sigmoid,    sigmoid_of(x),        y * (T(1) - y),       true)
TAPEGRAD_UNARY_RULE(relu,       x > T(0) ? x : T(0),  T(x > T(0) ? 1 : 0),  true)  // relu'(0) = 0, as torch
TAPEGRAD_UNARY_RULE(gelu,       gelu_of(x),           gelu_grad_of(x),      true)
// GELU' as an op of its own, for gelu's graph rule: GELU''(x) = 2φ(x) − x²φ(x) = φ(x)(2 − x²)
TAPEGRAD_UNARY_RULE(gelu_grad,  gelu_grad_of(x),      gelu_second_of(x),    true)
TAPEGRAD_UNARY_RULE(pow,        std::pow(x, s),       s * std::pow(x, s - T(1)), x >= T(0) || is_integer(double(s)))
TAPEGRAD_UNARY_RULE(add_scalar, x + s,                T(1),                 true)
TAPEGRAD_UNARY_RULE(mul_scalar, x * s,                s,                    true)
TAPEGRAD_UNARY_RULE(rsub,       s - x,                T(-1),                true)
TAPEGRAD_UNARY_RULE(rdiv,       s / x,                -y / x,               true)
#undef TAPEGRAD_UNARY_RULE

// ── Vector forms of the transcendental rows ──
// The same functions as the table's f, evaluated on xsimd batches (8 floats with AVX2, 16 with AVX-512):
// glibc's scalar tanhf/expf/erff cost 10–20 ns an element, which made tanh three quarters of a small
// model's step. xsimd's functions are accurate to a few ulp (tested against the scalar ones), except its
// double erfc (about 4e-12 relative): gelu in double keeps the scalar std::erfc. Rows without a vector form
// for T use the scalar f.
template <class Rule>
struct vector_form {
    template <class T>
    static constexpr bool applies = false;
};
struct vector_form_for_all_types {
    template <class T>
    static constexpr bool applies = true;
};
template <>
struct vector_form<tanh_rule> : vector_form_for_all_types {
    template <class B>
    static B f(const B& x) { return xsimd::tanh(x); }
};
template <>
struct vector_form<exp_rule> : vector_form_for_all_types {
    template <class B>
    static B f(const B& x) { return xsimd::exp(x); }
};
template <>
struct vector_form<sigmoid_rule> : vector_form_for_all_types {
    // As sigmoid_of: e = exp(−|x|) never overflows; σ(x) = 1/(1+e) for x ≥ 0, e/(1+e) for x < 0.
    template <class B>
    static B f(const B& x) {
        const B e = xsimd::exp(-xsimd::abs(x));
        const B r = B(1) / (B(1) + e);
        return xsimd::select(x >= B(0), r, e * r);
    }
};
template <>
struct vector_form<gelu_rule> {
    template <class T>
    static constexpr bool applies = std::is_same_v<T, float>;
    template <class B>
    static B f(const B& x) {
        using T = typename B::value_type;
        return B(T(0.5)) * x * xsimd::erfc(-x * B(T(1) / std::numbers::sqrt2_v<T>));
    }
    // GELU'(x) = Φ(x) + x·φ(x), with Φ(x) = y/x read off the forward's output y = x·Φ(x) (two roundings:
    // a few ulp; Φ(0) = ½), so that backward needs one exp and no second erfc.
    template <class B>
    static B df(const B& x, const B& y) {
        using T = typename B::value_type;
        const B cdf = xsimd::select(x == B(T(0)), B(T(0.5)), y / x);
        const B pdf = xsimd::exp(B(T(-0.5)) * x * x) * B(T(1) / std::sqrt(T(2) * std::numbers::pi_v<T>));
        return cdf + x * pdf;
    }
};

template <>
struct vector_form<gelu_grad_rule> {  // GELU'(x) = Φ(x) + x·φ(x), float only as gelu's
    template <class T>
    static constexpr bool applies = std::is_same_v<T, float>;
    template <class B>
    static B f(const B& x) {
        using T = typename B::value_type;
        const B cdf = B(T(0.5)) * xsimd::erfc(-x * B(T(1) / std::numbers::sqrt2_v<T>));
        return cdf + x * xsimd::exp(B(T(-0.5)) * x * x) * B(T(1) / std::sqrt(T(2) * std::numbers::pi_v<T>));
    }
};

// Rows whose derivative has a vector form too (of x and y).
template <class Rule>
inline constexpr bool has_vector_df = false;
template <>
inline constexpr bool has_vector_df<gelu_rule> = true;

template <class T, class Rule>
void unary_forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& x = t.input(n, 0).value;
    const T s = T(n.template attributes<ScalarAttribute>().s);
    const T* xp = x.data();
    T* yp = n.value.data();
    parallel_for(x.size(), x.size(), [&](std::size_t b, std::size_t e) {
        if constexpr (vector_form<Rule>::template applies<T>)
            detail::map_batches(xp + b, yp + b, e - b, [](const auto& v) { return vector_form<Rule>::f(v); });
        else
            for (std::size_t i = b; i < e; ++i) yp[i] = Rule::f(xp[i], s);
    });
}

// dx += dy ⊙ f'(x, y)
// In place where the tape allows (gradient_to_write_in_place): dx is then dy's own buffer, each element read
// before it is written.
template <class T, class Rule>
void unary_vjp(Tape<T>& t, Node<T>& n) {
    const T* dy = n.grad.data();
    const GradientOut<T> gx = t.gradient_to_write_in_place(n, 0);
    if (!gx) return;
    const bool overwrite = !gx.add;
    const Tensor<T>& x = t.input(n, 0).value;
    const T s = T(n.template attributes<ScalarAttribute>().s);
    const T *xp = x.data(), *yp = n.value.data();
    T* dx = gx.data();
    parallel_for(x.size(), x.size(), [&](std::size_t b, std::size_t e) {
        if constexpr (has_vector_df<Rule> && vector_form<Rule>::template applies<T>)
            detail::map3_batches(xp + b, yp + b, dy + b, dx + b, e - b, !overwrite,
                                 [](const auto& xv, const auto& yv, const auto& g) { return g * vector_form<Rule>::df(xv, yv); });
        else if (overwrite)
            for (std::size_t i = b; i < e; ++i) dx[i] = dy[i] * Rule::df(xp[i], yp[i], s);
        else
            for (std::size_t i = b; i < e; ++i) dx[i] += dy[i] * Rule::df(xp[i], yp[i], s);
    });
}

// ── The graph rules of the unary table: dx = dy ⊙ f'(x) written with tape ops of dy, x, y = f(x) and the
// scalar s. Each is built from rows of the table (or mul, div), so their own rules apply in turn: any order.
template <class T>
Var<T> record_gelu_grad(const Var<T>& x);

// pow's dx = dy ⊙ s·x^(s−1), with the exponents whose derivative would be 0·x⁻¹ (NaN at x = 0) taken apart:
// s = 1 gives dy, s = 0 gives 0 (as torch does).
template <class T>
Var<T> pow_dx(const Var<T>& dy, const Var<T>& x, double s) {
    if (s == 1.0) return dy;
    if (s == 0.0) return mul(dy, 0.0);
    return mul(dy, mul(pow(x, s - 1.0), s));
}

// gelu_grad's dx = dy ⊙ GELU''(x), GELU''(x) = φ(x)·(2 − x²), φ(x) = e^(−x²/2)/√(2π).
template <class T>
Var<T> gelu_grad_dx(const Var<T>& dy, const Var<T>& x) {
    const Var<T> x2 = square(x);
    return mul(dy, mul(exp(mul(x2, -0.5)), rsub(2.0, x2)) * (1.0 / std::sqrt(2.0 * std::numbers::pi)));
}

template <class Rule>
struct unary_graph;
#define TAPEGRAD_UNARY_GRAPH(NAME, DX)                                                                        \
    template <>                                                                                              \
    struct unary_graph<NAME##_rule> {                                                                        \
        template <class T>                                                                                   \
        static Var<T> dx(const Var<T>& dy, [[maybe_unused]] const Var<T>& x, [[maybe_unused]] const Var<T>& y, \
                         [[maybe_unused]] double s) { return DX; }                                           \
    };
TAPEGRAD_UNARY_GRAPH(neg,        neg(dy))
TAPEGRAD_UNARY_GRAPH(exp,        mul(dy, y))
TAPEGRAD_UNARY_GRAPH(log,        div(dy, x))
TAPEGRAD_UNARY_GRAPH(sqrt,       mul(div(dy, y), 0.5))
TAPEGRAD_UNARY_GRAPH(square,     mul(mul(dy, x), 2.0))
TAPEGRAD_UNARY_GRAPH(tanh,       mul(dy, rsub(1.0, square(y))))
TAPEGRAD_UNARY_GRAPH(sigmoid,    mul(dy, mul(y, rsub(1.0, y))))
TAPEGRAD_UNARY_GRAPH(relu,       mul(dy, step_mask(x)))  // relu'' = 0: the mask is a constant
TAPEGRAD_UNARY_GRAPH(gelu,       mul(dy, record_gelu_grad(x)))
TAPEGRAD_UNARY_GRAPH(gelu_grad,  gelu_grad_dx(dy, x))
TAPEGRAD_UNARY_GRAPH(pow,        pow_dx(dy, x, s))
TAPEGRAD_UNARY_GRAPH(add_scalar, dy)
TAPEGRAD_UNARY_GRAPH(mul_scalar, mul(dy, s))
TAPEGRAD_UNARY_GRAPH(rsub,       neg(dy))
TAPEGRAD_UNARY_GRAPH(rdiv,       neg(div(mul(dy, y), x)))
#undef TAPEGRAD_UNARY_GRAPH

template <class T, class Rule>
void unary_vjp_graph(const GraphVjp<T>& c) {
    if (!c.needed[0]) return;
    const double s = c.tape.node(c.node).template attributes<ScalarAttribute>().s;
    c.din[0] = unary_graph<Rule>::dx(c.dy, c.input(0), c.output(), s);
}

template <class T, class Rule>
const OpDef<T> unary_def{Rule::name, unary_forward<T, Rule>, unary_vjp<T, Rule>, unary_vjp_graph<T, Rule>};

template <class T, class Rule>
Var<T> record_unary(const Var<T>& x, double s = 0.0) {
    Tape<T>& t = x.tape();
    const Tensor<T>& xv = t.node(x, Rule::name).value;
    const T* xp = xv.data();
    for (std::size_t i = 0; i < xv.size(); ++i)
        if (!Rule::domain(xp[i], T(s)))
            throw DomainError(std::string(Rule::name) + ": input " + std::to_string(double(xp[i])) + " at (" +
                              std::to_string(i / xv.shape()[1]) + ", " + std::to_string(i % xv.shape()[1]) +
                              ") of a " + shape_str(shape_of(xv)) + " tensor is outside the domain" +
                              (s != 0.0 ? " (exponent " + std::to_string(s) + ")" : std::string()));
    Node<T>& n = t.push(unary_def<T, Rule>, {x}, shape_of(xv));
    n.set_attributes(ScalarAttribute{s});
    return t.commit(n);
}

template <class T>
Var<T> record_gelu_grad(const Var<T>& x) {
    return record_unary<T, gelu_grad_rule>(x);
}

// ── The binary derivative table (with broadcasting) ──
// Columns: op name | y = f(a, b) | dy/da | dy/db.
#define TAPEGRAD_BINARY_RULE(NAME, F, DA, DB)                                                  \
    struct NAME##_rule {                                                                        \
        static constexpr const char* name = #NAME;                                              \
        template <class T>                                                                      \
        static T f(T a, T b) { return F; }                                                      \
        template <class T>                                                                      \
        static T da([[maybe_unused]] T a, [[maybe_unused]] T b, [[maybe_unused]] T y) { return DA; } \
        template <class T>                                                                      \
        static T db([[maybe_unused]] T a, [[maybe_unused]] T b, [[maybe_unused]] T y) { return DB; } \
    };

TAPEGRAD_BINARY_RULE(add, a + b, T(1),     T(1))
TAPEGRAD_BINARY_RULE(sub, a - b, T(1),     T(-1))
TAPEGRAD_BINARY_RULE(mul, a * b, b,        a)
TAPEGRAD_BINARY_RULE(div, a / b, T(1) / b, -y / b)
#undef TAPEGRAD_BINARY_RULE

// Row and column strides of an operand read at output position (r, c): 0 along a broadcast dimension.
struct Strides {
    std::size_t row, col;
};
Strides broadcast_strides(const Shape& s) { return {s[0] == 1 ? 0 : s[1], s[1] == 1 ? 0u : 1u}; }

template <class T, class Rule>
void binary_forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& a = t.input(n, 0).value;
    const Tensor<T>& b = t.input(n, 1).value;
    T* y = n.value.data();
    const std::size_t R = n.rows(), C = n.cols();
    const T *ap = a.data(), *bp = b.data();
    if (a.size() == b.size() && a.size() == n.value.size()) {
        for (std::size_t i = 0; i < R * C; ++i) y[i] = Rule::f(ap[i], bp[i]);
        return;
    }
    const Strides sa = broadcast_strides(shape_of(a)), sb = broadcast_strides(shape_of(b));
    // Row by row; an operand's column stride is 1 (a row of its own, or a bias row) or 0 (a column or a 1×1,
    // one value for the whole row): the loops are instantiated for each, so that they vectorise.
    const auto rows = [&]<bool a_row, bool b_row>() {
        for (std::size_t r = 0; r < R; ++r) {
            const T *ar = ap + r * sa.row, *br = bp + r * sb.row;
            T* yr = y + r * C;
            for (std::size_t c = 0; c < C; ++c) yr[c] = Rule::f(ar[a_row ? c : 0], br[b_row ? c : 0]);
        }
    };
    if (sa.col == 1 && sb.col == 1) rows.template operator()<true, true>();
    else if (sa.col == 1) rows.template operator()<true, false>();
    else if (sb.col == 1) rows.template operator()<false, true>();
    else rows.template operator()<false, false>();
}

// d(operand)[index] += dy ⊙ ∂f/∂(operand), for one operand (which = 0: a, 1: b); a broadcast index repeats,
// so its gradient is summed. An operand of the output's shape is written (gradient_to_write: its first gradient
// is assigned, not added onto zeros); a broadcast one is added into (gradient_to_add).
template <class T, class Rule, int which>
void binary_vjp_operand(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& a = t.input(n, 0).value;
    const Tensor<T>& b = t.input(n, 1).value;
    const std::size_t R = n.rows(), C = n.cols();
    const bool full = (which == 0 ? a.size() : b.size()) == R * C;
    const GradientOut<T> g = full ? t.gradient_to_write(n, which) : t.gradient_to_add(n, which);
    if (!g) return;
    const bool overwrite = !g.add;
    const T *ap = a.data(), *bp = b.data(), *y = n.value.data(), *dy = n.grad.data();
    T* gp = g.data();
    const Strides sa = broadcast_strides(shape_of(a)), sb = broadcast_strides(shape_of(b));
    const auto d = [](T av, T bv, T yv) { return which == 0 ? Rule::da(av, bv, yv) : Rule::db(av, bv, yv); };
    const Strides so = which == 0 ? sa : sb;
    // Row by row, as the forward: column strides 1 or 0 as template flags. The operand's own gradient row is
    // written element by element (stride 1), or, for a column or 1×1 operand (stride 0), one value that the
    // row's terms are added into in column order (the same arithmetic as element by element).
    const auto rows = [&]<bool a_row, bool b_row>() {
        constexpr bool own_row = which == 0 ? a_row : b_row;
        for (std::size_t r = 0; r < R; ++r) {
            const T *ar = ap + r * sa.row, *br = bp + r * sb.row, *yr = y + r * C, *dyr = dy + r * C;
            T* gr = gp + r * so.row;
            if constexpr (own_row) {
                if (overwrite)
                    for (std::size_t c = 0; c < C; ++c) gr[c] = dyr[c] * d(ar[a_row ? c : 0], br[b_row ? c : 0], yr[c]);
                else
                    for (std::size_t c = 0; c < C; ++c) gr[c] += dyr[c] * d(ar[a_row ? c : 0], br[b_row ? c : 0], yr[c]);
            } else {
                if (C == 0) continue;
                std::size_t c = 0;
                // overwrite only for an operand of the output's shape (R×1 of R×1): its first term assigns
                T acc = overwrite ? dyr[c++] * d(ar[0], br[0], yr[0]) : gr[0];
                for (; c < C; ++c) acc += dyr[c] * d(ar[a_row ? c : 0], br[b_row ? c : 0], yr[c]);
                gr[0] = acc;
            }
        }
    };
    if (sa.col == 1 && sb.col == 1) rows.template operator()<true, true>();
    else if (sa.col == 1) rows.template operator()<true, false>();
    else if (sb.col == 1) rows.template operator()<false, true>();
    else rows.template operator()<false, false>();
}

template <class T, class Rule>
void binary_vjp(Tape<T>& t, Node<T>& n) {
    binary_vjp_operand<T, Rule, 0>(t, n);
    binary_vjp_operand<T, Rule, 1>(t, n);  // after a's: x + x adds onto what a's pass wrote
}

// ── The graph rules of the binary table: the same derivatives as tape ops, each operand's summed back to its
// own shape over the dimensions it was broadcast along.
template <class Rule>
struct binary_graph;
#define TAPEGRAD_BINARY_GRAPH(NAME, DA, DB)                                                               \
    template <>                                                                                          \
    struct binary_graph<NAME##_rule> {                                                                   \
        template <class T>                                                                               \
        static Var<T> da(const Var<T>& dy, [[maybe_unused]] const Var<T>& a, [[maybe_unused]] const Var<T>& b, \
                         [[maybe_unused]] const Var<T>& y) { return DA; }                                \
        template <class T>                                                                               \
        static Var<T> db(const Var<T>& dy, [[maybe_unused]] const Var<T>& a, [[maybe_unused]] const Var<T>& b, \
                         [[maybe_unused]] const Var<T>& y) { return DB; }                                \
    };
TAPEGRAD_BINARY_GRAPH(add, dy,          dy)
TAPEGRAD_BINARY_GRAPH(sub, dy,          neg(dy))
TAPEGRAD_BINARY_GRAPH(mul, mul(dy, b),  mul(dy, a))
TAPEGRAD_BINARY_GRAPH(div, div(dy, b),  neg(div(mul(dy, y), b)))
#undef TAPEGRAD_BINARY_GRAPH

template <class T, class Rule>
void binary_vjp_graph(const GraphVjp<T>& c) {
    const Var<T> a = c.input(0), b = c.input(1), y = c.output();
    if (c.needed[0]) c.din[0] = sum_to_shape(binary_graph<Rule>::da(c.dy, a, b, y), a.shape());
    if (c.needed[1]) c.din[1] = sum_to_shape(binary_graph<Rule>::db(c.dy, a, b, y), b.shape());
}

template <class T, class Rule>
const OpDef<T> binary_def{Rule::name, binary_forward<T, Rule>, binary_vjp<T, Rule>, binary_vjp_graph<T, Rule>};

template <class T, class Rule>
Var<T> record_binary(const Var<T>& a, const Var<T>& b) {
    Tape<T>& t = a.tape();
    const Shape sa = t.shape(a, Rule::name), sb = t.shape(b, Rule::name);
    Shape out{};
    for (int k = 0; k < 2; ++k) {
        if (sa[k] != sb[k] && sa[k] != 1 && sb[k] != 1)
            throw ShapeError(std::string(Rule::name) + ": shapes " + shape_str(sa) + " and " + shape_str(sb) +
                             " do not broadcast (each dimension must be equal or 1)");
        out[k] = std::max(sa[k], sb[k]);
    }
    return t.commit(t.push(binary_def<T, Rule>, {a, b}, out));
}

}  // namespace

template <class T> Var<T> add(const Var<T>& a, const Var<T>& b) { return record_binary<T, add_rule>(a, b); }
template <class T> Var<T> sub(const Var<T>& a, const Var<T>& b) { return record_binary<T, sub_rule>(a, b); }
template <class T> Var<T> mul(const Var<T>& a, const Var<T>& b) { return record_binary<T, mul_rule>(a, b); }
template <class T> Var<T> div(const Var<T>& a, const Var<T>& b) { return record_binary<T, div_rule>(a, b); }

template <class T> Var<T> neg(const Var<T>& x) { return record_unary<T, neg_rule>(x); }
template <class T> Var<T> exp(const Var<T>& x) { return record_unary<T, exp_rule>(x); }
template <class T> Var<T> log(const Var<T>& x) { return record_unary<T, log_rule>(x); }
template <class T> Var<T> sqrt(const Var<T>& x) { return record_unary<T, sqrt_rule>(x); }
template <class T> Var<T> square(const Var<T>& x) { return record_unary<T, square_rule>(x); }
template <class T> Var<T> tanh(const Var<T>& x) { return record_unary<T, tanh_rule>(x); }
template <class T> Var<T> sigmoid(const Var<T>& x) { return record_unary<T, sigmoid_rule>(x); }
template <class T> Var<T> relu(const Var<T>& x) { return record_unary<T, relu_rule>(x); }
template <class T> Var<T> gelu(const Var<T>& x) { return record_unary<T, gelu_rule>(x); }
template <class T> Var<T> pow(const Var<T>& x, double p) { return record_unary<T, pow_rule>(x, p); }
template <class T> Var<T> add(const Var<T>& x, double s) { return record_unary<T, add_scalar_rule>(x, s); }
template <class T> Var<T> mul(const Var<T>& x, double s) { return record_unary<T, mul_scalar_rule>(x, s); }
template <class T> Var<T> rsub(double s, const Var<T>& x) { return record_unary<T, rsub_rule>(x, s); }
template <class T> Var<T> rdiv(double s, const Var<T>& x) { return record_unary<T, rdiv_rule>(x, s); }
template <class T> Var<T> div(const Var<T>& x, double s) {
    if (s == 0.0) throw DomainError("div: division of a " + shape_str(x.tape().shape(x, "div")) + " tensor by the scalar 0");
    return record_unary<T, mul_scalar_rule>(x, 1.0 / s);
}

#define TAPEGRAD_INSTANTIATE(T)                                   \
    template Var<T> add(const Var<T>&, const Var<T>&);            \
    template Var<T> sub(const Var<T>&, const Var<T>&);            \
    template Var<T> mul(const Var<T>&, const Var<T>&);            \
    template Var<T> div(const Var<T>&, const Var<T>&);            \
    template Var<T> neg(const Var<T>&);                           \
    template Var<T> exp(const Var<T>&);                           \
    template Var<T> log(const Var<T>&);                           \
    template Var<T> sqrt(const Var<T>&);                          \
    template Var<T> square(const Var<T>&);                        \
    template Var<T> tanh(const Var<T>&);                          \
    template Var<T> sigmoid(const Var<T>&);                       \
    template Var<T> relu(const Var<T>&);                          \
    template Var<T> gelu(const Var<T>&);                          \
    template Var<T> pow(const Var<T>&, double);                   \
    template Var<T> add(const Var<T>&, double);                   \
    template Var<T> mul(const Var<T>&, double);                   \
    template Var<T> div(const Var<T>&, double);                   \
    template Var<T> rsub(double, const Var<T>&);                  \
    template Var<T> rdiv(double, const Var<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
