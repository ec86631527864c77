// Gradients of gradients (autodiff/grad.hpp): every op's graph rule checked by gradgradcheck in double, the
// helpers against values derived by hand, the refusal of ops without a rule, and the first-order path unchanged.
#include <cmath>

#include "test_util.hpp"

using namespace tapegrad;
using test::random_matrix;

namespace {

// Uniform in [lo, hi): inputs inside an op's domain (log, sqrt, pow of a fractional exponent).
Tensor<double> positive(std::size_t r, std::size_t c, unsigned seed) { return random_matrix(r, c, seed, 0.5, 2.0); }

// A constant on the tape of v.
Var<double> constant_on(const Var<double>& v, const Tensor<double>& value) { return v.tape().constant(value); }

void require_gradgrad(const GradcheckFunction& f, const std::vector<Tensor<double>>& inputs) {
    const GradcheckReport r = gradgradcheck(f, inputs);
    INFO(r);
    REQUIRE(r);
}

// A custom op y = x³ (forward and first-order VJP 3x²·dy) with the given graph rule (none when empty).
Var<double> cube_op(const Var<double>& x, CustomVjpGraph<double> vjp_graph) {
    auto fns = std::make_shared<CustomOpFns<double>>();
    fns->name = "cube";
    fns->forward = [](auto in, Tensor<double>& out) {
        for (std::size_t i = 0; i < out.size(); ++i) out.data()[i] = std::pow(in[0]->data()[i], 3);
    };
    fns->vjp = [](auto in, const Tensor<double>&, const Tensor<double>& dout, auto grads) {
        if (grads[0])
            for (std::size_t i = 0; i < dout.size(); ++i) grads[0]->data()[i] += 3 * std::pow(in[0]->data()[i], 2) * dout.data()[i];
    };
    fns->vjp_graph = std::move(vjp_graph);
    return custom_op<double>(fns, {x}, x.shape());
}

}  // namespace

TEST_CASE("gradgradcheck: every unary op", "[second_order]") {
    const Tensor<double> x = random_matrix(2, 3, 1), p = positive(2, 3, 2);
    // each op followed by a product with a second input, so that the second derivative is not trivially zero
    const Tensor<double> w = random_matrix(2, 3, 3);
    require_gradgrad([](const auto& v) { return neg(v[0]) * v[1] * v[0]; }, {x, w});
    require_gradgrad([](const auto& v) { return exp(v[0]) * v[1]; }, {x, w});
    require_gradgrad([](const auto& v) { return log(v[0]) * v[1]; }, {p, w});
    require_gradgrad([](const auto& v) { return sqrt(v[0]) * v[1]; }, {p, w});
    require_gradgrad([](const auto& v) { return square(v[0]) * v[1]; }, {x, w});
    require_gradgrad([](const auto& v) { return tanh(v[0]) * v[1]; }, {x, w});
    require_gradgrad([](const auto& v) { return sigmoid(v[0]) * v[1]; }, {x, w});
    require_gradgrad([](const auto& v) { return relu(v[0]) * v[1] * v[0]; }, {x, w});  // no element at 0
    require_gradgrad([](const auto& v) { return gelu(v[0]) * v[1]; }, {x, w});
    require_gradgrad([](const auto& v) { return pow(v[0], 3.0) * v[1]; }, {x, w});
    require_gradgrad([](const auto& v) { return pow(v[0], 1.5) * v[1]; }, {p, w});
    require_gradgrad([](const auto& v) { return (v[0] + 2.0) * v[1] * v[0]; }, {x, w});
    require_gradgrad([](const auto& v) { return (v[0] * 3.0) * v[1] * v[0]; }, {x, w});
    require_gradgrad([](const auto& v) { return (1.5 - v[0]) * v[1] * v[0]; }, {x, w});
    require_gradgrad([](const auto& v) { return (2.0 / v[0]) * v[1]; }, {p, w});
    require_gradgrad([](const auto& v) { return (v[0] / 4.0) * v[1] * v[0]; }, {x, w});
}

