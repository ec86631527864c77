// The walkthrough's numbers against the design note (docs/math.md).
#include <sstream>

#include "test_util.hpp"
#include "walkthrough.hpp"

using namespace tapegrad;

TEST_CASE("walkthrough section 1: P, per-position losses, mean 1.051003 and the note's 1.0515", "[samples][seed]") {
    const auto s = walkthrough::loss_section();
    test::require_close(s.softmax, s.P, 1e-15);
    CHECK(s.per_position(0, 0) == Approx(1.099613).margin(1e-6));
    CHECK(s.per_position(1, 0) == Approx(1.002393).margin(1e-6));
    CHECK(s.mean_loss == Approx(1.051003).margin(1e-6));
    CHECK(s.note_loss == Approx(1.0515).margin(1e-12));  // the note's (1.100 + 1.003) / 2
    CHECK(std::abs(s.mean_loss - s.note_loss) > 4e-4);   // rounding first is what moves the figure
}

TEST_CASE("walkthrough section 2.1: dL/dlogits for sum and mean", "[samples][seed]") {
    const auto s = walkthrough::loss_section();
    const Tensor<double> expected = {{0.320, -0.667, 0.347}, {0.301, 0.332, -0.633}};
    test::require_close(s.dlogits_sum, expected, 1e-12);
    test::require_close(s.dlogits_mean, Tensor<double>(expected / 2.0), 1e-12);
}

TEST_CASE("walkthrough prints the note's figures", "[samples][seed]") {
    std::ostringstream os;
    walkthrough::print(os, walkthrough::loss_section());
    const std::string out = os.str();
    CHECK_THAT(out, Catch::Matchers::Contains("mean loss = 1.051003"));
    CHECK_THAT(out, Catch::Matchers::Contains("the note prints 1.0515 = (1.100 + 1.003) / 2"));
    CHECK_THAT(out, Catch::Matchers::Contains("position 0 (target 1): -ln 0.333 = 1.099613"));
    CHECK_THAT(out, Catch::Matchers::Contains("[  0.320,  -0.667,   0.347]"));
}

// Sections 2.3–4 on the walkthrough's fixed weights, redone here with plain matrix products.
TEST_CASE("walkthrough sections 2.3 to 4: seven steps, SGD and Adam updates, gradcheck", "[samples][seed]") {
    const auto s = walkthrough::model_section();
    using test::matmul_ref;
    using test::transpose_ref;
    const std::size_t n = 2, w = 3;
    // forward
    Tensor<double> h3({2, 2});
    for (std::size_t k = 0; k < n; ++k)
        for (std::size_t j = 0; j < 2; ++j) h3(k, j) = s.E(std::size_t(s.ids[k]), j);
    const Tensor<double> h2 = matmul_ref(h3, s.W3), h1 = matmul_ref(h2, s.W2), logits = matmul_ref(h1, s.W1);
    test::require_close(s.logits, logits, 1e-14);
    // 1. G = (softmax − onehot) / n, and the loss
    Tensor<double> G({n, w});
    double loss = 0;
    for (std::size_t i = 0; i < n; ++i) {
        double z = 0;
        for (std::size_t j = 0; j < w; ++j) z += std::exp(logits(i, j));
        for (std::size_t j = 0; j < w; ++j) G(i, j) = (std::exp(logits(i, j)) / z - (std::int64_t(j) == s.targets[i])) / double(n);
        loss -= std::log(std::exp(logits(i, std::size_t(s.targets[i]))) / z) / double(n);
    }
    CHECK(s.loss == Approx(loss).epsilon(1e-12));
    test::require_close(s.G, G, 1e-14);
    const Tensor<double> dh1 = matmul_ref(G, transpose_ref(s.W1)), dh2 = matmul_ref(dh1, transpose_ref(s.W2));
    test::require_close(s.dW1, matmul_ref(transpose_ref(h1), G), 1e-14);
    test::require_close(s.dh1, dh1, 1e-14);
    test::require_close(s.dW2, matmul_ref(transpose_ref(h2), dh1), 1e-14);
    test::require_close(s.dh2, dh2, 1e-14);
    test::require_close(s.dW3, matmul_ref(transpose_ref(h3), dh2), 1e-14);
    const Tensor<double> dh3 = matmul_ref(dh2, transpose_ref(s.W3));
    test::require_close(s.dh3, dh3, 1e-14);
    // SGD: p − 0.01·dp; E's row 2 was not looked up and does not move
    for (std::size_t j = 0; j < 2; ++j) {
        CHECK(s.sgd_E(0, j) == Approx(s.E(0, j) - 0.01 * dh3(0, j)).epsilon(1e-14));
        CHECK(s.sgd_E(1, j) == Approx(s.E(1, j) - 0.01 * dh3(1, j)).epsilon(1e-14));
        CHECK(s.sgd_E(2, j) == s.E(2, j));
    }
    CHECK(s.sgd_W3(0, 0) == Approx(s.W3(0, 0) - 0.01 * s.dW3(0, 0)).epsilon(1e-14));
    // Adam at t = 1: m = 0.1g, v = 0.001g², m̂ = g, v̂ = g², W3[0,0] −= 0.01·g/(|g| + 1e-8)
    const double g = s.dW3(0, 0);
    CHECK(s.adam_g == g);
    CHECK(s.adam_m == Approx(0.1 * g).epsilon(1e-14));
    CHECK(s.adam_v == Approx(0.001 * g * g).epsilon(1e-14));
    CHECK(s.adam_m_hat == Approx(g).epsilon(1e-12));
    CHECK(s.adam_v_hat == Approx(g * g).epsilon(1e-12));
    CHECK(s.adam_W3_00 == Approx(s.W3(0, 0) - 0.01 * g / (std::abs(g) + 1e-8)).epsilon(1e-12));
    CHECK(s.gradcheck_passed);
}
