// Adam, AMSGrad and AdamW against the note's worked first step and a plain scalar reference written from the
// equations of seed-math §4 (not from torch's factoring), resume, bad options.
#include <algorithm>
#include <limits>
#include <map>
#include <memory>

#include "optim_test_util.hpp"

using namespace tapegrad;
using namespace tapegrad::test;

namespace {

// seed-math §4, per scalar, with each parameter's own t:
//   AdamW: p = p − lr·wd·p;   Adam: g = g + wd·p
//   m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  m̂ = m/(1−β1ᵗ);  v̂ = v/(1−β2ᵗ)  (AMSGrad: v̂ = max v / (1−β2ᵗ))
//   p = p − lr·m̂/(√v̂ + ε)
struct ReferenceAdam {
    AdamOptions o;
    bool decoupled = false;
    struct Slot {
        int t = 0;
        std::vector<double> m, v, max_v;
    };
    std::map<std::string, Slot> state;

    void step(const std::string& name, std::vector<double>& p, const std::vector<double>& grad) {
        Slot& s = state[name];
        if (s.t == 0) s.m = s.v = s.max_v = std::vector<double>(p.size(), 0.0);
        s.t += 1;
        for (std::size_t k = 0; k < p.size(); ++k) {
            double g = grad[k];
            if (decoupled)
                p[k] -= o.lr * o.weight_decay * p[k];
            else
                g += o.weight_decay * p[k];
            s.m[k] = o.beta1 * s.m[k] + (1.0 - o.beta1) * g;
            s.v[k] = o.beta2 * s.v[k] + (1.0 - o.beta2) * g * g;
            s.max_v[k] = std::max(s.max_v[k], s.v[k]);
            const double m_hat = s.m[k] / (1.0 - std::pow(o.beta1, s.t));
            const double v_hat = (o.amsgrad ? s.max_v[k] : s.v[k]) / (1.0 - std::pow(o.beta2, s.t));
            p[k] -= o.lr * m_hat / (std::sqrt(v_hat) + o.eps);
        }
    }
};


AdamWOptions as_adamw(const AdamOptions& a) {
    AdamWOptions w;
    w.lr = a.lr;
    w.beta1 = a.beta1;
    w.beta2 = a.beta2;
    w.eps = a.eps;
    w.weight_decay = a.weight_decay;
    w.amsgrad = a.amsgrad;
    return w;
}

void check_against_reference(const AdamOptions& options, bool decoupled, int steps) {
    Toy<double> toy;
    std::unique_ptr<Optimizer<double>> opt;
    if (decoupled)
        opt = std::make_unique<AdamW<double>>(toy.params(), as_adamw(options));
    else
        opt = std::make_unique<Adam<double>>(toy.params(), options);
    ReferenceAdam ref{options, decoupled, {}};
    std::vector<double> w = values(toy.w.value()), b = values(toy.b.value());
    for (int s = 0; s < steps; ++s) {
        INFO("step " << s);
        const Tensor<double> b_before = toy.b.value();
        opt->zero_grad();
        toy.backward(s);
        opt->step();
        ref.step("w", w, toy_grads(w, s, kPhaseW));
        if (!toy_b_skipped(s)) ref.step("b", b, toy_grads(b, s, kPhaseB));
        require_close(toy.w.value(), w);
        require_close(toy.b.value(), b);
        if (toy_b_skipped(s)) require_identical(toy.b.value(), b_before);  // skipped: untouched, no weight decay
    }
    // "b" skipped steps, so its own t (used in its bias corrections) lags the optimizer's.
    CHECK(opt->step_count() == steps);
    CHECK(opt->param_step_count(0) == steps);
    CHECK(opt->param_step_count(1) == ref.state["b"].t);
    CHECK(opt->param_step_count(1) < steps);
}

}  // namespace

