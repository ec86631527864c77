// SGD against a plain scalar reference of torch.optim.SGD's definition, hand values, resume, bad options.
#include <limits>
#include <map>

#include "optim_test_util.hpp"

using namespace tapegrad;
using namespace tapegrad::test;

namespace {

// torch.optim.SGD, written out per scalar: g += wd·p; b = g (first step) or b = μ·b + (1 − τ)·g;
// g = g + μ·b (Nesterov) or g = b; p -= lr·g.
struct ReferenceSGD {
    SGDOptions o;
    std::map<std::string, std::vector<double>> buffer;  // absent until the parameter's first step

    void step(const std::string& name, std::vector<double>& p, const std::vector<double>& grad) {
        const bool first = buffer.count(name) == 0;
        auto& b = buffer[name];
        b.resize(p.size());
        for (std::size_t k = 0; k < p.size(); ++k) {
            double g = grad[k] + o.weight_decay * p[k];
            if (o.momentum != 0.0) {
                b[k] = first ? g : o.momentum * b[k] + (1.0 - o.dampening) * g;
                g = o.nesterov ? g + o.momentum * b[k] : b[k];
            }
            p[k] -= o.lr * g;
        }
    }
};


void check_against_reference(const SGDOptions& options, int steps) {
    Toy<double> toy;
    SGD<double> opt(toy.params(), options);
    ReferenceSGD ref{options, {}};
    std::vector<double> w = values(toy.w.value()), b = values(toy.b.value());
    for (int s = 0; s < steps; ++s) {
        INFO("step " << s);
        const Tensor<double> b_before = toy.b.value();
        opt.zero_grad();
        toy.backward(s);
        opt.step();
        ref.step("w", w, toy_grads(w, s, kPhaseW));
        if (!toy_b_skipped(s)) ref.step("b", b, toy_grads(b, s, kPhaseB));
        require_close(toy.w.value(), w);
        require_close(toy.b.value(), b);
        if (toy_b_skipped(s)) require_identical(toy.b.value(), b_before);  // skipped: untouched
    }
    CHECK(opt.step_count() == steps);
    CHECK(opt.param_step_count(0) == steps);
    CHECK(opt.param_step_count(1) == steps - (steps + 1) / 3);
}

}  // namespace

TEST_CASE("SGD follows the reference for 60 steps with a parameter that skips steps", "[sgd]") {
    SECTION("plain: p -= lr·g") { check_against_reference({.lr = 0.05}, 60); }
    SECTION("momentum") { check_against_reference({.lr = 0.02, .momentum = 0.9}, 60); }
    SECTION("momentum with dampening") { check_against_reference({.lr = 0.02, .momentum = 0.8, .dampening = 0.3}, 60); }
    SECTION("Nesterov") { check_against_reference({.lr = 0.02, .momentum = 0.9, .nesterov = true}, 60); }
    SECTION("weight decay") { check_against_reference({.lr = 0.05, .weight_decay = 0.1}, 60); }
    SECTION("Nesterov with weight decay") {
        check_against_reference({.lr = 0.02, .momentum = 0.7, .weight_decay = 0.05, .nesterov = true}, 60);
    }
}

TEST_CASE("SGD by hand: the note's p = p - lr·dp and torch's momentum buffer", "[sgd]") {
    Tape<double> tape;
    auto p = tape.parameter(Tensor<double>{{1.0, -2.0}});
    SECTION("plain, lr 0.01 (seed-math §3)") {
        SGD<double> opt({{"p", p}}, {.lr = 0.01});
        backward_with_grad(tape, p, Tensor<double>{{0.5, -4.0}});
        opt.step();
        CHECK(p.value()(0, 0) == 1.0 - 0.01 * 0.5);
        CHECK(p.value()(0, 1) == -2.0 + 0.01 * 4.0);
    }
    SECTION("momentum: the buffer starts at g, then b = μ·b + g") {
        SGD<double> opt({{"p", p}}, {.lr = 0.5, .momentum = 0.5});
        backward_with_grad(tape, p, Tensor<double>{{1.0, 2.0}});
        opt.step();  // b = (1, 2); p = (1, -2) − 0.5·(1, 2) = (0.5, −3)
        CHECK(p.value()(0, 0) == 0.5);
        CHECK(p.value()(0, 1) == -3.0);
        opt.zero_grad();
        backward_with_grad(tape, p, Tensor<double>{{1.0, 2.0}});
        opt.step();  // b = 0.5·(1, 2) + (1, 2) = (1.5, 3); p = (0.5, −3) − 0.5·(1.5, 3) = (−0.25, −4.5)
        CHECK(p.value()(0, 0) == -0.25);
        CHECK(p.value()(0, 1) == -4.5);
        CHECK(state_tensor(opt.state_dict(), "optim.momentum_buffer.p")(0, 1) == 3.0);
    }
    SECTION("Nesterov: p -= lr·(g + μ·b)") {
        SGD<double> opt({{"p", p}}, {.lr = 0.5, .momentum = 0.5, .nesterov = true});
        backward_with_grad(tape, p, Tensor<double>{{1.0, 2.0}});
        opt.step();  // b = (1, 2); g + μb = (1.5, 3); p = (1, −2) − 0.5·(1.5, 3) = (0.25, −3.5)
        CHECK(p.value()(0, 0) == 0.25);
        CHECK(p.value()(0, 1) == -3.5);
    }
}

