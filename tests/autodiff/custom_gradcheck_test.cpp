#include <sstream>

#include "test_util.hpp"

using namespace tapegrad;
using test::random_matrix;

namespace {

// y = x³ elementwise; dx += 3x²·dy. `factor` lets a test plant a wrong VJP.
Var<double> cube(const Var<double>& x, double factor = 3.0) {
    return custom_op<double>(
        "cube", {x}, x.shape(),
        [](auto in, Tensor<double>& out) {
            for (std::size_t i = 0; i < out.size(); ++i) out.data()[i] = std::pow(in[0]->data()[i], 3);
        },
        [factor](auto in, const Tensor<double>&, const Tensor<double>& dout, auto grads) {
            if (!grads[0]) return;
            for (std::size_t i = 0; i < dout.size(); ++i)
                grads[0]->data()[i] += factor * in[0]->data()[i] * in[0]->data()[i] * dout.data()[i];
        });
}

}  // namespace

TEST_CASE("a custom op is recorded and differentiated like a built-in", "[custom][gradcheck]") {
    Tape<double> t;
    auto x = t.variable(Tensor<double>{{2.0, -1.0}});
    auto y = sum(cube(x));
    CHECK(y.item() == 8.0 - 1.0);
    y.backward();
    CHECK(x.grad()(0, 0) == 12.0);
    CHECK(x.grad()(0, 1) == 3.0);
    CHECK_THAT(t.to_string(), Catch::Matchers::Contains("cube"));
    REQUIRE(gradcheck([](const auto& v) { return cube(v[0]) * v[1]; }, {random_matrix(2, 3, 1), random_matrix(2, 3, 2)}));
    REQUIRE(gradcheck_nodes([](const auto& v) { return cube(v[0]) * v[1]; }, {random_matrix(2, 3, 1), random_matrix(2, 3, 2)}));
}

TEST_CASE("gradcheck fails for a wrong VJP and reports the worst elements", "[custom][gradcheck]") {
    const Tensor<double> x = Tensor<double>{{0.5, 1.0, -2.0}};
    GradcheckReport report = gradcheck([](const auto& v) { return sum(cube(v[0], 2.0)); }, {x});
    INFO(report);
    REQUIRE_FALSE(report);
    REQUIRE(report.worst.size() == 3);
    // worst element: x = −2, analytic 2·4 = 8, numeric 3·4 = 12
    CHECK(report.worst[0].input == 0);
    CHECK(report.worst[0].col == 2);
    CHECK(report.worst[0].analytic == Approx(8.0));
    CHECK(report.worst[0].numeric == Approx(12.0).epsilon(1e-6));
    CHECK(report.worst[0].abs_error == Approx(4.0).epsilon(1e-6));
    CHECK(report.worst[0].failed);
    CHECK_THAT(report.to_string(), Catch::Matchers::StartsWith("gradcheck FAILED: 3 gradient elements checked"));
}

TEST_CASE("per-node gradcheck names the first wrong node", "[custom][gradcheck]") {
    auto f = [](const std::vector<Var<double>>& v) { return sum(tanh(cube(matmul(v[0], v[1]), 2.5))); };
    const std::vector<Tensor<double>> inputs = {random_matrix(2, 3, 1), random_matrix(3, 2, 2)};
    REQUIRE_FALSE(gradcheck(f, inputs));
    GradcheckReport report = gradcheck_nodes(f, inputs);
    INFO(report);
    REQUIRE_FALSE(report);
    REQUIRE(report.has_failed_node);
    CHECK(report.failed_node == 3);  // #0, #1 inputs, #2 matmul, #3 cube
    CHECK(report.failed_op == "cube");
    CHECK_THAT(report.to_string(), Catch::Matchers::Contains("first wrong node: #3 'cube'"));
}

