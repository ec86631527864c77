#include <sstream>

#include "test_util.hpp"

using namespace tapegrad;
using test::random_matrix;

TEST_CASE("a value used twice receives the sum of both gradients", "[tape]") {
    Tape<double> t;
    auto x = t.variable(Tensor<double>{{3.0}});
    auto y = x * x + x;  // dy/dx = 2x + 1 = 7
    y.backward();
    CHECK(x.grad()(0, 0) == 7.0);
}

TEST_CASE("parameter gradients accumulate across backward calls until zero_grad", "[tape]") {
    Tape<double> t;
    auto w = t.parameter(Tensor<double>{{2.0}});
    for (int step = 0; step < 3; ++step) {
        auto x = t.constant(Tensor<double>{{double(step + 1)}});
        (w * x).backward();  // d/dw = x
        t.clear();
    }
    CHECK(w.grad()(0, 0) == 1.0 + 2.0 + 3.0);
    t.zero_grad();
    CHECK_FALSE(w.has_grad());
    // reading has no side effect: no gradient reached w since zero_grad, and reading does not make one
    CHECK_THROWS_WITH(w.grad(), Catch::Matchers::Contains("no gradient reached this value (op 'parameter')"));
    CHECK_FALSE(w.has_grad());
    auto x = t.constant(Tensor<double>{{5.0}});
    (w * x).backward();
    CHECK(w.grad()(0, 0) == 5.0);
}

TEST_CASE("backward twice on one step adds into leaves but recomputes intermediates", "[tape]") {
    Tape<double> t;
    auto x = t.variable(Tensor<double>{{2.0}});
    auto h = x * 3.0;
    auto y = h * h;  // dy/dx = 18x = 36
    y.backward();
    y.backward();
    CHECK(x.grad()(0, 0) == 72.0);
    CHECK(h.grad()(0, 0) == 12.0);  // dy/dh = 2h, from the last call only
}

TEST_CASE("parameters survive clear, step handles do not", "[tape][errors]") {
    Tape<double> t;
    auto w = t.parameter(random_matrix(2, 2, 1));
    auto x = t.variable(random_matrix(2, 2, 2));
    auto y = matmul(x, w);
    t.clear();
    CHECK(w.value()(1, 1) == random_matrix(2, 2, 1)(1, 1));
    REQUIRE_THROWS_AS(y.value(), UsageError);
    REQUIRE_THROWS_WITH(x + w, Catch::Matchers::Contains("add: handle to node #0 of step 1, but that step was cleared"));
    REQUIRE_THROWS_AS(y.backward(), UsageError);
}

TEST_CASE("node buffers are reused by the next step", "[tape]") {
    Tape<double> t;
    auto w = t.parameter(random_matrix(4, 4, 1));
    const double* first = nullptr;
    for (int step = 0; step < 3; ++step) {
        auto x = t.variable(random_matrix(8, 4, unsigned(step)));
        auto y = sum(tanh(matmul(x, w)));
        if (step == 0) first = y.value().data();
        else CHECK(y.value().data() == first);
        y.backward();
        t.clear();
    }
    CHECK(t.size() == 0);
}

TEST_CASE("backward of a non-scalar needs an explicit seed", "[tape][errors]") {
    Tape<double> t;
    auto x = t.variable(random_matrix(2, 3, 1));
    auto y = x * 2.0;
    REQUIRE_THROWS_MATCHES(y.backward(), UsageError,
                           Catch::Matchers::Message("backward: output (op 'mul_scalar') is 2x3, not a scalar; pass a seed "
                                                    "gradient of that shape: backward(seed)"));
    REQUIRE_THROWS_WITH(y.backward(Tensor<double>({3, 2}, 1.0)),
                        "backward: seed gradient is 3x2, expected the output's shape 2x3");
    Tensor<double> seed = random_matrix(2, 3, 2);
    y.backward(seed);
    for (std::size_t i = 0; i < 6; ++i) CHECK(x.grad().data()[i] == 2.0 * seed.data()[i]);
}

TEST_CASE("no-grad scope records nothing differentiable", "[tape]") {
    Tape<double> t;
    auto w = t.parameter(Tensor<double>{{2.0}});
    Var<double> y;
    {
        NoGradGuard<double> guard(t);
        y = w * 3.0;
        CHECK_FALSE(t.grad_enabled());
    }
    CHECK(t.grad_enabled());
    CHECK(y.value()(0, 0) == 6.0);
    CHECK_FALSE(y.requires_grad());
    REQUIRE_THROWS_WITH(y.backward(), Catch::Matchers::Contains("does not require a gradient"));
    REQUIRE_THROWS_AS(y.grad(), UsageError);
    // Using the no-grad result later contributes no gradient to w.
    auto z = y * w;  // dz/dw = y = 6 (y is a constant)
    z.backward();
    CHECK(w.grad()(0, 0) == 6.0);
}