TEST_CASE("gradgradcheck: binary ops, with and without broadcasting", "[second_order]") {
    const Tensor<double> a = random_matrix(3, 4, 1), b = random_matrix(3, 4, 2), row = random_matrix(1, 4, 3),
                         col = random_matrix(3, 1, 4), one = random_matrix(1, 1, 5), pb = positive(3, 4, 6),
                         prow = positive(1, 4, 7);
    for (const auto& rhs : {b, row, col, one}) {
        require_gradgrad([](const auto& v) { return tanh(v[0] + v[1]); }, {a, rhs});
        require_gradgrad([](const auto& v) { return tanh(v[0] - v[1]); }, {a, rhs});
        require_gradgrad([](const auto& v) { return v[0] * v[1]; }, {a, rhs});
        require_gradgrad([](const auto& v) { return v[1] * v[0]; }, {a, rhs});
    }
    require_gradgrad([](const auto& v) { return v[0] / v[1]; }, {a, pb});
    require_gradgrad([](const auto& v) { return v[0] / v[1]; }, {a, prow});
    require_gradgrad([](const auto& v) { return v[0] * v[0]; }, {a});  // one input used twice
}

TEST_CASE("gradgradcheck: reductions, reshape, transpose and concat_cols", "[second_order]") {
    const Tensor<double> x = random_matrix(3, 4, 1), y = random_matrix(3, 2, 2);
    require_gradgrad([](const auto& v) { return square(sum(square(v[0]))); }, {x});
    require_gradgrad([](const auto& v) { return square(mean(tanh(v[0]))); }, {x});
    require_gradgrad([](const auto& v) { return square(sum(tanh(v[0]), 0)); }, {x});
    require_gradgrad([](const auto& v) { return square(sum(tanh(v[0]), 1)); }, {x});
    require_gradgrad([](const auto& v) { return square(mean(tanh(v[0]), 0)); }, {x});
    require_gradgrad([](const auto& v) { return square(mean(tanh(v[0]), 1)); }, {x});
    require_gradgrad([](const auto& v) { return tanh(reshape(square(v[0]), Shape{2, 6})); }, {x});
    require_gradgrad([](const auto& v) { return tanh(transpose(v[0]) * 2.0) * transpose(v[0]); }, {x});
    require_gradgrad([](const auto& v) { return square(concat_cols(std::vector{v[0], v[1], v[0]})); }, {x, y});
}

TEST_CASE("gradgradcheck: matmul, matmul_nt, addmm, affine", "[second_order]") {
    const Tensor<double> a = random_matrix(3, 4, 1), b = random_matrix(4, 2, 2), c = random_matrix(3, 2, 3),
                         bt = random_matrix(2, 4, 4), bias = random_matrix(1, 2, 5);
    require_gradgrad([](const auto& v) { return tanh(matmul(v[0], v[1])); }, {a, b});
    require_gradgrad([](const auto& v) { return tanh(matmul_nt(v[0], v[1])); }, {a, bt});
    require_gradgrad([](const auto& v) { return tanh(addmm(v[2], v[0], v[1])); }, {a, b, c});
    require_gradgrad([](const auto& v) { return tanh(affine(v[0], v[1], v[2])); }, {a, b, bias});
    require_gradgrad([](const auto& v) { return matmul(v[0], v[0]); }, {random_matrix(3, 3, 6)});  // x·x
}

TEST_CASE("gradgradcheck: softmax, log_softmax, cross_entropy with its options", "[second_order]") {
    const Tensor<double> x = random_matrix(4, 5, 1, -2.0, 2.0), w = random_matrix(4, 5, 2);
    require_gradgrad([](const auto& v) { return softmax(v[0]) * v[1]; }, {x, w});
    require_gradgrad([](const auto& v) { return log_softmax(v[0]) * v[1]; }, {x, w});
    const std::vector<std::int64_t> targets = {1, 4, 0, 1}, with_ignored = {1, -100, 0, 3};
    for (Reduction reduction : {Reduction::mean, Reduction::sum, Reduction::none})
        for (double smoothing : {0.0, 0.1}) {
            INFO("reduction " << int(reduction) << ", label smoothing " << smoothing);
            const CrossEntropyOptions o{.reduction = reduction, .label_smoothing = smoothing};
            require_gradgrad([&](const auto& v) { return cross_entropy(matmul(v[0], v[1]), targets, o); },
                             {x, random_matrix(5, 5, 3)});
            require_gradgrad([&](const auto& v) { return cross_entropy(v[0] * v[0], with_ignored, o); }, {x});
        }
}

