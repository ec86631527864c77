// LR schedules against their formulas (hand-computed values), apply/step, state and bad hyper-parameters.
#include <cmath>

#include "optim_test_util.hpp"

using namespace tapegrad;
using namespace tapegrad::test;

TEST_CASE("ConstantLR: lr_at(step) = base", "[schedule]") {
    ConstantLR s(0.1);
    CHECK(s.lr_at(0) == 0.1);
    CHECK(s.lr_at(1000000) == 0.1);
}

TEST_CASE("StepLR: lr_at(step) = base·γ^floor(step / step_size)", "[schedule]") {
    StepLR s(1.0, 3, 0.5);
    const double expected[] = {1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125};
    for (int step = 0; step < 10; ++step) {
        INFO("step " << step);
        CHECK(s.lr_at(step) == expected[step]);
    }
    StepLR t(0.3, 10, 0.1);
    CHECK(t.lr_at(9) == 0.3);
    CHECK(t.lr_at(25) == Approx(0.3 * 0.01).epsilon(1e-15));
}

TEST_CASE("WarmupCosineLR: linear warm-up then cosine decay to the floor", "[schedule]") {
    // base 1, warm-up 4 steps, total 12, floor 0.1.
    WarmupCosineLR s(1.0, 4, 12, 0.1);
    // Warm-up: base·(step + 1)/4.
    CHECK(s.lr_at(0) == 0.25);
    CHECK(s.lr_at(1) == 0.5);
    CHECK(s.lr_at(2) == 0.75);
    CHECK(s.lr_at(3) == 1.0);
    // Decay over the 8 remaining steps: 0.1 + 0.9·½(1 + cos(π·(step − 4)/8)).
    CHECK(s.lr_at(4) == 1.0);                                         // progress 0
    CHECK(s.lr_at(6) == Approx(0.868198051533946).epsilon(1e-14));    // progress ¼: 0.1 + 0.45·(1 + √½)
    CHECK(s.lr_at(8) == Approx(0.55).epsilon(1e-14));                 // progress ½
    CHECK(s.lr_at(10) == Approx(0.231801948466054).epsilon(1e-14));   // progress ¾: 0.1 + 0.45·(1 − √½)
    CHECK(s.lr_at(11) == Approx(0.1 + 0.45 * (1.0 + std::cos(M_PI * 7.0 / 8.0))).epsilon(1e-14));
    // Clamped at total: the floor from then on.
    CHECK(s.lr_at(12) == 0.1);
    CHECK(s.lr_at(1000) == 0.1);
    // Monotone: up during the warm-up, down after.
    for (int step = 4; step < 12; ++step) CHECK(s.lr_at(step + 1) <= s.lr_at(step));

    SECTION("no warm-up starts at base") {
        WarmupCosineLR n(2.0, 0, 4, 0.0);
        CHECK(n.lr_at(0) == 2.0);
        CHECK(n.lr_at(2) == Approx(1.0).epsilon(1e-15));
        CHECK(n.lr_at(4) == 0.0);
    }
    SECTION("total = warm-up: the floor right after the warm-up") {
        WarmupCosineLR n(1.0, 2, 2, 0.1);
        CHECK(n.lr_at(0) == 0.5);
        CHECK(n.lr_at(1) == 1.0);
        CHECK(n.lr_at(2) == 0.1);
    }
}

TEST_CASE("a schedule keeps its position: apply sets lr_at(position), step advances", "[schedule]") {
    Tape<double> tape;
    std::vector<NamedParameter<double>> params{{"p", tape.parameter(Tensor<double>{{1.0}})}};
    SGD<double> opt(params, {.lr = 123.0});
    StepLR s(1.0, 2, 0.5);
    CHECK(s.position() == 0);
    s.apply(opt);
    CHECK(opt.lr() == 1.0);
    s.step();
    s.step();
    CHECK(s.position() == 2);
    CHECK(s.lr() == 0.5);
    s.apply(opt);
    CHECK(opt.lr() == 0.5);
}