TEST_CASE("gradcheck reports pass with counts and errors", "[gradcheck]") {
    GradcheckReport report = gradcheck([](const auto& v) { return matmul(v[0], v[1]); },
                                       {random_matrix(2, 3, 1), random_matrix(3, 4, 2)});
    REQUIRE(report);
    CHECK(report.checked == 8 * (6 + 12));  // 8 outputs × 18 input elements
    CHECK(report.max_abs_error < 1e-8);
    std::ostringstream os;
    os << report;
    CHECK_THAT(os.str(), Catch::Matchers::StartsWith("gradcheck passed"));
}

TEST_CASE("custom op misuse is reported", "[custom][errors]") {
    Tape<double> t;
    auto x = t.variable(Tensor<double>{{1.0}});
    const std::size_t before = t.size();
    REQUIRE_THROWS_WITH(custom_op<double>(
                            "grow", {x}, Shape{1, 1}, [](auto, Tensor<double>& out) { out.resize({2, 2}); },
                            [](auto, const Tensor<double>&, const Tensor<double>&, auto) {}),
                        "custom op 'grow': forward changed the output shape from 1x1 to 2x2");
    CHECK(t.size() == before);  // nothing recorded
    REQUIRE_THROWS_AS(custom_op<double>("none", {x}, Shape{1, 1}, nullptr, nullptr), UsageError);
}

TEST_CASE("gradcheck_nodes also runs every VJP onto a gradient that already holds a value, and names one that overwrites", "[custom][gradcheck]") {
    // cube whose VJP assigns (=) instead of adding (+=): right from zero, wrong when x is used twice.
    const auto overwriting_cube = [](const Var<double>& x) {
        return custom_op<double>(
            "overwriting_cube", {x}, x.shape(),
            [](auto in, Tensor<double>& out) {
                for (std::size_t i = 0; i < out.size(); ++i) out.data()[i] = std::pow(in[0]->data()[i], 3);
            },
            [](auto in, const Tensor<double>&, const Tensor<double>& dout, auto grads) {
                if (!grads[0]) return;
                for (std::size_t i = 0; i < dout.size(); ++i)
                    grads[0]->data()[i] = 3.0 * in[0]->data()[i] * in[0]->data()[i] * dout.data()[i];
            });
    };
    const Tensor<double> x = random_matrix(2, 2, 3);
    // Through the whole function the bug shows only when x has a second consumer...
    CHECK(gradcheck([&](const auto& v) { return sum(overwriting_cube(v[0])); }, {x}));
    CHECK_FALSE(gradcheck([&](const auto& v) { return sum(overwriting_cube(v[0]) + v[0]); }, {x}));
    // ...the per-node check finds it with one consumer, and says what went wrong.
    const GradcheckReport r = gradcheck_nodes([&](const auto& v) { return sum(overwriting_cube(v[0])); }, {x});
    INFO(r);
    REQUIRE_FALSE(r);
    CHECK(r.failed_op == "overwriting_cube");
    CHECK_THAT(r.path_error, Catch::Matchers::Contains("onto a gradient already holding 0.25 + j/1024, at element 0") &&
                                       Catch::Matchers::Contains("it must add, not overwrite"));
    CHECK_THAT(r.to_string(), Catch::Matchers::Contains("it must add, not overwrite"));
    // The built-in ops that take the overwrite path on a first write (matmul, affine, cross_entropy,
    // elementwise, context_linear) add on the second: the per-node check passes through all of them.
    const std::vector<std::int64_t> ids = {0, 2, 1, 1, 2, 0}, targets = {1, 0, 2};
    REQUIRE(gradcheck_nodes([&](const auto& v) {
        auto h = tanh(affine(context_linear(v[0], v[1], ids, 2), v[2], v[3]));
        return cross_entropy(matmul(h, v[4]) * v[5], targets) + sum(sigmoid(h));
    }, {random_matrix(3, 2, 1), random_matrix(4, 3, 2), random_matrix(3, 3, 3), random_matrix(1, 3, 4),
        random_matrix(3, 3, 5), random_matrix(3, 3, 6)}));
}