TEST_CASE("gradgradcheck: layer_norm and embedding (repeated ids)", "[second_order]") {
    const Tensor<double> x = random_matrix(3, 5, 1), gamma = random_matrix(1, 5, 2, 0.5, 1.5),
                         beta = random_matrix(1, 5, 3), w = random_matrix(3, 5, 4);
    require_gradgrad([&](const auto& v) { return layer_norm(v[0], v[1], v[2]) * constant_on(v[0], w); }, {x, gamma, beta});
    const std::vector<std::int64_t> ids = {2, 0, 2, 1, 2};
    require_gradgrad([&](const auto& v) { return square(embedding(v[0], ids)); }, {random_matrix(4, 3, 5)});
}

TEST_CASE("third order: the gradient of a gradient penalty, through every kind of rule", "[second_order]") {
    // F(x, W) = ‖∇ₓ f‖², f = Σ gelu(layer_norm(x·W))·c + cross_entropy: gradgradcheck of F differentiates the
    // graph rules' own ops (gelu's gelu_grad, the embedding's scatter, softmax inside cross_entropy's rule).
    const Tensor<double> x = random_matrix(3, 4, 1), W = random_matrix(4, 5, 2), c = random_matrix(3, 5, 3),
                         E = random_matrix(4, 4, 4);
    const std::vector<std::int64_t> ids = {1, 3, 1}, targets = {0, 4, 2};
    require_gradgrad([&](const auto& v) {
        const Var<double> ones = constant_on(v[0], Tensor<double>({1, 4}, 1.0)), zeros = constant_on(v[0], Tensor<double>({1, 4}, 0.0));
        const Var<double> h = add(v[0], embedding(v[2], ids));
        const Var<double> f = add(sum(mul(gelu(matmul(layer_norm(h, ones, zeros), v[1])), constant_on(v[0], c))),
                                  cross_entropy(matmul(h, v[1]), targets));
        const std::vector<Var<double>> g = grad(f, {v[0], v[2]}, {.create_graph = true});
        return add(sum(square(g[0])), sum(square(g[1])));
    }, {x, W, E});
}

TEST_CASE("hvp of Σ tanh(W·x) equals Wᵀ·diag(−2 t (1 − t²))·W·v, derived by hand", "[second_order]") {
    const std::size_t m = 4, n = 3;
    const Tensor<double> W = random_matrix(m, n, 1), x = random_matrix(n, 1, 2), v = random_matrix(n, 1, 3);
    const auto f = [&](const std::vector<Var<double>>& in) { return sum(tanh(matmul(in[0].tape().constant(W), in[0]))); };
    const Tensor<double> hv = hvp<double>(f, {x}, {v})[0];
    // by hand: a = W·x, t = tanh(a), ∇f = Wᵀ(1 − t²), H = Wᵀ diag(−2t(1 − t²)) W
    for (std::size_t i = 0; i < n; ++i) {
        double expected = 0;
        for (std::size_t k = 0; k < m; ++k) {
            double a = 0, wv = 0;
            for (std::size_t j = 0; j < n; ++j) {
                a += W(k, j) * x(j, 0);
                wv += W(k, j) * v(j, 0);
            }
            const double t = std::tanh(a);
            expected += W(k, i) * (-2.0 * t * (1.0 - t * t)) * wv;
        }
        CHECK(hv(i, 0) == Approx(expected).epsilon(1e-13).margin(1e-15));
    }
}