namespace {

std::vector<double> lrs(LrSchedule& s, int n) {
    std::vector<double> out;
    for (int i = 0; i < n; ++i, s.step()) out.push_back(s.lr());
    return out;
}

}  // namespace

TEST_CASE("schedules resume bit for bit from their state dicts", "[schedule][state]") {
    const int n = 40, k = 17;
    SECTION("ConstantLR") {
        ConstantLR a(0.3), b(0.3), r(1.0);
        const auto straight = lrs(a, n);
        const auto head = lrs(b, k);
        r.load_state_dict(b.state_dict<float>());
        CHECK(r.position() == k);
        auto tail = lrs(r, n - k);
        CHECK(std::equal(tail.begin(), tail.end(), straight.begin() + k));
    }
    SECTION("StepLR") {
        StepLR a(0.3, 7, 0.7), b(0.3, 7, 0.7), r(1.0, 1, 1.0);
        const auto straight = lrs(a, n);
        lrs(b, k);
        r.load_state_dict(b.state_dict<double>());
        CHECK(r.gamma() == 0.7);
        auto tail = lrs(r, n - k);
        CHECK(std::equal(tail.begin(), tail.end(), straight.begin() + k));
    }
    SECTION("WarmupCosineLR") {
        WarmupCosineLR a(1.0 / 3.0, 5, 30, 1e-3 / 7.0), b(1.0 / 3.0, 5, 30, 1e-3 / 7.0), r(1.0, 0, 0, 0.0);
        const auto straight = lrs(a, n);
        lrs(b, k);
        r.load_state_dict(b.state_dict<double>());
        CHECK(r.floor_lr() == 1e-3 / 7.0);  // %.17g round-trips
        CHECK(r.base_lr() == 1.0 / 3.0);
        auto tail = lrs(r, n - k);
        CHECK(std::equal(tail.begin(), tail.end(), straight.begin() + k));
        CHECK(r.metadata() == a.metadata());
    }
    SECTION("with an optimizer: Adam + WarmupCosineLR in one state dict") {
        Toy<float> straight;
        Adam<float> a(straight.params());
        WarmupCosineLR sa(0.05, 5, 30, 0.005);
        run_toy(straight, a, 0, n, &sa);

        Toy<float> first;
        Adam<float> b(first.params());
        WarmupCosineLR sb(0.05, 5, 30, 0.005);
        run_toy(first, b, 0, k, &sb);
        StateDict<float> saved = b.state_dict();
        for (const auto& [key, value] : sb.metadata()) saved.metadata[key] = value;

        Toy<float> resumed;
        resumed.w.mutable_value() = first.w.value();
        resumed.b.mutable_value() = first.b.value();
        Adam<float> r(resumed.params());
        WarmupCosineLR sr(1.0, 1, 2, 0.0);
        r.load_state_dict(saved);
        sr.load_state_dict(saved);
        run_toy(resumed, r, k, n, &sr);
        require_identical(resumed.w.value(), straight.w.value());
        require_identical(resumed.b.value(), straight.b.value());
        CHECK(r.lr() == a.lr());
        CHECK(sr.position() == n);
    }
}

