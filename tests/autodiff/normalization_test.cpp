// layer_norm against the definition written here (mean, biased variance, x̂ ⊙ γ + β per row), gradcheck in
// double on random inputs and edge shapes (one column: x̂ = 0; one row; γ and β the same variable), the
// accumulate path through gradcheck_nodes, and its errors.
#include <cmath>

#include "test_util.hpp"

using namespace tapegrad;
using test::random_matrix;

namespace {

Tensor<double> naive_layer_norm(const Tensor<double>& x, const Tensor<double>& g, const Tensor<double>& b, double eps) {
    const std::size_t R = x.shape()[0], W = x.shape()[1];
    Tensor<double> y({R, W});
    for (std::size_t r = 0; r < R; ++r) {
        double mu = 0, var = 0;
        for (std::size_t c = 0; c < W; ++c) mu += x(r, c) / double(W);
        for (std::size_t c = 0; c < W; ++c) var += (x(r, c) - mu) * (x(r, c) - mu) / double(W);
        for (std::size_t c = 0; c < W; ++c) y(r, c) = (x(r, c) - mu) / std::sqrt(var + eps) * g(0, c) + b(0, c);
    }
    return y;
}

}  // namespace

TEST_CASE("layer_norm equals the definition", "[normalization]") {
    Tape<double> t;
    for (auto [R, W] : std::vector<std::pair<std::size_t, std::size_t>>{{4, 5}, {1, 7}, {3, 1}, {2, 128}}) {
        const Tensor<double> x = random_matrix(R, W, 1, -3.0, 5.0), g = random_matrix(1, W, 2), b = random_matrix(1, W, 3);
        test::require_close(layer_norm(t.variable(x), t.variable(g), t.variable(b), 1e-5).value(), naive_layer_norm(x, g, b, 1e-5),
                            1e-13);
        t.clear();
    }
    // the same numbers in float, as torch.nn.LayerNorm computes them in float32
    Tape<float> f;
    const Tensor<double> x = random_matrix(3, 9, 4, -2.0, 2.0), g = random_matrix(1, 9, 5), b = random_matrix(1, 9, 6);
    const Tensor<double> want = naive_layer_norm(x, g, b, 1e-5);
    const Tensor<float>& got = layer_norm(f.variable(Tensor<float>(x)), f.variable(Tensor<float>(g)), f.variable(Tensor<float>(b))).value();
    for (std::size_t i = 0; i < want.size(); ++i) CHECK(std::abs(double(got.data()[i]) - want.data()[i]) <= 2e-6);
}

TEST_CASE("gradcheck of layer_norm, including edge shapes and the accumulate path", "[normalization][gradcheck]") {
    auto f = [](const auto& v) { return sum(tanh(layer_norm(v[0], v[1], v[2], 1e-5))); };
    for (auto [R, W] : std::vector<std::pair<std::size_t, std::size_t>>{{4, 5}, {1, 6}, {3, 1}, {1, 1}}) {
        INFO(R << "x" << W);
        const std::vector<Tensor<double>> in = {random_matrix(R, W, 7, -2.0, 2.0), random_matrix(1, W, 8), random_matrix(1, W, 9)};
        REQUIRE(gradcheck(f, in));
        REQUIRE(gradcheck_nodes(f, in));  // also onto pre-filled gradients: every VJP adds
    }
    // γ and β the same variable: both sums land in one gradient
    REQUIRE(gradcheck([](const auto& v) { return sum(tanh(layer_norm(v[0], v[1], v[1], 1e-3))); },
                      {random_matrix(3, 4, 10), random_matrix(1, 4, 11)}));
    // x used twice downstream: its gradient receives both
    REQUIRE(gradcheck([](const auto& v) { return sum(mul(layer_norm(v[0], v[1], v[2], 1e-5), v[0])); },
                      {random_matrix(2, 3, 12), random_matrix(1, 3, 13), random_matrix(1, 3, 14)}));
}

TEST_CASE("layer_norm's errors name the shapes and eps", "[normalization][errors]") {
    Tape<double> t;
    auto x = t.variable(random_matrix(2, 3, 1));
    REQUIRE_THROWS_WITH(layer_norm(x, t.variable(random_matrix(1, 4, 2)), t.variable(random_matrix(1, 3, 3))),
                        "layer_norm: x is 2x3, gamma 1x4, beta 1x3 (expected gamma and beta 1x3)");
    REQUIRE_THROWS_AS(layer_norm(x, t.variable(random_matrix(1, 3, 2)), t.variable(random_matrix(1, 3, 3)), 0.0), DomainError);
    REQUIRE_THROWS_AS(layer_norm(x, t.variable(random_matrix(1, 3, 2)), t.variable(random_matrix(1, 3, 3)), std::nan("")), DomainError);
}