TEST_CASE("hessian of xᵀ·A·x is A + Aᵀ, and of a sum of cubes diag(6x); jacobian of x·B is B's transpose blocks", "[second_order]") {
    const Tensor<double> A = random_matrix(3, 3, 1), x = random_matrix(1, 3, 2), B = random_matrix(3, 2, 3);
    const Tensor<double> H = hessian<double>([&](const auto& v) { return sum(mul(matmul(v[0], v[0].tape().constant(A)), v[0])); }, x);
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 3; ++j) CHECK(H(i, j) == Approx(A(i, j) + A(j, i)).epsilon(1e-14));
    const Tensor<double> C = hessian<double>([](const auto& v) { return sum(pow(v[0], 3.0)); }, x);
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 3; ++j) CHECK(C(i, j) == Approx(i == j ? 6.0 * x(0, i) : 0.0).epsilon(1e-14).margin(1e-15));
    // y = x·B (1×2): ∂y_o/∂x_j = B(j, o)
    const Tensor<double> J = jacobian<double>([&](const auto& v) { return matmul(v[0], v[0].tape().constant(B)); }, x);
    REQUIRE(J.shape()[0] == 2);
    REQUIRE(J.shape()[1] == 3);
    for (std::size_t o = 0; o < 2; ++o)
        for (std::size_t j = 0; j < 3; ++j) CHECK(J(o, j) == B(j, o));
    // a linear function has a zero Hessian
    const Tensor<double> Z = hessian<double>([](const auto& v) { return sum(v[0] * 2.0); }, x);
    for (double z : Z) CHECK(z == 0.0);
}

TEST_CASE("a gradient penalty ‖∇ₓD(x)‖² trains: its parameter gradient agrees with finite differences", "[second_order]") {
    // D(x) = Σ tanh(x·W1)·W2 (a critic), penalty P(W1, W2) = Σ_rows (‖∇ₓD‖ − 1)² as in WGAN-GP
    const Tensor<double> x = random_matrix(3, 4, 1), W1 = random_matrix(4, 5, 2), W2 = random_matrix(5, 1, 3);
    const auto penalty = [&](const std::vector<Var<double>>& w) {
        Tape<double>& t = w[0].tape();
        const Var<double> xv = t.variable(x);
        const Var<double> d = sum(matmul(tanh(matmul(xv, w[0])), w[1]));
        const Var<double> g = grad(d, {xv}, {.create_graph = true})[0];  // 3×4: each row its own ∇ₓD
        const Var<double> norms = sqrt(sum(square(g), 1));
        return sum(square(norms - 1.0));
    };
    const GradcheckReport r = gradcheck(penalty, {W1, W2});
    INFO(r);
    REQUIRE(r);
}

TEST_CASE("grad without create_graph is backward's first-order path, bit for bit, and accumulates nothing", "[second_order]") {
    Tape<double> t;
    const Var<double> W = t.parameter(random_matrix(4, 3, 1));
    const Var<double> x = t.variable(random_matrix(5, 4, 2));
    const std::vector<std::int64_t> targets = {0, 2, 1, 1, 0};
    const Var<double> loss = cross_entropy(gelu(matmul(x, W)), targets);
    const std::vector<Var<double>> g = grad(loss, {W, x});
    CHECK_FALSE(W.has_grad());  // nothing accumulated into the parameter
    CHECK_FALSE(g[0].requires_grad());  // constants
    loss.backward();
    CHECK(test::bitwise_equal(g[0].value(), W.grad()));
    CHECK(test::bitwise_equal(g[1].value(), x.grad()));
    // and grad() leaves a gradient that was there as it was
    const Tensor<double> before = W.grad();
    (void)grad(loss, {x});
    CHECK(test::bitwise_equal(W.grad(), before));
    // also when a VJP throws inside grad(): the gradient and the tape's release flag are put back
    t.set_release_intermediate_gradients(true);
    const Var<double> failing = custom_op<double>(
        "fails_in_vjp", {matmul(x, W)}, Shape{5, 3}, [](auto in, Tensor<double>& out) { out = *in[0]; },
        [](auto, const Tensor<double>&, const Tensor<double>&, auto) { throw DomainError("fails_in_vjp: planted"); });
    REQUIRE_THROWS_WITH(grad(sum(failing), {W}), Catch::Matchers::Contains("planted"));
    CHECK(test::bitwise_equal(W.grad(), before));
    CHECK(t.release_intermediate_gradients());
    t.set_release_intermediate_gradients(false);
    // the graph rules give the same values (not necessarily the same bits: other arithmetic)
    const std::vector<Var<double>> h = grad(loss, {W, x}, {.create_graph = true});
    test::require_close(h[0].value(), g[0].value(), 1e-14);
    test::require_close(h[1].value(), g[1].value(), 1e-14);
}

