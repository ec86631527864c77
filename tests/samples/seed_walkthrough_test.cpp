// The walkthrough's numbers against the design note (../shared/docs/seed-math.md).
#include <sstream>

#include "test_util.hpp"
#include "walkthrough.hpp"

using namespace tapegrad;

TEST_CASE("walkthrough section 1: P, per-position losses, mean 1.051003 and the note's 1.0515", "[samples][seed]") {
    const auto s = walkthrough::loss_section();
    test::require_close(s.softmax, s.P, 1e-15);
    CHECK(s.per_position(0, 0) == Approx(1.099613).margin(1e-6));
    CHECK(s.per_position(1, 0) == Approx(1.002393).margin(1e-6));
    CHECK(s.mean_loss == Approx(1.051003).margin(1e-6));
    CHECK(s.note_loss == Approx(1.0515).margin(1e-12));  // the note's (1.100 + 1.003) / 2
    CHECK(std::abs(s.mean_loss - s.note_loss) > 4e-4);   // rounding first is what moves the figure
}

TEST_CASE("walkthrough section 2.1: dL/dlogits for sum and mean", "[samples][seed]") {
    const auto s = walkthrough::loss_section();
    const Tensor<double> expected = {{0.320, -0.667, 0.347}, {0.301, 0.332, -0.633}};
    test::require_close(s.dlogits_sum, expected, 1e-12);
    test::require_close(s.dlogits_mean, Tensor<double>(expected / 2.0), 1e-12);
}

TEST_CASE("walkthrough prints the note's figures", "[samples][seed]") {
    std::ostringstream os;
    walkthrough::print(os, walkthrough::loss_section());
    const std::string out = os.str();
    CHECK_THAT(out, Catch::Matchers::Contains("mean loss = 1.051003"));
    CHECK_THAT(out, Catch::Matchers::Contains("the note prints 1.0515 = (1.100 + 1.003) / 2"));
    CHECK_THAT(out, Catch::Matchers::Contains("position 0 (target 1): -ln 0.333 = 1.099613"));
    CHECK_THAT(out, Catch::Matchers::Contains("[  0.320,  -0.667,   0.347]"));
}
