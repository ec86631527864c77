#include <cmath>

#include "test_util.hpp"

using namespace tapegrad;
using test::random_matrix;

namespace {

// seed-math 1: vocabulary w = 3, ids [0, 1], targets [1, 2], logits ln(P).
const Tensor<double> kP = {{0.320, 0.333, 0.347}, {0.301, 0.332, 0.367}};
const std::vector<std::int64_t> kTargets = {1, 2};

Tensor<double> log_of(const Tensor<double>& p) {
    Tensor<double> out = p;
    for (auto& v : out) v = std::log(v);
    return out;
}

}  // namespace

TEST_CASE("the design note's worked example: loss 1.051003", "[softmax][seed]") {
    Tape<double> t;
    auto logits = t.variable(log_of(kP));
    test::require_close(softmax(logits).value(), kP, 1e-15);
    auto per_position = cross_entropy(logits, kTargets, {.reduction = Reduction::none});
    CHECK(per_position.value()(0, 0) == Approx(1.099613).margin(1e-6));  // −ln 0.333
    CHECK(per_position.value()(1, 0) == Approx(1.002393).margin(1e-6));  // −ln 0.367
    auto loss = cross_entropy(logits, kTargets);
    CHECK(loss.item() == Approx(1.051003).margin(1e-6));
    // The note's 1.0515 is the mean of the terms rounded to three decimals: (1.100 + 1.003) / 2.
    CHECK(loss.item() != Approx(1.0515).margin(1e-5));
}

TEST_CASE("the design note's dL/dlogits = P − onehot, for sum and for mean", "[softmax][seed]") {
    const Tensor<double> expected_sum = {{0.320, -0.667, 0.347}, {0.301, 0.332, -0.633}};
    SECTION("reduction sum") {
        Tape<double> t;
        auto logits = t.variable(log_of(kP));
        cross_entropy(logits, kTargets, {.reduction = Reduction::sum}).backward();
        test::require_close(logits.grad(), expected_sum, 1e-12);
    }
    SECTION("reduction mean: every row divided by n = 2") {
        Tape<double> t;
        auto logits = t.variable(log_of(kP));
        cross_entropy(logits, kTargets).backward();
        test::require_close(logits.grad(), Tensor<double>(expected_sum / 2.0), 1e-12);
    }
}

TEST_CASE("gradcheck of softmax, log_softmax and cross_entropy", "[softmax][gradcheck]") {
    const Tensor<double> x = random_matrix(4, 5, 1, -3.0, 3.0);
    REQUIRE(gradcheck([](const auto& v) { return softmax(v[0]); }, {x}));
    REQUIRE(gradcheck([](const auto& v) { return log_softmax(v[0]); }, {x}));
    const std::vector<std::int64_t> targets = {0, 4, 4, 2};
    for (Reduction r : {Reduction::mean, Reduction::sum, Reduction::none}) {
        REQUIRE(gradcheck([&](const auto& v) { return cross_entropy(v[0], targets, {.reduction = r}); }, {x}));
        REQUIRE(gradcheck([&](const auto& v) { return cross_entropy(v[0], targets, {.reduction = r, .label_smoothing = 0.1}); }, {x}));
        REQUIRE(gradcheck([&](const auto& v) {
            return cross_entropy(v[0], std::vector<std::int64_t>{0, -100, 4, -100}, {.reduction = r});
        }, {x}));
    }
    SECTION("edge shapes: 1x1, one row, vocabulary of 1") {
        REQUIRE(gradcheck([](const auto& v) { return softmax(v[0]); }, {random_matrix(1, 1, 2)}));
        REQUIRE(gradcheck([](const auto& v) { return cross_entropy(v[0], std::vector<std::int64_t>{0}); }, {random_matrix(1, 1, 3)}));
        REQUIRE(gradcheck([](const auto& v) { return cross_entropy(v[0], std::vector<std::int64_t>{3}); }, {random_matrix(1, 6, 4)}));
        REQUIRE(gradcheck([](const auto& v) { return cross_entropy(v[0], std::vector<std::int64_t>{0, 0, 0}); }, {random_matrix(3, 1, 5)}));
    }
}

