// What every optimizer shares: zero_grad, skipping parameters without a gradient, lr, construction checks,
// NaN/Inf gradients, and the state dict's keys and validation.
#include "optim_test_util.hpp"

using namespace tapegrad;
using namespace tapegrad::test;

TEST_CASE("zero_grad forgets the gradients of the optimizer's parameters only", "[optimizer]") {
    Toy<double> toy;
    auto other = toy.tape.parameter(Tensor<double>{{1.0}});
    SGD<double> opt(toy.params(), {.lr = 0.1});
    toy.backward(0);
    backward_with_grad(toy.tape, other, Tensor<double>{{2.0}});
    REQUIRE(toy.w.has_grad());
    REQUIRE(toy.b.has_grad());
    opt.zero_grad();
    CHECK_FALSE(toy.w.has_grad());
    CHECK_FALSE(toy.b.has_grad());
    CHECK(other.has_grad());
}

TEST_CASE("a step without gradients changes nothing but the step count", "[optimizer]") {
    Toy<double> toy;
    Adam<double> opt(toy.params(), {.lr = 0.1, .weight_decay = 0.5});
    const Tensor<double> w0 = toy.w.value(), b0 = toy.b.value();
    opt.step();
    opt.step();
    require_identical(toy.w.value(), w0);
    require_identical(toy.b.value(), b0);
    CHECK(opt.step_count() == 2);
    CHECK(opt.param_step_count(0) == 0);
    CHECK(opt.param_step_count(1) == 0);
    const StateDict<double> s = opt.state_dict();
    CHECK(s.tensors.empty());  // no moments for parameters that never took a step
    CHECK(s.metadata.at("optim.step.layer.w") == "0");
    CHECK(s.metadata.at("optim.step_count") == "2");
}

TEST_CASE("set_lr changes the learning rate of the next step and rejects bad values", "[optimizer]") {
    Tape<double> tape;
    auto p = tape.parameter(Tensor<double>{{1.0}});
    SGD<double> opt({{"p", p}}, {.lr = 0.1});
    opt.set_lr(0.25);
    CHECK(opt.lr() == 0.25);
    CHECK(opt.options().lr == 0.25);
    backward_with_grad(tape, p, Tensor<double>{{2.0}});
    opt.step();
    CHECK(p.value()(0, 0) == 0.5);
    require_throws<DomainError>([&] { opt.set_lr(-1.0); }, {"SGD", "lr", "-1"});
    require_throws<DomainError>([&] { opt.set_lr(std::nan("")); }, {"SGD", "lr", "nan"});
    CHECK(opt.lr() == 0.25);
}

TEST_CASE("optimizers reject parameter lists they cannot key their state by", "[optimizer][errors]") {
    Tape<double> tape;
    auto p = tape.parameter(Tensor<double>{{1.0}});
    auto q = tape.parameter(Tensor<double>{{2.0}});
    using Params = std::vector<NamedParameter<double>>;
    require_throws<UsageError>([&] { Adam<double>(Params{}); }, {"Adam", "empty parameter list"});
    require_throws<UsageError>([&] { Adam<double>(Params{{"a", p}, {"a", q}}); }, {"Adam", "'a'", "twice"});
    require_throws<UsageError>([&] { Adam<double>(Params{{"", p}}); }, {"Adam", "empty name"});
    require_throws<UsageError>([&] { Adam<double>(Params{{"a", p}, {"b", p}}); }, {"Adam", "'b'", "same tape parameter"});
    require_throws<UsageError>([&] { SGD<double>(Params{{"a", Var<double>{}}}); }, {"SGD", "'a'", "empty handle"});
    auto x = tape.variable(Tensor<double>{{1.0}});
    require_throws<UsageError>([&] { SGD<double>(Params{{"x", x}}); }, {"SGD", "'x'", "not a parameter"});
}

