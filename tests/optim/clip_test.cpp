// clip_grad_norm against hand-computed norms and torch's factor max_norm / (‖g‖ + 1e-6).
#include "optim_test_util.hpp"

using namespace tapegrad;
using namespace tapegrad::test;

namespace {

// Gradients (3, 4) and (12): ‖g‖ = √(9 + 16 + 144) = 13. A third parameter has no gradient.
struct Setup {
    Tape<double> tape;
    Var<double> a = tape.parameter(Tensor<double>{{1.0, 1.0}});
    Var<double> b = tape.parameter(Tensor<double>{{1.0}});
    Var<double> none = tape.parameter(Tensor<double>{{1.0}});
    std::vector<NamedParameter<double>> params{{"a", a}, {"b", b}, {"none", none}};
    Setup() {
        backward_with_grad(tape, a, Tensor<double>{{3.0, 4.0}});
        backward_with_grad(tape, b, Tensor<double>{{12.0}});
    }
};

}  // namespace

TEST_CASE("clip_grad_norm returns the global L2 norm and scales by max_norm / (norm + 1e-6) above it", "[clip]") {
    Setup s;
    SECTION("norm above max_norm: every gradient scaled by the same factor") {
        CHECK(clip_grad_norm(s.params, 6.5) == 13.0);
        const double factor = 6.5 / (13.0 + 1e-6);  // torch: clip_coef = max_norm / (total_norm + 1e-6)
        CHECK(s.a.grad()(0, 0) == Approx(3.0 * factor).epsilon(1e-15));
        CHECK(s.a.grad()(0, 1) == Approx(4.0 * factor).epsilon(1e-15));
        CHECK(s.b.grad()(0, 0) == Approx(12.0 * factor).epsilon(1e-15));
        CHECK_FALSE(s.none.has_grad());  // parameters without a gradient are skipped
        // The clipped norm is just below max_norm.
        CHECK(clip_grad_norm(s.params, 100.0) == Approx(6.5 * 13.0 / (13.0 + 1e-6)).epsilon(1e-15));
    }
    SECTION("norm below max_norm: nothing changes") {
        CHECK(clip_grad_norm(s.params, 20.0) == 13.0);
        CHECK(s.a.grad()(0, 0) == 3.0);
        CHECK(s.b.grad()(0, 0) == 12.0);
        CHECK(clip_grad_norm(s.params, INFINITY) == 13.0);
        CHECK(s.a.grad()(0, 1) == 4.0);
    }
    SECTION("norm equal to max_norm: torch still scales, by 13 / (13 + 1e-6)") {
        CHECK(clip_grad_norm(s.params, 13.0) == 13.0);
        CHECK(s.b.grad()(0, 0) == Approx(12.0 * 13.0 / (13.0 + 1e-6)).epsilon(1e-15));
        CHECK(s.b.grad()(0, 0) < 12.0);
    }
    SECTION("no gradients at all: norm 0") {
        Tape<float> tape;
        std::vector<NamedParameter<float>> params{{"p", tape.parameter(Tensor<float>{{1.0f}})}};
        CHECK(clip_grad_norm(params, 1.0) == 0.0);
    }
}

TEST_CASE("clip_grad_norm accumulates float gradients in double", "[clip]") {
    // 10⁶ elements of 1e-3 in float: a float accumulator would be off by ~1e-3 relative; double by ~1e-10.
    Tape<float> tape;
    auto p = tape.parameter(Tensor<float>({1000, 1000}, 0.0f));
    backward_with_grad(tape, p, Tensor<float>({1000, 1000}, 1e-3f));
    std::vector<NamedParameter<float>> params{{"p", p}};
    const double expected = std::sqrt(1e6 * double(1e-3f) * double(1e-3f));
    CHECK(clip_grad_norm(params, 10.0) == Approx(expected).epsilon(1e-9));
}

TEST_CASE("clip_grad_norm rejects a bad max_norm and non-finite gradients", "[clip][errors]") {
    Setup s;
    require_throws<DomainError>([&] { clip_grad_norm(s.params, 0.0); }, {"clip_grad_norm", "max_norm", "= 0"});
    require_throws<DomainError>([&] { clip_grad_norm(s.params, -1.0); }, {"clip_grad_norm", "max_norm", "-1"});
    require_throws<DomainError>([&] { clip_grad_norm(s.params, std::nan("")); }, {"clip_grad_norm", "max_norm", "nan"});
    for (const double bad : {std::nan(""), double(INFINITY)}) {
        Setup t;
        backward_with_grad(t.tape, t.b, Tensor<double>{{bad}});  // b's gradient: 12 + bad
        require_throws<DomainError>([&] { clip_grad_norm(t.params, 1.0); },
                                    {"clip_grad_norm", "'b'", "element 0", "no gradient was scaled"});
        CHECK(t.a.grad()(0, 0) == 3.0);
    }
    // Finite elements whose squares overflow double.
    Tape<double> tape;
    auto p = tape.parameter(Tensor<double>{{1.0, 1.0}});
    backward_with_grad(tape, p, Tensor<double>{{1e200, 1e200}});
    std::vector<NamedParameter<double>> params{{"p", p}};
    require_throws<DomainError>([&] { clip_grad_norm(params, 1.0); }, {"clip_grad_norm", "overflows"});
}
