#include <cmath>

#include "test_util.hpp"

using namespace tapegrad;
using test::random_matrix;

using Unary = Var<double> (*)(const Var<double>&);

TEST_CASE("gradcheck of every unary op on random inputs", "[elementwise][gradcheck]") {
    const std::vector<std::pair<const char*, Unary>> ops = {
        {"neg", neg<double>},       {"exp", exp<double>},     {"square", square<double>}, {"tanh", tanh<double>},
        {"sigmoid", sigmoid<double>}, {"relu", relu<double>}, {"gelu", gelu<double>},
    };
    const Tensor<double> x = random_matrix(3, 4, 1, -2.0, 2.0);
    for (auto [name, op] : ops) {
        SECTION(name) {
            REQUIRE(gradcheck([op = op](const auto& v) { return op(v[0]); }, {x}));
            REQUIRE(gradcheck([op = op](const auto& v) { return op(v[0]); }, {random_matrix(1, 1, 2, 0.1, 1.0)}));
        }
    }
    SECTION("log and sqrt on positive inputs") {
        const Tensor<double> p = random_matrix(3, 4, 3, 0.2, 3.0);
        REQUIRE(gradcheck([](const auto& v) { return log(v[0]); }, {p}));
        REQUIRE(gradcheck([](const auto& v) { return sqrt(v[0]); }, {p}));
        REQUIRE(gradcheck([](const auto& v) { return pow(v[0], 2.5); }, {p}));
        REQUIRE(gradcheck([](const auto& v) { return pow(v[0], -1.5); }, {p}));
        REQUIRE(gradcheck([](const auto& v) { return rdiv(2.0, v[0]); }, {p}));
    }
    SECTION("scalar versions") {
        REQUIRE(gradcheck([](const auto& v) { return v[0] + 3.0; }, {x}));
        REQUIRE(gradcheck([](const auto& v) { return 3.0 - v[0]; }, {x}));
        REQUIRE(gradcheck([](const auto& v) { return v[0] * -2.5; }, {x}));
        REQUIRE(gradcheck([](const auto& v) { return v[0] / 4.0; }, {x}));
        REQUIRE(gradcheck([](const auto& v) { return pow(v[0], 3.0); }, {x}));  // integer power of negatives
    }
}

TEST_CASE("unary ops match their closed forms", "[elementwise]") {
    Tape<double> t;
    Tensor<double> xv = {{-1.0, 0.0, 0.5}};
    auto x = t.variable(xv);
    // gelu(x) = x·Φ(x): Φ(−1) = 0.158655253931457, Φ(0.5) = 0.691462461274013
    auto g = gelu(x);
    CHECK(g.value()(0, 0) == Approx(-0.158655253931457).epsilon(1e-12));
    CHECK(g.value()(0, 1) == 0.0);
    CHECK(g.value()(0, 2) == Approx(0.5 * 0.691462461274013).epsilon(1e-12));
    // sigmoid(0) = 1/2, d/dx = 1/4
    auto s = sigmoid(x);
    CHECK(s.value()(0, 1) == 0.5);
    sum(s).backward();
    CHECK(x.grad()(0, 1) == Approx(0.25));
    // relu'(0) = 0 (torch's convention)
    Tape<double> t2;
    auto y = t2.variable(xv);
    sum(relu(y)).backward();
    CHECK(y.grad()(0, 0) == 0.0);
    CHECK(y.grad()(0, 1) == 0.0);
    CHECK(y.grad()(0, 2) == 1.0);
}

TEST_CASE("sigmoid is finite on both tails", "[elementwise]") {
    Tape<double> t;
    auto x = t.variable(Tensor<double>{{-1000.0, 1000.0}});
    auto s = sigmoid(x);
    CHECK(s.value()(0, 0) == 0.0);
    CHECK(s.value()(0, 1) == 1.0);
    sum(s).backward();
    CHECK(std::isfinite(x.grad()(0, 0)));
}