TEST_CASE("a NaN or Inf gradient throws, naming the parameter and the element, and writes no NaN", "[optimizer][errors]") {
    for (const double bad : {std::nan(""), double(INFINITY), -double(INFINITY)}) {
        Tape<float> tape;
        auto w = tape.parameter(Tensor<float>{{1.0f, 2.0f, 3.0f}, {4.0f, 5.0f, 6.0f}});
        auto v = tape.parameter(Tensor<float>{{1.0f, 2.0f}});
        std::vector<NamedParameter<float>> params = {{"ok", v}, {"ffn.weight", w}};
        Tensor<float> g = {{0.1f, 0.2f, 0.3f}, {0.4f, 0.5f, 0.6f}};
        g(1, 2) = float(bad);
        const std::string shown = std::isnan(bad) ? "nan" : (bad > 0 ? "inf" : "-inf");
        INFO("gradient " << shown);
        std::vector<std::unique_ptr<Optimizer<float>>> opts;
        opts.push_back(std::make_unique<SGD<float>>(params, SGDOptions{.lr = 0.1, .momentum = 0.9}));
        opts.push_back(std::make_unique<Adam<float>>(params, AdamOptions{.lr = 0.1, .amsgrad = true}));
        opts.push_back(std::make_unique<AdamW<float>>(params));
        for (auto& opt : opts) {
            INFO(opt->name());
            opt->zero_grad();
            backward_with_grad(tape, v, Tensor<float>{{1.0f, 1.0f}});
            backward_with_grad(tape, w, g);
            require_throws<DomainError>([&] { opt->step(); },
                                        {opt->name() + ".step", "'ffn.weight'", shown, "element 5", "row 1, col 2"});
            for (float x : w.value()) CHECK(std::isfinite(x));
            CHECK(opt->step_count() == 0);
        }
    }
}

TEST_CASE("state dict keys are named after the parameters", "[optimizer][state]") {
    Toy<double> toy;
    Adam<double> opt(toy.params(), {.lr = 1.0 / 3.0, .amsgrad = true});
    run_toy(toy, opt, 0, 2);  // "layer.b" skips step 1
    const StateDict<double> s = opt.state_dict();
    std::vector<std::string> names;
    for (const auto& t : s.tensors) names.push_back(t.first);
    CHECK(names == std::vector<std::string>{"optim.m.layer.w", "optim.v.layer.w", "optim.max_v.layer.w",
                                            "optim.m.layer.b", "optim.v.layer.b", "optim.max_v.layer.b"});
    CHECK(s.metadata.at("optim.kind") == "Adam");
    CHECK(s.metadata.at("optim.lr") == "0.33333333333333331");  // %.17g
    CHECK(s.metadata.at("optim.amsgrad") == "true");
    CHECK(s.metadata.at("optim.step_count") == "2");
    CHECK(s.metadata.at("optim.step.layer.w") == "2");
    CHECK(s.metadata.at("optim.step.layer.b") == "1");
    // Doubles round-trip exactly.
    Toy<double> other;
    Adam<double> loaded(other.params());
    loaded.load_state_dict(s);
    CHECK(loaded.lr() == 1.0 / 3.0);
    CHECK(loaded.options().amsgrad);
    CHECK(loaded.param_step_count(1) == 1);
}

TEST_CASE("load_state_dict ignores other components' keys", "[optimizer][state]") {
    Toy<double> toy;
    SGD<double> opt(toy.params(), {.lr = 0.1, .momentum = 0.9});
    run_toy(toy, opt, 0, 3);
    StateDict<double> s = opt.state_dict();
    s.tensors.insert(s.tensors.begin(), {"model.layer.w", toy.w.value()});
    s.metadata["schedule.kind"] = "StepLR";
    s.metadata["optimizer_notes"] = "not under optim.";
    Toy<double> other;
    SGD<double> loaded(other.params());
    loaded.load_state_dict(s);
    CHECK(loaded.options().momentum == 0.9);
}

