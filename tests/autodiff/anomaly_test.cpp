// Anomaly mode: the first op whose output (forward) or produced gradient (backward) holds NaN or Inf
// raises AnomalyError naming the op, the node and the pass; off by default.
#include "test_util.hpp"

using namespace tapegrad;

namespace {
template <class F>
AnomalyError anomaly_of(F&& f) {
    try {
        f();
    } catch (const AnomalyError& e) {
        return e;
    }
    FAIL("no AnomalyError was thrown");
    throw std::logic_error("unreachable");
}
}  // namespace

TEST_CASE("anomaly mode is off by default: NaN flows through as IEEE arithmetic says", "[anomaly]") {
    Tape<double> t;
    CHECK_FALSE(t.detect_anomaly());
    auto x = t.variable(Tensor<double>{{1000.0}});
    auto y = exp(x) * 0.0;  // exp(1000) overflows to Inf, and Inf·0 is NaN
    CHECK(std::isnan(y.item()));
    y.backward();
    CHECK(std::isnan(x.grad()(0, 0)));  // d/dx = exp(x)·0 = Inf·0
}

TEST_CASE("anomaly mode names the first op whose forward produced NaN or Inf", "[anomaly]") {
    Tape<double> t;
    t.set_detect_anomaly(true);
    auto x = t.variable(Tensor<double>{{1.0, 0.0}});
    auto a = x * 2.0;                  // node #1: finite
    auto e = anomaly_of([&] { (void)(1.0 / a); });  // rdiv at node #2: 1/0 = Inf at (0, 1)
    CHECK_FALSE(e.backward);
    CHECK(e.node_index == 2);
    const std::string msg = e.what();
    CHECK_THAT(msg, Catch::Contains("forward of op 'rdiv'") && Catch::Contains("node #2") &&
                        Catch::Contains("inf at (0, 1)") && Catch::Contains("1x2"));
    CHECK(t.size() == 2);  // the failed node is not recorded; the step goes on
    auto ok = a * 3.0;
    CHECK(ok.value()(0, 0) == 6.0);
}

TEST_CASE("anomaly mode names the first op whose backward produced NaN or Inf", "[anomaly]") {
    Tape<double> t;
    t.set_detect_anomaly(true);
    // sqrt(x) at x = 0 is 0 (finite), but its derivative 1/(2√x) is Inf: a backward-only anomaly.
    auto x = t.variable(Tensor<double>{{4.0, 0.0}});
    auto s = sqrt(x);             // node #1
    auto y = sum(s * 3.0);        // nodes #2, #3
    auto e = anomaly_of([&] { y.backward(); });
    CHECK(e.backward);
    CHECK(e.node_index == 1);
    const std::string msg = e.what();
    CHECK_THAT(msg, Catch::Contains("backward of op 'sqrt'") && Catch::Contains("node #1") &&
                        Catch::Contains("gradient of its input #0") && Catch::Contains("inf at (0, 1)"));
}

TEST_CASE("anomaly mode rejects a non-finite seed and checks parameters' gradients too", "[anomaly]") {
    Tape<double> t;
    t.set_detect_anomaly(true);
    auto w = t.parameter(Tensor<double>{{1.0, 2.0}});
    auto y = w * 2.0;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    auto e = anomaly_of([&] { y.backward(Tensor<double>{{1.0, nan}}); });
    CHECK(e.backward);
    CHECK_THAT(std::string(e.what()), Catch::Contains("seed gradient"));

    auto big = t.constant(Tensor<double>{{1e308, 1.0}});
    auto z = sum(w * big);  // d/dw = big: finite; forward 2e308 overflows to Inf
    CHECK_THROWS_AS(sum(w * big * 10.0), AnomalyError);
    z.backward();
    CHECK(w.grad()(0, 0) == 1e308);
}

TEST_CASE("with anomaly mode on, finite steps give the same values and gradients as with it off", "[anomaly]") {
    auto run = [](bool on) {
        Tape<double> t;
        t.set_detect_anomaly(on);
        auto w = t.parameter(test::random_matrix(4, 3, 11));
        auto x = t.constant(test::random_matrix(5, 4, 12));
        const std::vector<std::int64_t> targets = {0, 2, 1, 1, 0};
        auto loss = cross_entropy(tanh(matmul(x, w)), targets);
        loss.backward();
        return std::pair{loss.item(), Tensor<double>(w.grad())};
    };
    const auto [l0, g0] = run(false);
    const auto [l1, g1] = run(true);
    CHECK(l0 == l1);
    const bool same_gradient = g0 == g1;
    CHECK(same_gradient);
}