TEST_CASE("schedules reject bad hyper-parameters, steps and states", "[schedule][errors]") {
    const double nan = std::nan("");
    require_throws<DomainError>([] { ConstantLR s(-0.1); }, {"ConstantLR", "base_lr", "-0.1"});
    require_throws<DomainError>([&] { ConstantLR s(nan); }, {"ConstantLR", "base_lr", "nan"});
    require_throws<DomainError>([] { StepLR s(0.1, 0, 0.5); }, {"StepLR", "step_size", "= 0"});
    require_throws<DomainError>([] { StepLR s(0.1, 2, 0.0); }, {"StepLR", "gamma", "= 0"});
    require_throws<DomainError>([&] { StepLR s(0.1, 2, nan); }, {"StepLR", "gamma", "nan"});
    require_throws<DomainError>([] { WarmupCosineLR s(0.1, -1, 10, 0.0); }, {"WarmupCosineLR", "warmup_steps", "-1"});
    require_throws<DomainError>([] { WarmupCosineLR s(0.1, 5, 4, 0.0); }, {"WarmupCosineLR", "total_steps", "4"});
    require_throws<DomainError>([] { WarmupCosineLR s(0.1, 0, 4, 0.2); }, {"WarmupCosineLR", "floor_lr", "0.2"});
    require_throws<DomainError>([&] { WarmupCosineLR s(0.1, 0, 4, nan); }, {"WarmupCosineLR", "floor_lr", "nan"});
    require_throws<DomainError>([] { StepLR(0.1, 2, 0.5).lr_at(-1); }, {"StepLR.lr_at", "step", "-1"});

    WarmupCosineLR s(0.1, 2, 10, 0.01);
    s.step();
    const auto before = s.metadata();
    auto rejected = [&](const std::map<std::string, std::string>& md, auto error_type, std::vector<std::string> parts) {
        parts.insert(parts.begin(), "WarmupCosineLR.load_state_dict");
        require_throws<decltype(error_type)>([&] { s.load_metadata(md); }, parts);
        CHECK(s.metadata() == before);
    };
    auto good = WarmupCosineLR(0.5, 3, 20, 0.0).metadata();
    // Values assigned as std::string: operator= of a short literal trips g++ 12's -Wrestrict false positive
    // (PR 105651).
    auto md = good;
    md["schedule.kind"] = std::string("StepLR");
    rejected(md, UsageError{""}, {"StepLR schedule, not WarmupCosineLR"});
    md = good;
    md.erase("schedule.floor_lr");
    rejected(md, UsageError{""}, {"missing", "'schedule.floor_lr'"});
    md = good;
    md["schedule.gamma"] = std::string("0.5");
    rejected(md, UsageError{""}, {"unexpected", "'schedule.gamma'"});
    md = good;
    md["schedule.total_steps"] = std::string("2");
    rejected(md, DomainError{""}, {"total_steps", "2", ">= warmup_steps"});
    md = good;
    md["schedule.position"] = std::string("1.5");
    rejected(md, DomainError{""}, {"'schedule.position'", "not a count"});
    // The position is a step counter: an integer in [0, 2^53] (one near 2^63 used to load, and step()
    // overflowed), digits only ("-0" used to pass as 0).
    for (const char* text : {"9007199254740993", "9223372036854775807", "-0", "-1", "+3", " 3", "3e2", "nan", ""}) {
        INFO("schedule.position = '" << text << "'");
        md = good;
        md["schedule.position"] = std::string(text);
        rejected(md, DomainError{""},
                 {"metadata 'schedule.position' = '" + std::string(text) +
                  "' is not a count (an integer in [0, 9007199254740992])"});
    }
    // Numbers must be finite and written plainly (no spaces, no hex).
    md = good;
    md["schedule.base_lr"] = std::string("inf");
    rejected(md, DomainError{""}, {"metadata 'schedule.base_lr' = 'inf' is not finite"});
    md = good;
    md["schedule.floor_lr"] = std::string("nan");
    rejected(md, DomainError{""}, {"metadata 'schedule.floor_lr' = 'nan' is not finite"});
    md = good;
    md["schedule.base_lr"] = std::string(" 0.5");
    rejected(md, DomainError{""}, {"metadata 'schedule.base_lr' = ' 0.5' is not a number"});
    md = good;
    md["schedule.base_lr"] = std::string("0x1p-1");
    rejected(md, DomainError{""}, {"metadata 'schedule.base_lr' = '0x1p-1' is not a number"});
    // The largest position loads, and position() reads it back.
    md = good;
    md["schedule.position"] = std::string("9007199254740992");
    WarmupCosineLR far(0.5, 3, 20, 0.0);
    far.load_metadata(md);
    CHECK(far.position() == std::int64_t{1} << 53);
    CHECK(far.lr() == 0.0);  // past total_steps: the floor
    StateDict<float> with_tensor;
    with_tensor.metadata = good;
    with_tensor.tensors.emplace_back("schedule.x", Tensor<float>{{1.0f}});
    require_throws<UsageError>([&] { s.load_state_dict(with_tensor); }, {"unexpected tensor", "'schedule.x'"});
    CHECK(s.metadata() == before);
}