TEST_CASE("detach cuts the graph", "[tape]") {
    Tape<double> t;
    auto x = t.variable(Tensor<double>{{3.0}});
    auto y = x * x;
    auto z = detach(y) * x;  // d/dx = y = 9, not 3x² = 27
    z.backward();
    CHECK(x.grad()(0, 0) == 9.0);
}

TEST_CASE("a chain of 100,000 nodes backpropagates without recursion", "[tape]") {
    Tape<double> t;
    auto x = t.variable(Tensor<double>{{1.0}});
    auto y = x;
    for (int i = 0; i < 100000; ++i) y = y + 1e-5;
    y = y * 2.0;
    y.backward();
    CHECK(t.size() == 100002);
    CHECK(y.item() == Approx(2.0 * (1.0 + 1.0)));
    CHECK(x.grad()(0, 0) == 2.0);
}

TEST_CASE("handles from another tape or empty handles are rejected", "[tape][errors]") {
    Tape<double> a, b;
    auto x = a.variable(Tensor<double>{{1.0}});
    auto y = b.variable(Tensor<double>{{1.0}});
    REQUIRE_THROWS_WITH(x + y, Catch::Matchers::Contains("add: handle belongs to another tape"));
    Var<double> empty;
    REQUIRE_THROWS_AS(empty.value(), UsageError);
    REQUIRE_THROWS_AS(x.mutable_value(), UsageError);  // only parameters change in place
}

TEST_CASE("the tape lists its nodes and exports Graphviz DOT", "[tape][inspection]") {
    Tape<double> t;
    auto w = t.parameter(random_matrix(3, 2, 1));
    auto x = t.constant(random_matrix(4, 3, 2));
    auto loss = sum(matmul(x, w));
    std::ostringstream os;
    t.print(os);
    const std::string listing = os.str();
    INFO(listing);
    CHECK_THAT(listing, Catch::Matchers::Contains("1 parameters, 3 step nodes"));
    CHECK_THAT(listing, Catch::Matchers::Contains("matmul"));
    CHECK_THAT(listing, Catch::Matchers::Contains("#0:4x3, p0:3x2"));
    // bytes kept: w 6, x 12, matmul 8, sum 1 doubles = 27 · 8
    CHECK_THAT(listing, Catch::Matchers::Contains("total bytes kept for backward: 216"));
    const std::string dot = t.to_dot();
    CHECK_THAT(dot, Catch::Matchers::StartsWith("digraph tape {"));
    CHECK_THAT(dot, Catch::Matchers::Contains("p0 -> n1;"));
    CHECK_THAT(dot, Catch::Matchers::Contains("n1 -> n2;"));
    (void)loss;
}

TEST_CASE("item and grad of values that need none", "[tape][errors]") {
    Tape<double> t;
    auto c = t.constant(random_matrix(2, 2, 1));
    REQUIRE_THROWS_WITH(c.item(), "item: value is 2x2, expected 1x1");
    REQUIRE_THROWS_WITH(c.grad(), Catch::Matchers::Contains("grad: this value (op 'constant') does not require a gradient"));
}

TEST_CASE("references to values stay valid while more nodes are recorded", "[tape]") {
    Tape<double> t;
    auto x = t.variable(Tensor<double>{{1.5}});
    const Tensor<double>& held = x.value();
    auto y = x;
    for (int i = 0; i < 5000; ++i) y = y * 1.0;
    CHECK(held(0, 0) == 1.5);
    CHECK(&held == &x.value());
}

// A tensor of the other element type is refused at compile time (it used to convert silently).
template <class TapeT, class X>
concept takes_parameter = requires(TapeT& t, X x) { t.parameter(x); };
template <class TapeT, class X>
concept takes_variable = requires(TapeT& t, X x) { t.variable(x); };
template <class TapeT, class X>
concept takes_constant = requires(TapeT& t, X x) { t.constant(x); };
static_assert(takes_parameter<Tape<float>, Tensor<float>> && takes_variable<Tape<double>, Tensor<double>>);
static_assert(!takes_parameter<Tape<float>, Tensor<double>>);
static_assert(!takes_variable<Tape<float>, Tensor<double>>);
static_assert(!takes_constant<Tape<double>, Tensor<float>>);