TEST_CASE("Adam's first step is the note's: m̂ = g, v̂ = g², p moves by lr·g/(|g| + ε)", "[adam]") {
    // seed-math §4 at t = 1 with the note's lr = 0.01, β1 = 0.9, β2 = 0.999, ε = 1e-8.
    const double lr = 0.01, eps = 1e-8;
    const Tensor<double> g = {{0.5, -2.0, 1e-3, 3e-9}};
    const Tensor<double> p0 = {{1.0, 1.0, -1.0, 0.25}};
    Tape<double> tape;
    auto p = tape.parameter(p0);
    Adam<double> opt({{"p", p}}, {.lr = lr});
    backward_with_grad(tape, p, g);
    opt.step();
    const StateDict<double> s = opt.state_dict();
    for (std::size_t k = 0; k < g.size(); ++k) {
        INFO("element " << k << ", g = " << g(0, k));
        const double gk = g(0, k);
        CHECK(state_tensor(s, "optim.m.p")(0, k) == Approx(0.1 * gk).epsilon(1e-14));           // m = (1 − β1)·g
        CHECK(state_tensor(s, "optim.v.p")(0, k) == Approx(0.001 * gk * gk).epsilon(1e-14));    // v = (1 − β2)·g²
        const double update = lr * gk / (std::abs(gk) + eps);  // m̂ = g, v̂ = g²
        CHECK(p.value()(0, k) == Approx(p0(0, k) - update).epsilon(1e-14));
    }
    // About lr·sign(g) when |g| ≫ ε; less when |g| is near ε.
    CHECK(p.value()(0, 0) == Approx(1.0 - 0.01).epsilon(1e-9));
    CHECK(p.value()(0, 1) == Approx(1.0 + 0.01).epsilon(1e-9));
    CHECK(p.value()(0, 3) == Approx(0.25 - 0.01 * 3e-9 / 1.3e-8).epsilon(1e-12));
    CHECK(opt.param_step_count(0) == 1);
}

TEST_CASE("Adam defaults are torch's", "[adam]") {
    Tape<float> tape;
    std::vector<NamedParameter<float>> params = {{"p", tape.parameter(Tensor<float>{{1.0f}})}};
    const AdamOptions a = Adam<float>(params).options();
    CHECK(a.lr == 1e-3);
    CHECK(a.beta1 == 0.9);
    CHECK(a.beta2 == 0.999);
    CHECK(a.eps == 1e-8);
    CHECK(a.weight_decay == 0.0);
    CHECK_FALSE(a.amsgrad);
    const AdamWOptions w = AdamW<float>(params).options();
    CHECK(w.lr == 1e-3);
    CHECK(w.weight_decay == 0.01);
}

TEST_CASE("Adam follows the reference for 60 steps with a parameter that skips steps", "[adam]") {
    SECTION("Adam") { check_against_reference({.lr = 0.01}, false, 60); }
    SECTION("Adam, other betas and eps") { check_against_reference({.lr = 0.02, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-4}, false, 60); }
    SECTION("Adam with L2 weight decay") { check_against_reference({.lr = 0.01, .weight_decay = 0.1}, false, 60); }
    SECTION("AMSGrad") { check_against_reference({.lr = 0.01, .amsgrad = true}, false, 60); }
    SECTION("AMSGrad with weight decay") {
        check_against_reference({.lr = 0.01, .beta2 = 0.9, .weight_decay = 0.05, .amsgrad = true}, false, 60);
    }
    SECTION("AdamW") { check_against_reference({.lr = 0.01, .weight_decay = 0.01}, true, 60); }
    SECTION("AdamW with AMSGrad") { check_against_reference({.lr = 0.01, .weight_decay = 0.2, .amsgrad = true}, true, 60); }
}

TEST_CASE("AMSGrad divides by the largest second moment seen", "[adam]") {
    // A large gradient then small ones: v decays, max_v keeps the peak, so AMSGrad's steps are smaller.
    Tape<double> tape;
    auto p = tape.parameter(Tensor<double>{{0.0}});
    auto q = tape.parameter(Tensor<double>{{0.0}});
    Adam<double> adam({{"p", p}}, {.lr = 0.1, .beta2 = 0.5});
    Adam<double> ams({{"q", q}}, {.lr = 0.1, .beta2 = 0.5, .amsgrad = true});
    for (int s = 0; s < 5; ++s) {
        const double g = s == 0 ? 10.0 : 0.1;
        adam.zero_grad();
        ams.zero_grad();
        backward_with_grad(tape, p, Tensor<double>{{g}});
        backward_with_grad(tape, q, Tensor<double>{{g}});
        adam.step();
        ams.step();
    }
    const StateDict<double> s = ams.state_dict();
    const double v = state_tensor(s, "optim.v.q")(0, 0), max_v = state_tensor(s, "optim.max_v.q")(0, 0);
    CHECK(max_v == 0.5 * 100.0);  // (1 − β2)·g² at the first step
    CHECK(v < max_v);
    CHECK(std::abs(q.value()(0, 0)) < std::abs(p.value()(0, 0)));
}