TEST_CASE("grad: zeros for an unused input, seeds for any output, and its errors", "[second_order][errors]") {
    Tape<double> t;
    const Var<double> a = t.variable(random_matrix(2, 3, 1)), b = t.variable(random_matrix(2, 3, 2));
    const Var<double> y = tanh(a);
    for (bool create_graph : {false, true}) {
        const auto g = grad(sum(y), {a, b}, {.create_graph = create_graph});
        for (double v : g[1].value()) CHECK(v == 0.0);
    }
    REQUIRE_THROWS_WITH(grad(y, {a}), Catch::Matchers::Contains("not 1x1; pass a seed"));
    REQUIRE_THROWS_AS(grad(y, {a}, t.constant(Tensor<double>({1, 3}, 1.0))), ShapeError);
    const auto g = grad(y, {a}, t.constant(Tensor<double>({2, 3}, 1.0)));  // Σ ∂y/∂a = 1 − tanh²
    for (std::size_t i = 0; i < 6; ++i) CHECK(g[0].value().data()[i] == Approx(1.0 - std::pow(std::tanh(a.value().data()[i]), 2)).epsilon(1e-14));
    NoGradGuard no_grad(t);
    REQUIRE_THROWS_WITH(grad(sum(y), {a}, {.create_graph = true}), Catch::Matchers::Contains("under no-grad"));
}