TEST_CASE("mutable_grad: a parameter's gradient, writable, live after the call", "[tape]") {
    Tape<double> t;
    auto w = t.parameter(Tensor<double>{{2.0, 3.0}});
    Tensor<double>& g = w.mutable_grad();  // none had reached w: zeros, now live
    CHECK(w.has_grad());
    CHECK(g(0, 0) == 0.0);
    (sum(w * t.constant(Tensor<double>{{4.0, 5.0}}))).backward();
    CHECK(w.grad()(0, 1) == 5.0);
    w.mutable_grad()(0, 1) *= 2.0;  // what clipping or an all-reduce does
    CHECK(w.grad()(0, 1) == 10.0);
    auto x = t.variable(Tensor<double>{{1.0}});
    CHECK_THROWS_WITH(x.mutable_grad(), "mutable_grad: only a parameter's gradient may be changed in place");
}

namespace {

// Three steps of `step(a, b, x, released)` (forward, backward and its own checks) on parameters a, b and a
// leaf x, once with every intermediate gradient kept and once with them released; the last step's gradients
// of a, b and x must be the same bits.
template <class Step>
void require_same_gradients_when_released(const Tensor<double>& a0, const Tensor<double>& b0, const Tensor<double>& x0,
                                          Step step) {
    std::vector<Tensor<double>> grads[2];
    for (int release = 0; release < 2; ++release) {
        Tape<double> t;
        t.set_release_intermediate_gradients(release == 1);
        auto a = t.parameter(a0), b = t.parameter(b0);
        for (int k = 0; k < 3; ++k) {  // steps reuse the pool's buffers
            t.zero_grad();
            auto x = t.variable(x0);
            step(a, b, x, release == 1);
            REQUIRE(x.has_grad());  // a leaf keeps its gradient
            if (k == 2) grads[release] = {a.grad(), b.grad(), x.grad()};
            t.clear();
        }
    }
    for (std::size_t i = 0; i < 3; ++i) {  // bit for bit
        REQUIRE(grads[1][i].size() == grads[0][i].size());
        for (std::size_t k = 0; k < grads[0][i].size(); ++k) CHECK(grads[1][i].data()[k] == grads[0][i].data()[k]);
    }
}

}  // namespace

TEST_CASE("released intermediate gradients: the same parameter gradients, buffers reused, released ones unreadable", "[tape]") {
    require_same_gradients_when_released(
        test::random_matrix(4, 6, 2), test::random_matrix(6, 3, 3), test::random_matrix(5, 4, 1),
        [](const Var<double>& a, const Var<double>& b, const Var<double>& x, bool released) {
            auto h = tanh(matmul(x, a));
            auto loss = sum(square(matmul(h, b)) + h.tape().constant(Tensor<double>({5, 3}, 1.0)));
            loss.backward();
            if (released) {
                CHECK_FALSE(h.has_grad());
                CHECK_THROWS_WITH(h.grad(), Catch::Matchers::Contains("was released by backward"));
            } else {
                CHECK(h.has_grad());
            }
        });
}

TEST_CASE("a reused node slot forgets that its last gradient was released", "[tape][errors]") {
    Tape<double> t;
    t.set_release_intermediate_gradients(true);
    auto w = t.parameter(Tensor<double>{{2.0}});
    auto x = t.variable(Tensor<double>{{3.0}});
    auto h = tanh(mul(x, w));  // slot 1 holds mul, slot 2 tanh: intermediates, released by backward
    sum(h).backward();
    REQUIRE_THROWS_WITH(h.grad(), Catch::Matchers::Contains("was released by backward"));
    t.clear();
    auto a = t.variable(Tensor<double>{{1.0}});
    auto b = t.variable(Tensor<double>{{1.0}});
    auto c = t.variable(Tensor<double>{{1.0}});  // slot 2 again, now a leaf no backward reached
    sum(mul(a, b)).backward();
    CHECK_THROWS_WITH(c.grad(), Catch::Matchers::Contains("no gradient reached this value"));
}

TEST_CASE("a residual's gradient handed over, elementwise gradients in place: the same bits as with every gradient kept",
          "[tape]") {
    // y = x + x·A, z = y + tanh(y)·B, loss = Σ z²: with released gradients addmm hands dz's buffer to y, tanh's
    // VJP adds into it, y's own VJP hands it on to the leaf x, and square's and tanh's VJPs run in place.
    const Tensor<double> x0 = test::random_matrix(5, 4, 31), a0 = test::random_matrix(4, 4, 32), b0 = test::random_matrix(4, 4, 33);
    require_same_gradients_when_released(a0, b0, x0, [](const Var<double>& a, const Var<double>& b, const Var<double>& x, bool) {
        auto y = addmm(x, x, a);
        sum(square(addmm(y, tanh(y), b))).backward();
    });
    // and they agree with finite differences
    REQUIRE(gradcheck([](const auto& v) { auto y = addmm(v[0], v[0], v[1]); return sum(square(addmm(y, tanh(y), v[2]))); },
                      {x0, a0, b0}));
}