TEST_CASE("AdamW decays the parameter before the update, not through the gradient", "[adam]") {
    // With a zero gradient Adam's update is 0 (m = 0), so AdamW's step is the decay alone: p·(1 − lr·wd).
    Tape<double> tape;
    auto p = tape.parameter(Tensor<double>{{2.0, -4.0}});
    AdamWOptions o;
    o.lr = 0.1;
    o.weight_decay = 0.5;
    AdamW<double> opt({{"p", p}}, o);
    backward_with_grad(tape, p, Tensor<double>{{0.0, 0.0}});
    opt.step();
    CHECK(p.value()(0, 0) == 2.0 * (1.0 - 0.05));
    CHECK(p.value()(0, 1) == -4.0 * (1.0 - 0.05));
    // Adam's L2 decay goes through m and v instead: the first step moves by about lr, whatever wd is.
    auto q = tape.parameter(Tensor<double>{{2.0}});
    Adam<double> l2({{"q", q}}, {.lr = 0.1, .weight_decay = 0.5});
    backward_with_grad(tape, q, Tensor<double>{{0.0}});
    l2.step();
    CHECK(q.value()(0, 0) == Approx(2.0 - 0.1).epsilon(1e-9));
}

TEST_CASE("Adam, AMSGrad and AdamW resume bit for bit from their state dicts", "[adam][state]") {
    struct Config {
        const char* name;
        AdamOptions o;
        bool decoupled;
    };
    const std::vector<Config> configs = {
        {"Adam", {.lr = 0.01}, false},
        {"Adam with weight decay", {.lr = 0.01, .beta1 = 0.8, .weight_decay = 0.1}, false},
        {"AMSGrad", {.lr = 0.01, .amsgrad = true}, false},
        {"AdamW", {.lr = 0.01, .weight_decay = 0.05}, true},
        {"AdamW with AMSGrad", {.lr = 0.01, .beta2 = 0.9, .eps = 1e-6, .weight_decay = 0.05, .amsgrad = true}, true},
    };
    auto make = [](const Config& c, const std::vector<NamedParameter<float>>& params,
                   bool defaults) -> std::unique_ptr<Optimizer<float>> {
        if (c.decoupled) return std::make_unique<AdamW<float>>(params, defaults ? AdamWOptions{} : as_adamw(c.o));
        return std::make_unique<Adam<float>>(params, defaults ? AdamOptions{} : c.o);
    };
    for (const auto& c : configs) {
        SECTION(c.name) {
            for (const int k : {1, 14, 30}) {
                INFO("saved after " << k << " of 40 steps");
                const int n = 40;
                Toy<float> straight;
                auto a = make(c, straight.params(), false);
                run_toy(straight, *a, 0, n);

                Toy<float> first;
                auto b = make(c, first.params(), false);
                run_toy(first, *b, 0, k);
                const StateDict<float> saved = b->state_dict();

                Toy<float> resumed;
                resumed.w.mutable_value() = first.w.value();
                resumed.b.mutable_value() = first.b.value();
                auto r = make(c, resumed.params(), true);  // default options: the state brings the real ones
                r->load_state_dict(saved);
                require_same_state(r->state_dict(), saved);
                run_toy(resumed, *r, k, n);

                require_identical(resumed.w.value(), straight.w.value());
                require_identical(resumed.b.value(), straight.b.value());
                require_same_state(r->state_dict(), a->state_dict());
            }
        }
    }
}

TEST_CASE("Adam and AdamW reject bad hyper-parameters, naming them", "[adam][errors]") {
    Tape<float> tape;
    std::vector<NamedParameter<float>> params = {{"p", tape.parameter(Tensor<float>{{1.0f}})}};
    const double nan = std::nan("");
    auto bad = [&](AdamOptions o, std::vector<std::string> parts) {
        auto with = [&](const char* name) {
            auto all = parts;
            all.insert(all.begin(), name);
            return all;
        };
        require_throws<DomainError>([&] { Adam<float> opt(params, o); }, with("Adam"));
        require_throws<DomainError>([&] { AdamW<float> opt(params, as_adamw(o)); }, with("AdamW"));
    };
    bad({.lr = -1e-3}, {"lr", "-0.001"});
    bad({.lr = nan}, {"lr", "nan"});
    bad({.beta1 = 1.0}, {"beta1", "= 1", "[0, 1)"});
    bad({.beta1 = -0.1}, {"beta1", "-0.1"});
    bad({.beta1 = nan}, {"beta1", "nan"});
    bad({.beta2 = 1.5}, {"beta2", "1.5"});
    bad({.beta2 = nan}, {"beta2", "nan"});
    bad({.eps = 0.0}, {"eps", "= 0", "> 0"});
    bad({.eps = -1e-8}, {"eps", "-1e-08"});
    bad({.eps = nan}, {"eps", "nan"});
    bad({.weight_decay = -0.5}, {"weight_decay", "-0.5"});
    bad({.weight_decay = INFINITY}, {"weight_decay", "inf"});
    Adam<float> ok(params, {.beta1 = 0.0, .beta2 = 0.0});  // the closed ends of [0, 1) are allowed
    CHECK(ok.options().beta1 == 0.0);
}

