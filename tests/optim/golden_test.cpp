// Golden values from torch.optim (tests/optim/golden_optim.py, checked in as golden_optim_values.hpp): the
// tiny float32 model of that script trained for kSteps steps by each optimizer, compared element by element
// with relative tolerance 1e-5 plus an absolute floor of 1e-5 × the tensor's largest magnitude: an element
// that is a small difference of larger products (cancellation) carries the rounding of those products, and
// torch and OpenBLAS sum them in different orders. W2 has no gradient on some steps, so per-parameter step
// counts are exercised too.
#include <algorithm>
#include <cmath>
#include <memory>

#include "golden_optim_values.hpp"
#include "optim_test_util.hpp"

using namespace tapegrad;
using namespace tapegrad::test;

namespace {

template <std::size_t R, std::size_t C>
Tensor<float> matrix(const float (&a)[R][C]) {
    Tensor<float> t({R, C});
    for (std::size_t r = 0; r < R; ++r)
        for (std::size_t c = 0; c < C; ++c) t(r, c) = a[r][c];
    return t;
}

template <std::size_t R, std::size_t C>
void require_rel_close(const Tensor<float>& actual, const float (&expected)[R][C]) {
    REQUIRE(actual.shape()[0] == R);
    REQUIRE(actual.shape()[1] == C);
    double largest = 0.0;
    for (std::size_t r = 0; r < R; ++r)
        for (std::size_t c = 0; c < C; ++c) largest = std::max(largest, std::abs(double(expected[r][c])));
    for (std::size_t r = 0; r < R; ++r)
        for (std::size_t c = 0; c < C; ++c) {
            INFO("element (" << r << ", " << c << ")");
            CHECK(double(actual(r, c)) == Approx(double(expected[r][c])).epsilon(1e-5).margin(1e-5 * largest));
        }
}

std::unique_ptr<Optimizer<float>> make(const golden::Case& c, const std::vector<NamedParameter<float>>& params) {
    const std::string kind = c.optimizer;
    if (kind == "SGD")
        return std::make_unique<SGD<float>>(params, SGDOptions{.lr = c.lr,
                                                               .momentum = c.momentum,
                                                               .dampening = c.dampening,
                                                               .weight_decay = c.weight_decay,
                                                               .nesterov = c.nesterov});
    if (kind == "Adam")
        return std::make_unique<Adam<float>>(params, AdamOptions{.lr = c.lr,
                                                                 .beta1 = c.beta1,
                                                                 .beta2 = c.beta2,
                                                                 .eps = c.eps,
                                                                 .weight_decay = c.weight_decay,
                                                                 .amsgrad = c.amsgrad});
    REQUIRE(kind == "AdamW");
    AdamWOptions o;
    o.lr = c.lr;
    o.beta1 = c.beta1;
    o.beta2 = c.beta2;
    o.eps = c.eps;
    o.weight_decay = c.weight_decay;
    o.amsgrad = c.amsgrad;
    return std::make_unique<AdamW<float>>(params, o);
}

// The script's model: h = tanh(x·W1); loss = Σ (h·W2 − y)², or Σ h² on the steps where W2 is skipped.
struct Model {
    Tape<float> tape;
    Var<float> w1 = tape.parameter(matrix(golden::w1_init));
    Var<float> w2 = tape.parameter(matrix(golden::w2_init));
    std::vector<NamedParameter<float>> params{{"w1", w1}, {"w2", w2}};

    void backward(int step) {
        auto x = tape.constant(matrix(golden::x));
        auto h = tanh(matmul(x, w1));  // 4×3 · 3×4 → 4×4
        if (step % golden::kSkipEvery == golden::kSkipEvery - 1) {
            sum(square(h)).backward();
        } else {
            auto y = tape.constant(matrix(golden::y));
            sum(square(matmul(h, w2) - y)).backward();  // 4×4 · 4×2 → 4×2
        }
        tape.clear();
    }
};

}  // namespace

TEST_CASE("optimizers match torch.optim after 25 steps of a tiny float32 model (golden values)", "[golden]") {
    for (const auto& c : golden::cases) {
        SECTION(c.name) {
            Model model;
            auto opt = make(c, model.params);
            for (int step = 0; step < golden::kSteps; ++step) {
                opt->zero_grad();
                model.backward(step);
                REQUIRE(model.w2.has_grad() == (step % golden::kSkipEvery != golden::kSkipEvery - 1));
                if (c.clip > 0.0) clip_grad_norm(model.params, c.clip);
                opt->step();
            }
            require_rel_close(model.w1.value(), c.w1);
            require_rel_close(model.w2.value(), c.w2);
        }
    }
}

TEST_CASE("clip_grad_norm matches torch.nn.utils.clip_grad_norm_ (golden values)", "[golden][clip]") {
    Model model;
    model.backward(0);
    require_rel_close(model.w1.grad(), golden::step0_grad_w1);
    require_rel_close(model.w2.grad(), golden::step0_grad_w2);
    CHECK(clip_grad_norm(model.params, 1.0) == Approx(double(golden::step0_norm)).epsilon(1e-5));
    require_rel_close(model.w1.grad(), golden::step0_clipped_w1);
    require_rel_close(model.w2.grad(), golden::step0_clipped_w2);
}
