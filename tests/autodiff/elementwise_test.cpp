#include <numbers>
#include <cmath>
#include <limits>

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

namespace {

// The largest distance in ulp (units in the last place of T) between two finite values of T.
template <class T>
double ulp_distance(T a, T b) {
    if (a == b) return 0;
    const T scale = std::max(std::abs(a), std::abs(b));
    const T ulp = std::nextafter(scale, std::numeric_limits<T>::infinity()) - scale;
    return double(std::abs(a - b) / std::max(ulp, std::numeric_limits<T>::denorm_min()));
}

// Every value of the op on inputs spread over [lo, hi] (and the tails at both ends), in tensors of 1 to 37
// columns so that every position of a SIMD batch and every tail length is exercised, against the scalar
// reference; the result at a value does not depend on where in the tensor it sits.
template <class T, class Op, class Ref>
void check_vector_form(const char* name, Op op, Ref ref, double lo, double hi, double max_ulp, double abs_floor) {
    INFO(name << " in " << (std::is_same_v<T, float> ? "float" : "double"));
    Tape<T> tape;
    double worst = 0;
    for (std::size_t cols = 1; cols <= 37; ++cols) {
        Tensor<T> x({3, cols});
        for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = T(lo + (hi - lo) * double((i * 7919 + cols) % 1009) / 1008.0);
        const Tensor<T>& y = op(tape.constant(x)).value();
        for (std::size_t i = 0; i < x.size(); ++i) {
            const T want = ref(x.data()[i]);
            const T got = y.data()[i];
            if (std::abs(double(got) - double(want)) <= abs_floor) continue;
            worst = std::max(worst, ulp_distance(got, want));
        }
        tape.clear();
    }
    CHECK(worst <= max_ulp);
    // The same input gives the same bits in a full batch and in a padded tail.
    Tensor<T> a({1, 64}), b({1, 3});
    for (std::size_t i = 0; i < 64; ++i) a.data()[i] = T(0.37);
    for (std::size_t i = 0; i < 3; ++i) b.data()[i] = T(0.37);
    const T in_batch = op(tape.constant(a)).value().data()[5];
    const T in_tail = op(tape.constant(b)).value().data()[2];
    CHECK(in_batch == in_tail);
}

}  // namespace

TEST_CASE("the vector forms of tanh, exp, sigmoid and gelu agree with the scalar functions to a few ulp", "[elementwise][simd]") {
    // References in long double, rounded once: the scalar libm functions are themselves within 1 ulp.
    const auto tanh_ref = [](auto x) { return decltype(x)(std::tanh(static_cast<long double>(x))); };
    const auto exp_ref = [](auto x) { return decltype(x)(std::exp(static_cast<long double>(x))); };
    const auto sigmoid_ref = [](auto x) { return decltype(x)(1.0L / (1.0L + std::exp(-static_cast<long double>(x)))); };
    const auto gelu_ref = [](auto x) {
        const long double v = x;
        return decltype(x)(0.5L * v * (1.0L + std::erf(v / std::sqrt(2.0L))));
    };
    check_vector_form<float>("tanh", [](const Var<float>& v) { return tanh(v); }, tanh_ref, -12.0, 12.0, 4, 0);
    check_vector_form<float>("exp", [](const Var<float>& v) { return exp(v); }, exp_ref, -80.0, 80.0, 4, 0);
    check_vector_form<float>("sigmoid", [](const Var<float>& v) { return sigmoid(v); }, sigmoid_ref, -80.0, 30.0, 8, 0);
    // gelu(x) for x < 0 is a small difference (x·Φ(x)); near its zero at −∞ an absolute floor of 1e-7 applies
    check_vector_form<float>("gelu", [](const Var<float>& v) { return gelu(v); }, gelu_ref, -9.0, 9.0, 8, 1e-7);
    check_vector_form<double>("tanh", [](const Var<double>& v) { return tanh(v); }, tanh_ref, -30.0, 30.0, 4, 0);
    check_vector_form<double>("exp", [](const Var<double>& v) { return exp(v); }, exp_ref, -700.0, 700.0, 4, 0);
    check_vector_form<double>("sigmoid", [](const Var<double>& v) { return sigmoid(v); }, sigmoid_ref, -700.0, 30.0, 8, 0);
    check_vector_form<double>("gelu", [](const Var<double>& v) { return gelu(v); }, gelu_ref, -9.0, 9.0, 8, 1e-15);
}

TEST_CASE("gelu's vector derivative Φ(x) + x·φ(x) agrees with the long double one, in batches and tails", "[elementwise][simd]") {
    const auto dgelu_ref = [](long double v) {
        return 0.5L * (1.0L + std::erf(v / std::sqrt(2.0L))) + v * std::exp(-0.5L * v * v) / std::sqrt(2.0L * std::numbers::pi_v<long double>);
    };
    double worst = 0;
    for (std::size_t cols = 1; cols <= 37; ++cols) {
        Tape<float> tape;
        Tensor<float> x({3, cols});
        for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = float(-9.0 + 18.0 * double((i * 7919 + cols) % 1009) / 1008.0);
        auto v = tape.variable(x);
        gelu(v).backward(Tensor<float>({3, cols}, 1.0f));
        for (std::size_t i = 0; i < x.size(); ++i) {
            const float want = float(dgelu_ref(x.data()[i]));
            const float got = v.grad().data()[i];
            if (std::abs(double(got) - double(want)) <= 1e-7) continue;  // near 0 and 1 the absolute floor applies
            worst = std::max(worst, ulp_distance(got, want));
        }
        // the accumulate path: a second backward adds the same again
        gelu(v).backward(Tensor<float>({3, cols}, 1.0f));
        for (std::size_t i = 0; i < x.size(); ++i) CHECK(std::abs(double(v.grad().data()[i]) - 2.0 * dgelu_ref(x.data()[i])) <= 4e-6);
    }
    CHECK(worst <= 8);
}

TEST_CASE("the vector forms keep the limits: tanh(±inf) = ±1, exp overflows to inf, sigmoid saturates, NaN stays NaN", "[elementwise][simd]") {
    Tape<float> tape;
    const float inf = std::numeric_limits<float>::infinity();
    const Tensor<float> x{{-inf, inf, -200.0f, 200.0f, 0.0f}};
    const Tensor<float> th = tanh(tape.constant(x)).value();
    CHECK(th(0, 0) == -1.0f);
    CHECK(th(0, 1) == 1.0f);
    CHECK(th(0, 4) == 0.0f);
    const Tensor<float> ex = exp(tape.constant(x)).value();
    CHECK(ex(0, 0) == 0.0f);
    CHECK(ex(0, 1) == inf);
    CHECK(ex(0, 3) == inf);
    CHECK(ex(0, 4) == 1.0f);
    const Tensor<float> sg = sigmoid(tape.constant(x)).value();
    CHECK(sg(0, 2) == 0.0f);
    CHECK(sg(0, 3) == 1.0f);
    CHECK(sg(0, 4) == 0.5f);
    const Tensor<float> nan_in{{std::numeric_limits<float>::quiet_NaN()}};
    CHECK(std::isnan(tanh(tape.constant(nan_in)).value()(0, 0)));
    CHECK(std::isnan(exp(tape.constant(nan_in)).value()(0, 0)));
    CHECK(std::isnan(sigmoid(tape.constant(nan_in)).value()(0, 0)));
}