TEST_CASE("ops without a graph rule refuse create_graph at once, naming the op and what to use", "[second_order][errors]") {
    Tape<double> t;
    const Var<double> qkv = t.variable(random_matrix(4, 6, 1));
    const Var<double> att = sum(causal_self_attention(qkv, 1, 4, 1));
    REQUIRE_THROWS_WITH(grad(att, {qkv}, {.create_graph = true}),
                        Catch::Matchers::Contains("op 'causal_self_attention'") && Catch::Matchers::Contains("no graph rule") &&
                            Catch::Matchers::Contains("softmax"));
    // first order is fine: backward's gradient
    const Tensor<double> first_order = grad(att, {qkv})[0].value();
    att.backward();
    CHECK(test::bitwise_equal(first_order, qkv.grad()));
    const Var<double> table = t.variable(random_matrix(5, 2, 2)), w = t.variable(random_matrix(4, 3, 3));
    const std::vector<std::int64_t> ids = {0, 1, 4, 2};
    const Var<double> cl = sum(context_linear(table, w, ids, 2));
    REQUIRE_THROWS_WITH(grad(cl, {table, w}, {.create_graph = true}),
                        Catch::Matchers::Contains("op 'context_linear'") && Catch::Matchers::Contains("embedding"));
    // a custom op without vjp_graph is refused by name; with one, it has second derivatives
    const Var<double> cx = t.variable(random_matrix(2, 2, 4));
    REQUIRE_THROWS_WITH(grad(sum(cube_op(cx, nullptr)), {cx}, {.create_graph = true}),
                        Catch::Matchers::Contains("custom op 'cube'") && Catch::Matchers::Contains("vjp_graph"));
    const auto cube_rule = [](std::span<const Var<double>> in, const Var<double>&, const Var<double>& dy) {
        return std::vector<Var<double>>{mul(mul(square(in[0]), 3.0), dy)};  // 3x²·dy
    };
    require_gradgrad([&](const auto& v) { return cube_op(v[0], cube_rule) * v[0]; }, {random_matrix(2, 2, 5)});
    // a vjp_graph that gives no gradient (an invalid Var) for an input whose gradient is needed is refused,
    // never read as a zero gradient; for a constant input it is what the rule should return
    auto scale_fns = std::make_shared<CustomOpFns<double>>();
    scale_fns->name = "scale";
    scale_fns->forward = [](auto in, Tensor<double>& out) {
        for (std::size_t i = 0; i < out.size(); ++i) out.data()[i] = in[0]->data()[i] * in[1]->data()[i];
    };
    scale_fns->vjp = [](auto in, const Tensor<double>&, const Tensor<double>& dout, auto grads) {
        for (std::size_t k = 0; k < 2; ++k)
            if (grads[k])
                for (std::size_t i = 0; i < dout.size(); ++i) grads[k]->data()[i] += in[1 - k]->data()[i] * dout.data()[i];
    };
    scale_fns->vjp_graph = [](std::span<const Var<double>> in, const Var<double>&, const Var<double>& dy) {
        return std::vector<Var<double>>{mul(in[1], dy), Var<double>()};  // the second input's gradient left out
    };
    const Var<double> sa = t.variable(random_matrix(2, 2, 6)), sb = t.variable(random_matrix(2, 2, 7));
    REQUIRE_THROWS_WITH(grad(sum(custom_op<double>(scale_fns, {sa, sb}, sa.shape())), {sa, sb}, {.create_graph = true}),
                        Catch::Matchers::Contains("custom op 'scale'") && Catch::Matchers::Contains("input 1") &&
                            Catch::Matchers::Contains("needed"));
    const Var<double> sc = t.constant(random_matrix(2, 2, 7));
    const Var<double> ga = grad(sum(custom_op<double>(scale_fns, {sa, sc}, sa.shape())), {sa}, {.create_graph = true})[0];
    CHECK(test::bitwise_equal(ga.value(), sc.value()));  // d(Σ a⊙c)/da = c, exactly
}

TEST_CASE("gradgradcheck finds a graph rule whose values are right but whose derivative is wrong, and one with wrong values", "[second_order][gradcheck]") {
    // cube's rule 3x²·dy, once with x² taken as a constant (right values, second derivative missing 6x·dy),
    // once with a wrong factor
    const auto cube_with = [](const Var<double>& x, int variant) {
        return cube_op(x, [variant](std::span<const Var<double>> in, const Var<double>&, const Var<double>& dy) {
            const Var<double> x2 = variant == 0 ? in[0].tape().constant(square(in[0]).value()) : square(in[0]);
            return std::vector<Var<double>>{mul(mul(x2, variant == 1 ? 2.0 : 3.0), dy)};
        });
    };
    const Tensor<double> x = random_matrix(2, 2, 5);
    const GradcheckReport constant_x2 = gradgradcheck([&](const auto& v) { return cube_with(v[0], 0); }, {x});
    INFO(constant_x2);
    CHECK_FALSE(constant_x2);
    CHECK(constant_x2.checked > 0);
    CHECK(constant_x2.path_error.empty());  // its values agree: the finite differences find it
    const GradcheckReport wrong_value = gradgradcheck([&](const auto& v) { return cube_with(v[0], 1); }, {x});
    CHECK_FALSE(wrong_value);
    CHECK_THAT(wrong_value.path_error, Catch::Matchers::Contains("a graph rule disagrees with its op's VJP"));
    const GradcheckReport right = gradgradcheck([&](const auto& v) { return cube_with(v[0], 2); }, {x});
    INFO(right);
    CHECK(right);
    CHECK(right.checked == 4 * (4 + 4));  // 4 gradient elements × (4 input + 4 seed elements)
}