TEST_CASE("gradcheck of binary ops, with and without broadcasting", "[elementwise][gradcheck]") {
    const Tensor<double> a = random_matrix(3, 4, 4), b = random_matrix(3, 4, 5, 0.5, 2.0);
    const Tensor<double> row = random_matrix(1, 4, 6, 0.5, 2.0), col = random_matrix(3, 1, 7, 0.5, 2.0);
    const Tensor<double> scalar = random_matrix(1, 1, 8, 0.5, 2.0);
    for (const Tensor<double>* rhs : {&b, &row, &col, &scalar}) {
        INFO("rhs shape " << rhs->shape()[0] << "x" << rhs->shape()[1]);
        REQUIRE(gradcheck([](const auto& v) { return v[0] + v[1]; }, {a, *rhs}));
        REQUIRE(gradcheck([](const auto& v) { return v[0] - v[1]; }, {a, *rhs}));
        REQUIRE(gradcheck([](const auto& v) { return v[0] * v[1]; }, {a, *rhs}));
        REQUIRE(gradcheck([](const auto& v) { return v[0] / v[1]; }, {a, *rhs}));
        // broadcast on the left operand too
        REQUIRE(gradcheck([](const auto& v) { return v[1] - v[0]; }, {a, *rhs}));
    }
    SECTION("a row broadcast against a column gives an outer combination") {
        REQUIRE(gradcheck([](const auto& v) { return v[0] * v[1]; }, {row, col}));
    }
}

TEST_CASE("bias broadcast: the row's gradient is the column sum of the upstream gradient", "[elementwise]") {
    Tape<double> t;
    auto x = t.variable(random_matrix(5, 3, 9));
    auto bias = t.variable(Tensor<double>{{1.0, 2.0, 3.0}});
    auto y = x + bias;
    CHECK(y.value()(4, 2) == Approx(x.value()(4, 2) + 3.0));
    Tensor<double> seed = random_matrix(5, 3, 10);
    y.backward(seed);
    for (std::size_t c = 0; c < 3; ++c) {
        double col_sum = 0;
        for (std::size_t r = 0; r < 5; ++r) col_sum += seed(r, c);
        CHECK(bias.grad()(0, c) == Approx(col_sum));
    }
    test::require_close(x.grad(), seed, 1e-15);
}

TEST_CASE("elementwise errors name the op and the shapes or values", "[elementwise][errors]") {
    Tape<double> t;
    auto a = t.variable(random_matrix(2, 3, 1));
    auto b = t.variable(random_matrix(3, 2, 2));
    REQUIRE_THROWS_MATCHES(a + b, ShapeError,
                           Catch::Matchers::Message("add: shapes 2x3 and 3x2 do not broadcast (each dimension must be equal or 1)"));
    REQUIRE_THROWS_AS(a * b, ShapeError);
    auto neg_x = t.variable(Tensor<double>{{1.0, -2.0}});
    REQUIRE_THROWS_WITH(log(neg_x), Catch::Matchers::StartsWith("log: input -2.000000 at (0, 1) of a 1x2 tensor is outside the domain"));
    REQUIRE_THROWS_AS(sqrt(neg_x), DomainError);
    REQUIRE_THROWS_AS(pow(neg_x, 0.5), DomainError);
    REQUIRE_NOTHROW(pow(neg_x, 2.0));
    REQUIRE_THROWS_WITH(a / 0.0, Catch::Matchers::Contains("division of a 2x3 tensor by the scalar 0"));
    // a failed op records nothing
    const std::size_t before = t.size();
    REQUIRE_THROWS(log(neg_x));
    REQUIRE(t.size() == before);
}

TEST_CASE("float tapes compute the same ops", "[elementwise][float]") {
    Tape<float> t;
    auto x = t.variable(Tensor<float>{{0.5f, -0.25f}});
    auto y = sum(tanh(x) * x);
    y.backward();
    // d/dx (x·tanh x) = tanh x + x·(1 − tanh² x)
    for (std::size_t c = 0; c < 2; ++c) {
        const double xv = x.value()(0, c), th = std::tanh(xv);
        CHECK(x.grad()(0, c) == Approx(th + xv * (1 - th * th)).epsilon(1e-6));
    }
}