TEST_CASE("an input the output does not depend on has gradient 0, and gradcheck agrees", "[gradcheck]") {
    // f(a, b) = Σ tanh(a): b is unused, its analytic gradient is 0 (no gradient reaches it) and so is the numeric one
    const auto report = gradcheck([](const auto& v) { return sum(tanh(v[0])); },
                                  {test::random_matrix(2, 3, 1), test::random_matrix(3, 2, 2)});
    REQUIRE(report);
    Tape<double> t;
    auto unused = t.variable(Tensor<double>{{1.0, 2.0}});
    CHECK(gradient_or_zeros(unused)(0, 1) == 0.0);
}

namespace {
// y = 2x, whose VJP is wrong in one way only: after gradient_to_write_in_place it reads dy from n.grad, which
// after a hand-over is another buffer (the contract says to take the pointer before the call).
template <class T>
void doubling_forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& x = t.input(n, 0).value;
    for (std::size_t i = 0; i < x.size(); ++i) n.value.data()[i] = 2 * x.data()[i];
}
template <class T>
void doubling_vjp_reading_after_hand_over(Tape<T>& t, Node<T>& n) {
    const GradientOut<T> g = t.gradient_to_write_in_place(n, 0);
    if (!g) return;
    for (std::size_t i = 0; i < g.tensor->size(); ++i)
        g.data()[i] = (g.add ? g.data()[i] : T(0)) + 2 * n.grad.data()[i];  // wrong after a hand-over
}
const OpDef<double> planted_hand_over_def{"doubling_reads_after_hand_over", doubling_forward<double>,
                                          doubling_vjp_reading_after_hand_over<double>};
Var<double> planted_doubling(const Var<double>& x) {
    Node<double>& n = x.tape().push(planted_hand_over_def, {x}, x.shape());
    return x.tape().commit(n);
}
}  // namespace

TEST_CASE("gradcheck_nodes also runs every VJP with intermediate gradients released, and names a wrong hand-over", "[gradcheck]") {
    const Tensor<double> x = random_matrix(2, 3, 7);
    // Right onto fresh gradients and onto gradients holding values: the whole-function check passes...
    CHECK(gradcheck([&](const auto& v) { return sum(tanh(planted_doubling(v[0]))); }, {x}));
    // ...and so would the per-node check without its third path; with it, the hand-over is found.
    const GradcheckReport r = gradcheck_nodes([&](const auto& v) { return sum(tanh(planted_doubling(v[0]))); }, {x});
    INFO(r);
    REQUIRE_FALSE(r);
    CHECK(r.failed_op == "doubling_reads_after_hand_over");
    CHECK_THAT(r.path_error, Catch::Matchers::Contains("with intermediate gradients released") &&
                                 Catch::Matchers::Contains("element 0 of #0 (variable)"));
    // In a training step that releases gradients the same bug reads the input's stale buffer: the second step
    // below (whose nodes reuse the first step's buffers) gets a wrong gradient.
    Tape<double> t;
    sum(tanh(planted_doubling(t.variable(x)))).backward();
    t.clear();
    t.set_release_intermediate_gradients(true);
    auto v = t.variable(x);
    sum(tanh(planted_doubling(v))).backward();
    Tape<double> reference;
    auto w = reference.variable(x);
    sum(tanh(2.0 * w)).backward();
    bool equal = true;
    for (std::size_t i = 0; i < x.size(); ++i) equal = equal && v.grad().data()[i] == w.grad().data()[i];
    CHECK_FALSE(equal);
    // The built-in ops that hand over (elementwise, reshape, addmm's c, a residual) pass all three paths.
    REQUIRE(gradcheck_nodes([&](const auto& u) {
        auto h = addmm(reshape(tanh(u[2]), Shape{2, 2}), exp(u[0]), u[1]);
        return sum(sigmoid(h + u[3]) * gelu(h));
    }, {random_matrix(2, 3, 1), random_matrix(3, 2, 2), random_matrix(1, 4, 3), random_matrix(2, 2, 4)}));
}