TEST_CASE("sum_to_shape sums over the broadcast axes and refuses a shape g was not broadcast from", "[second_order]") {
    Tape<double> t;
    const Tensor<double> g0 = random_matrix(3, 4, 9);
    const Var<double> g = t.variable(g0);
    double total = 0;
    for (std::size_t i = 0; i < g0.size(); ++i) total += g0.data()[i];
    for (std::size_t c = 0; c < 4; ++c) {
        double col = 0;
        for (std::size_t r = 0; r < 3; ++r) col += g0(r, c);
        CHECK(sum_to_shape(g, Shape{1, 4}).value()(0, c) == Approx(col).epsilon(1e-15));
    }
    for (std::size_t r = 0; r < 3; ++r)
        CHECK(sum_to_shape(g, Shape{3, 1}).value()(r, 0) == Approx(g0(r, 0) + g0(r, 1) + g0(r, 2) + g0(r, 3)).epsilon(1e-15));
    CHECK(sum_to_shape(g, Shape{1, 1}).value()(0, 0) == Approx(total).epsilon(1e-14));
    CHECK(test::bitwise_equal(sum_to_shape(g, Shape{3, 4}).value(), g0));
    REQUIRE_THROWS_AS(sum_to_shape(g, Shape{2, 4}), ShapeError);
    REQUIRE_THROWS_WITH(sum_to_shape(g, Shape{3, 2}), Catch::Matchers::Contains("sum_to_shape") && Catch::Matchers::Contains("3x2"));
    require_gradgrad([](const auto& v) { return square(sum_to_shape(v[0], Shape{1, 4})); }, {g0});
}

TEST_CASE("gradgradcheck: matmul_tn and broadcast_to", "[second_order]") {
    require_gradgrad([](const auto& v) { return tanh(matmul_tn(v[0], v[1])); }, {random_matrix(4, 3, 1), random_matrix(4, 2, 2)});
    for (const Shape from : {Shape{1, 4}, Shape{3, 1}, Shape{1, 1}})
        require_gradgrad([](const auto& v) { return tanh(broadcast_to(v[0], Shape{3, 4})) * v[1]; },
                         {random_matrix(from[0], from[1], 3), random_matrix(3, 4, 4)});
}

TEST_CASE("create_graph with respect to the output of an op without a rule needs no rule; pow at 0 has finite derivatives", "[second_order]") {
    Tape<double> t;
    const Var<double> qkv = t.variable(random_matrix(4, 6, 1));
    const Var<double> h = causal_self_attention(qkv, 1, 4, 1);
    // d/dh Σh² = 2h: only square and sum are differentiated, attention is upstream of the input
    const Var<double> g = grad(sum(square(h)), {h}, {.create_graph = true})[0];
    test::require_close(g.value(), Tensor<double>(h.value() * 2.0), 1e-15);
    // pow's rule at x = 0: x¹ and x⁰ have derivatives 1 and 0 everywhere, x² a third derivative 0 (not 0·0⁻¹)
    const Tensor<double> zero({1, 2}, 0.0);
    for (double v : hessian<double>([](const auto& x) { return sum(pow(x[0], 1.0)); }, zero)) CHECK(v == 0.0);
    for (double v : hessian<double>([](const auto& x) { return sum(pow(x[0], 0.0)); }, zero)) CHECK(v == 0.0);
    const Tensor<double> h3 = hessian<double>([](const auto& x) {
        const Var<double> d = grad(sum(pow(x[0], 2.0)), {x[0]}, {.create_graph = true})[0];  // 2x
        return sum(square(d));                                                              // 4x², H = 8·I
    }, zero);
    CHECK(h3(0, 0) == 8.0);
    CHECK(h3(0, 1) == 0.0);
}

TEST_CASE("gradgradcheck: slice_cols", "[second_order]") {
    for (auto [begin, count] : {std::pair<std::size_t, std::size_t>{0, 4}, {0, 1}, {1, 2}, {3, 1}})
        require_gradgrad([begin, count](const auto& v) { return tanh(slice_cols(v[0], begin, count)) * slice_cols(v[0], 0, count); },
                         {random_matrix(3, 4, 1)});
}
