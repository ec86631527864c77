// The update loops run over OpenMP's threads in blocks: results must not depend on the thread count, and
// a non-finite gradient must still be reported at its first element with nothing non-finite written.
#include <catch2/catch.hpp>

#include <cmath>

#include "tapegrad/autodiff/autodiff.hpp"
#include "tapegrad/optim/optim.hpp"

using namespace tapegrad;

namespace {

// A parameter large enough to be split between threads (2^15 elements and more).
Tensor<float> ramp(std::size_t rows, std::size_t cols, float scale) {
    Tensor<float> t({rows, cols});
    for (std::size_t k = 0; k < t.size(); ++k) t.data()[k] = scale * std::sin(float(k) * 0.37f);
    return t;
}

template <class Make>
Tensor<float> train(int threads, Make make) {
    set_num_threads(threads);
    Tape<float> tape;
    auto w = tape.parameter(ramp(300, 200, 1.0f));
    auto opt = make(std::vector<NamedParameter<float>>{{"w", w}});
    for (int step = 0; step < 5; ++step) {
        opt.zero_grad();
        auto g = tape.constant(ramp(300, 200, 0.01f * float(step + 1)));
        sum(w * g).backward();  // dL/dw = g
        tape.clear();
        opt.step();
    }
    set_num_threads(1);
    return w.value();
}

}  // namespace

TEST_CASE("Adam, AdamW and SGD give bitwise the same parameters at 1 and 2 threads", "[optimizer][threads]") {
    auto adam = [](auto p) { return Adam<float>(p, {.lr = 0.01, .amsgrad = true}); };
    auto adamw = [](auto p) { return AdamW<float>(p, {.lr = 0.01, .weight_decay = 0.1}); };
    auto sgd = [](auto p) { return SGD<float>(p, {.lr = 0.1, .momentum = 0.9, .nesterov = true}); };
    const bool adam_same = train(1, adam) == train(2, adam);
    const bool adamw_same = train(1, adamw) == train(2, adamw);
    const bool sgd_same = train(1, sgd) == train(2, sgd);
    CHECK(adam_same);
    CHECK(adamw_same);
    CHECK(sgd_same);
}

TEST_CASE("a NaN deep in a large gradient is reported at its element at 2 threads, nothing NaN written", "[optimizer][threads]") {
    set_num_threads(2);
    Tape<float> tape;
    auto w = tape.parameter(ramp(300, 200, 1.0f));
    Adam<float> opt({{"w", w}}, {.lr = 0.01});
    Tensor<float> g = ramp(300, 200, 0.01f);
    g(250, 7) = std::nanf("");  // element 50007: in the second thread's half
    g(251, 0) = INFINITY;
    sum(w * tape.constant(g)).backward();
    CHECK_THROWS_WITH(opt.step(), Catch::Contains("element 50007") && Catch::Contains("row 250, col 7"));
    for (float x : w.value()) REQUIRE(std::isfinite(x));
    set_num_threads(1);
}