TEST_CASE("cross_entropy is stable for logits of ±1e4", "[softmax]") {
    Tape<double> t;
    auto logits = t.variable(Tensor<double>{{1e4, -1e4, 0.0}, {-1e4, -1e4, 1e4}});
    auto loss = cross_entropy(logits, std::vector<std::int64_t>{1, 2}, {.reduction = Reduction::sum});
    // row 0: lse = 1e4, loss = 1e4 − (−1e4) = 2e4;  row 1: loss = lse − 1e4 = 0 (to double precision)
    CHECK(loss.item() == Approx(2e4));
    loss.backward();
    test::require_close(logits.grad(), Tensor<double>{{1.0, -1.0, 0.0}, {0.0, 0.0, 0.0}}, 1e-12);
    REQUIRE(gradcheck([](const auto& v) { return cross_entropy(v[0], std::vector<std::int64_t>{1, 2}); },
                      {Tensor<double>{{1e4, -1e4, 0.0}, {-1e4, -1e4, 1e4}}}));
    Tape<float> tf;
    auto lf = tf.variable(Tensor<float>{{1e4f, -1e4f, 0.f}});
    auto loss_f = cross_entropy(lf, std::vector<std::int64_t>{1});
    CHECK(std::isfinite(loss_f.item()));
    loss_f.backward();
    for (float g : lf.grad()) CHECK(std::isfinite(g));
}

TEST_CASE("label smoothing follows the smoothed target distribution", "[softmax]") {
    const double eps = 0.2;
    Tape<double> t;
    auto logits = t.variable(log_of(kP));
    auto loss = cross_entropy(logits, kTargets, {.reduction = Reduction::sum, .label_smoothing = eps});
    // loss_i = −Σ_j q_ij ln P_ij with q = (1 − ε)·onehot + ε/3
    double expected = 0;
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 3; ++j)
            expected -= ((1 - eps) * (std::int64_t(j) == kTargets[i]) + eps / 3) * std::log(kP(i, j));
    CHECK(loss.item() == Approx(expected).epsilon(1e-12));
    loss.backward();
    CHECK(logits.grad()(0, 1) == Approx(0.333 - (1 - eps) - eps / 3).epsilon(1e-12));
    CHECK(logits.grad()(0, 0) == Approx(0.320 - eps / 3).epsilon(1e-12));
}

TEST_CASE("ignore_index: ignored positions contribute nothing and the mean counts the others", "[softmax]") {
    Tape<double> t;
    auto logits = t.variable(log_of(kP));
    auto loss = cross_entropy(logits, std::vector<std::int64_t>{-100, 2});
    CHECK(loss.item() == Approx(-std::log(0.367)).epsilon(1e-12));  // mean over the one counted position
    loss.backward();
    test::require_close(logits.grad(), Tensor<double>{{0.0, 0.0, 0.0}, {0.301, 0.332, -0.633}}, 1e-12);
    SECTION("every position ignored: loss 0 and no gradient, never NaN") {
        Tape<double> t2;
        auto l2 = t2.variable(log_of(kP));
        auto all_ignored = cross_entropy(l2, std::vector<std::int64_t>{7, 7}, {.ignore_index = 7});
        CHECK(all_ignored.item() == 0.0);
        all_ignored.backward();
        for (double g : l2.grad()) CHECK(g == 0.0);
    }
}

TEST_CASE("cross_entropy errors name the target, its position and the vocabulary", "[softmax][errors]") {
    Tape<double> t;
    auto logits = t.variable(log_of(kP));
    REQUIRE_THROWS_MATCHES(cross_entropy(logits, std::vector<std::int64_t>{1, 3}), IndexError,
                           Catch::Matchers::Message("cross_entropy: target 3 at position 1 is outside the vocabulary of "
                                                    "size 3 (expected 0..2, or ignore_index -100)"));
    REQUIRE_THROWS_AS(cross_entropy(logits, std::vector<std::int64_t>{-1, 0}), IndexError);
    REQUIRE_THROWS_WITH(cross_entropy(logits, std::vector<std::int64_t>{1}),
                        "cross_entropy: 1 targets for logits of shape 2x3 (expected one target per row: 2)");
    REQUIRE_THROWS_AS(cross_entropy(logits, kTargets, {.label_smoothing = 1.5}), DomainError);
}