TEST_CASE("SGD resumes bit for bit from its state dict", "[sgd][state]") {
    const std::vector<SGDOptions> configs = {
        {.lr = 0.05},
        {.lr = 0.02, .momentum = 0.9},
        {.lr = 0.02, .momentum = 0.8, .dampening = 0.3, .weight_decay = 0.01},
        {.lr = 0.02, .momentum = 0.9, .weight_decay = 0.05, .nesterov = true},
    };
    for (std::size_t c = 0; c < configs.size(); ++c) {
        SECTION("configuration " + std::to_string(c)) {
            for (const int k : {1, 13, 30}) {
                INFO("saved after " << k << " of 40 steps");
                const int n = 40;
                Toy<float> straight;
                SGD<float> a(straight.params(), configs[c]);
                run_toy(straight, a, 0, n);

                Toy<float> first;
                SGD<float> b(first.params(), configs[c]);
                run_toy(first, b, 0, k);
                const StateDict<float> saved = b.state_dict();

                // Fresh parameters holding the saved values, a fresh optimizer with default options.
                Toy<float> resumed;
                resumed.w.mutable_value() = first.w.value();
                resumed.b.mutable_value() = first.b.value();
                SGD<float> r(resumed.params());
                r.load_state_dict(saved);
                require_same_state(r.state_dict(), saved);
                run_toy(resumed, r, k, n);

                require_identical(resumed.w.value(), straight.w.value());
                require_identical(resumed.b.value(), straight.b.value());
                require_same_state(r.state_dict(), a.state_dict());
            }
        }
    }
}

TEST_CASE("SGD rejects bad hyper-parameters, naming them", "[sgd][errors]") {
    Tape<float> tape;
    std::vector<NamedParameter<float>> params = {{"p", tape.parameter(Tensor<float>{{1.0f}})}};
    const double nan = std::nan("");
    auto bad = [&](SGDOptions o, std::vector<std::string> parts) {
        parts.insert(parts.begin(), "SGD");
        require_throws<DomainError>([&] { SGD<float> opt(params, o); }, parts);
    };
    bad({.lr = -0.1}, {"lr", "-0.1"});
    bad({.lr = nan}, {"lr", "nan"});
    bad({.lr = INFINITY}, {"lr", "inf"});
    bad({.momentum = -0.5}, {"momentum", "-0.5"});
    bad({.momentum = nan}, {"momentum", "nan"});
    bad({.dampening = -1.0}, {"dampening", "-1"});
    bad({.weight_decay = -0.01}, {"weight_decay", "-0.01"});
    bad({.nesterov = true}, {"momentum", "= 0", "nesterov"});
    bad({.momentum = 0.9, .dampening = 0.1, .nesterov = true}, {"dampening", "0.1", "nesterov"});
    SGD<float> ok(params, {.lr = 0.0});  // lr 0 is allowed, as in torch
    CHECK(ok.lr() == 0.0);
}

// A momentum buffer holding NaN or Inf used to load; the next update then wrote NaN (or ±Inf) into the
// parameter. The toy's layer.w is 3x4 and layer.b 1x4: element k is at row k / 4, col k % 4.
TEST_CASE("SGD rejects a non-finite momentum buffer, naming the tensor and element, and changes nothing", "[sgd][state][errors]") {
    Toy<double> toy;
    SGD<double> opt(toy.params(), {.lr = 0.05, .momentum = 0.5});
    run_toy(toy, opt, 0, 2);
    const StateDict<double> before = opt.state_dict();
    Toy<double> source;
    SGD<double> src(source.params(), {.lr = 0.02, .momentum = 0.9, .nesterov = true});
    run_toy(source, src, 0, 5);
    const StateDict<double> good = src.state_dict();

    auto with = [&](const std::string& key, std::size_t row, std::size_t col, double x) {
        return test::with_element(good, key, row, col, x);
    };
    auto rejected = [&](const StateDict<double>& s, const std::string& message) {
        require_throws<DomainError>([&] { opt.load_state_dict(s); }, {message});
        require_same_state(opt.state_dict(), before);
        CHECK(opt.options().momentum == 0.5);
        CHECK(opt.step_count() == 2);
    };
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    rejected(with("optim.momentum_buffer.layer.w", 2, 3, nan),
             "SGD.load_state_dict: tensor 'optim.momentum_buffer.layer.w' holds nan at element 11 (row 2, col 3); "
             "its elements must be finite");
    rejected(with("optim.momentum_buffer.layer.b", 0, 0, -inf),
             "SGD.load_state_dict: tensor 'optim.momentum_buffer.layer.b' holds -inf at element 0 (row 0, col 0); "
             "its elements must be finite");
    // A negative buffer element is an ordinary value (the buffer follows the gradient's sign).
    opt.load_state_dict(with("optim.momentum_buffer.layer.w", 0, 0, -3.0));
    CHECK(state_tensor(opt.state_dict(), "optim.momentum_buffer.layer.w")(0, 0) == -3.0);
    opt.load_state_dict(good);
    require_same_state(opt.state_dict(), good);
    CHECK(opt.step_count() == 5);
}