// A checkpoint's Adam state with a NaN or Inf moment, or a negative second moment, used to load; the next
// update then wrote NaN into the parameter (NaN in m or v propagates, √v of a negative v is NaN). The toy's
// layer.w is 3x4 and layer.b 1x4: element k is at row k / 4, col k % 4.
TEST_CASE("Adam, AMSGrad and AdamW reject non-finite or negative moments, naming the tensor and element, and change nothing",
          "[adam][state][errors]") {
    struct Config {
        const char* owner;
        bool decoupled, amsgrad;
    };
    for (const Config c : {Config{"Adam", false, false}, Config{"Adam", false, true}, Config{"AdamW", true, true}}) {
        INFO(c.owner << (c.amsgrad ? " with AMSGrad" : ""));
        auto make = [&](Toy<double>& toy, double lr) -> std::unique_ptr<Optimizer<double>> {
            const AdamOptions o{.lr = lr, .amsgrad = c.amsgrad};
            if (c.decoupled) return std::make_unique<AdamW<double>>(toy.params(), as_adamw(o));
            return std::make_unique<Adam<double>>(toy.params(), o);
        };
        Toy<double> toy;
        auto opt = make(toy, 0.05);
        run_toy(toy, *opt, 0, 4);
        const StateDict<double> before = opt->state_dict();
        Toy<double> source;
        auto src = make(source, 0.01);
        run_toy(source, *src, 0, 6);
        const StateDict<double> good = src->state_dict();

        auto with = [&](const std::string& key, std::size_t row, std::size_t col, double x) {
            return test::with_element(good, key, row, col, x);
        };
        auto rejected = [&](const StateDict<double>& s, const std::vector<std::string>& parts) {
            require_throws<DomainError>([&] { opt->load_state_dict(s); }, parts);
            require_same_state(opt->state_dict(), before);
            CHECK(opt->lr() == 0.05);
            CHECK(opt->step_count() == 4);
        };
        auto holds = [&](const std::string& key, const std::string& rest) {
            return std::vector<std::string>{std::string(c.owner) + ".load_state_dict: tensor '" + key + "' holds " + rest};
        };
        const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
        rejected(with("optim.m.layer.w", 1, 2, nan),
                 holds("optim.m.layer.w", "nan at element 6 (row 1, col 2); its elements must be finite"));
        rejected(with("optim.m.layer.b", 0, 3, inf),
                 holds("optim.m.layer.b", "inf at element 3 (row 0, col 3); its elements must be finite"));
        rejected(with("optim.m.layer.b", 0, 0, -inf),
                 holds("optim.m.layer.b", "-inf at element 0 (row 0, col 0); its elements must be finite"));
        rejected(with("optim.v.layer.w", 2, 0, -1.0),
                 holds("optim.v.layer.w", "-1 at element 8 (row 2, col 0); its elements must be finite and >= 0"));
        rejected(with("optim.v.layer.b", 0, 1, inf),
                 holds("optim.v.layer.b", "inf at element 1 (row 0, col 1); its elements must be finite and >= 0"));
        rejected(with("optim.v.layer.w", 0, 3, nan),
                 holds("optim.v.layer.w", "nan at element 3 (row 0, col 3); its elements must be finite and >= 0"));
        if (c.amsgrad) {
            rejected(with("optim.max_v.layer.w", 0, 0, -0.5),
                     holds("optim.max_v.layer.w", "-0.5 at element 0 (row 0, col 0); its elements must be finite and >= 0"));
            rejected(with("optim.max_v.layer.b", 0, 2, inf),
                     holds("optim.max_v.layer.b", "inf at element 2 (row 0, col 2); its elements must be finite and >= 0"));
            // v_max ← max(v_max, v) after every update: a max_v below v is not a state any run produces.
            const double v = state_tensor(good, "optim.v.layer.b")(0, 2);
            REQUIRE(v > 0.0);
            rejected(with("optim.max_v.layer.b", 0, 2, v / 2),
                     {std::string(c.owner) + ".load_state_dict: tensor 'optim.max_v.layer.b' holds ",
                      " at element 2 (row 0, col 2), below 'optim.v.layer.b' = ", "never below it"});
            opt->load_state_dict(with("optim.max_v.layer.b", 0, 2, v));  // equal to v is fine
        }
        // A negative m is an ordinary value.
        opt->load_state_dict(with("optim.m.layer.w", 0, 0, -1.0));
        CHECK(state_tensor(opt->state_dict(), "optim.m.layer.w")(0, 0) == -1.0);
        opt->load_state_dict(good);
        require_same_state(opt->state_dict(), good);
    }
}