TEST_CASE("a state dict that does not fit is rejected, naming the key, and changes nothing", "[optimizer][state][errors]") {
    // The optimizer being loaded into has taken steps of its own: a failed load must leave them intact.
    Toy<double> toy;
    Adam<double> opt(toy.params(), {.lr = 0.05, .amsgrad = true});
    run_toy(toy, opt, 0, 4);
    const StateDict<double> before = opt.state_dict();

    Toy<double> source;
    Adam<double> src(source.params(), {.lr = 0.01, .beta1 = 0.8, .amsgrad = true});
    run_toy(source, src, 0, 6);
    const StateDict<double> good = src.state_dict();

    auto rejected = [&](const StateDict<double>& s, auto error_type, std::vector<std::string> parts) {
        using E = decltype(error_type);
        parts.insert(parts.begin(), "Adam.load_state_dict");
        require_throws<E>([&] { opt.load_state_dict(s); }, parts);
        require_same_state(opt.state_dict(), before);
        CHECK(opt.lr() == 0.05);
        CHECK(opt.options().beta1 == 0.9);
    };
    auto set_tensor = [](StateDict<double>& s, const std::string& key, Tensor<double> t) {
        for (auto& [name, value] : s.tensors)
            if (name == key) value = std::move(t);
    };

    SECTION("another optimizer's state") {
        Toy<double> t;
        SGD<double> sgd(t.params(), {.lr = 0.1, .momentum = 0.9});
        run_toy(t, sgd, 0, 2);
        rejected(sgd.state_dict(), UsageError{""}, {"SGD optimizer, not Adam"});
        AdamW<double> adamw(t.params());
        rejected(adamw.state_dict(), UsageError{""}, {"AdamW optimizer, not Adam"});
    }
    SECTION("a missing metadata key") {
        StateDict<double> s = good;
        s.metadata.erase("optim.beta2");
        rejected(s, UsageError{""}, {"missing", "'optim.beta2'"});
    }
    SECTION("a missing buffer") {
        StateDict<double> s = good;
        s.tensors.erase(s.tensors.begin() + 2);  // optim.max_v.layer.w
        rejected(s, UsageError{""}, {"missing tensor", "'optim.max_v.layer.w'"});
    }
    SECTION("a parameter the optimizer does not have") {
        StateDict<double> s = good;
        s.metadata["optim.step.layer.extra"] = "1";
        rejected(s, UsageError{""}, {"unexpected metadata key", "'optim.step.layer.extra'"});
        StateDict<double> t = good;
        t.tensors.emplace_back("optim.m.layer.extra", Tensor<double>{{1.0}});
        rejected(t, UsageError{""}, {"unexpected tensor", "'optim.m.layer.extra'"});
    }
    SECTION("a parameter the state does not have") {
        StateDict<double> s = good;
        s.metadata.erase("optim.step.layer.b");
        rejected(s, UsageError{""}, {"missing", "'optim.step.layer.b'"});
    }
    SECTION("a buffer of the wrong shape") {
        StateDict<double> s = good;
        set_tensor(s, "optim.v.layer.b", Tensor<double>{{1.0, 2.0}});
        rejected(s, ShapeError{""}, {"'optim.v.layer.b'", "1x2", "'layer.b' is 1x4"});
    }
    SECTION("a tensor twice") {
        StateDict<double> s = good;
        s.tensors.push_back(s.tensors.front());
        rejected(s, UsageError{""}, {"'optim.m.layer.w'", "more than once"});
    }
    SECTION("bad values") {
        StateDict<double> s = good;
        s.metadata["optim.beta1"] = "1.5";
        rejected(s, DomainError{""}, {"beta1", "1.5", "[0, 1)"});
        s = good;
        s.metadata["optim.lr"] = "fast";
        rejected(s, DomainError{""}, {"'optim.lr'", "'fast'", "not a number"});
        s = good;
        s.metadata["optim.lr"] = "-0.5";
        rejected(s, DomainError{""}, {"lr", "-0.5"});
        s = good;
        s.metadata["optim.step.layer.w"] = "-3";
        rejected(s, DomainError{""}, {"'optim.step.layer.w'", "'-3'", "not a count"});
        s = good;
        s.metadata["optim.step.layer.w"] = "7";
        rejected(s, DomainError{""}, {"'optim.step.layer.w' = 7", "exceeds optim.step_count = 6"});
        s = good;
        s.metadata["optim.amsgrad"] = "yes";
        rejected(s, DomainError{""}, {"'optim.amsgrad'", "not a flag"});
    }
    // Step counters are integers in [0, 2^53]: 2^53 is exact in double (Adam's β^t) and step() never
    // overflows past it. Counts near 2^63 used to load and overflow on the next step.
    SECTION("step counts out of range or not plain integers") {
        const std::string range = "not a count (an integer in [0, 9007199254740992])";
        for (const char* text : {"9007199254740993", "9223372036854775807", "99999999999999999999", "-0", "+6", "6.0",
                                 " 6", "6 ", "0x6", "nan", ""}) {
            INFO("optim.step_count = '" << text << "'");
            StateDict<double> s = good;
            s.metadata["optim.step_count"] = text;
            rejected(s, DomainError{""}, {"'optim.step_count' = '" + std::string(text) + "' is " + range});
        }
        StateDict<double> s = good;
        s.metadata["optim.step.layer.w"] = "-0";
        rejected(s, DomainError{""}, {"'optim.step.layer.w' = '-0' is " + range});
    }
    // Numbers are what std::from_chars reads whole, and finite: strtod used to skip leading spaces and read
    // hex, and "nan" / "inf" were left to each hyper-parameter's own check.
    SECTION("numbers with spaces, hex, or not finite") {
        StateDict<double> s = good;
        s.metadata["optim.lr"] = " 0.01";
        rejected(s, DomainError{""}, {"metadata 'optim.lr' = ' 0.01' is not a number"});
        s = good;
        s.metadata["optim.eps"] = "0x1p-20";
        rejected(s, DomainError{""}, {"metadata 'optim.eps' = '0x1p-20' is not a number"});
        s = good;
        s.metadata["optim.lr"] = "1e400";  // out of double's range
        rejected(s, DomainError{""}, {"metadata 'optim.lr' = '1e400' is not a number"});
        s = good;
        s.metadata["optim.lr"] = "nan";
        rejected(s, DomainError{""}, {"metadata 'optim.lr' = 'nan' is not finite"});
        s = good;
        s.metadata["optim.weight_decay"] = "inf";
        rejected(s, DomainError{""}, {"metadata 'optim.weight_decay' = 'inf' is not finite"});
        s = good;
        s.metadata["optim.beta2"] = std::string(100, 'x');  // shown cut short
        rejected(s, DomainError{""}, {"metadata 'optim.beta2' = '" + std::string(40, 'x') + "...' is not a number"});
    }
    SECTION("AMSGrad state without max_v, into a non-AMSGrad state's hyper-parameters") {
        StateDict<double> s = good;
        s.metadata["optim.amsgrad"] = "false";  // then the max_v tensors are unknown
        rejected(s, UsageError{""}, {"unexpected tensor", "'optim.max_v.layer."});
    }
    SECTION("the good state loads, step counts included") {
        opt.load_state_dict(good);
        require_same_state(opt.state_dict(), good);
        CHECK(opt.step_count() == 6);
        CHECK(opt.param_step_count(0) == 6);  // layer.w
        CHECK(opt.param_step_count(1) == 4);  // layer.b skipped steps 1 and 4
    }
    SECTION("the largest step count loads") {
        StateDict<double> s = good;
        s.metadata["optim.step_count"] = "9007199254740992";
        opt.load_state_dict(s);
        CHECK(opt.step_count() == std::int64_t{1} << 53);
    }
}

TEST_CASE("an optimizer over Module::parameters() names them by position and updates them as over named ones", "[optim]") {
    Tape<double> tape;
    auto a = tape.parameter(Tensor<double>{{1.0, -2.0}});
    auto b = tape.parameter(Tensor<double>{{0.5}});
    auto c = tape.parameter(Tensor<double>{{1.0, -2.0}});
    auto d = tape.parameter(Tensor<double>{{0.5}});
    AdamW<double> plain(std::vector<Var<double>>{a, b}, {.lr = 0.1});
    AdamW<double> named({{"w", c}, {"b", d}}, {.lr = 0.1});
    for (int step = 0; step < 3; ++step) {
        plain.zero_grad();
        named.zero_grad();
        (sum(square(a)) + sum(b * 3.0)).backward();
        (sum(square(c)) + sum(d * 3.0)).backward();
        plain.step();
        named.step();
        tape.clear();
    }
    CHECK(a.value()(0, 1) == c.value()(0, 1));
    CHECK(b.value()(0, 0) == d.value()(0, 0));
    const auto state = plain.state_dict();
    CHECK(state.metadata.count("optim.step.0") == 1);
    CHECK(state.metadata.count("optim.step.1") == 1);
}
