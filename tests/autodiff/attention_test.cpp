// causal_self_attention against a naive reference written here (explicit loops over sequences, heads and
// positions, the softmax over the unmasked scores), gradcheck in double on edge shapes (T = 1, one head,
// H = d, and T above the 32-query block: several blocks, the last one short), the accumulate path through
// gradcheck_nodes, and its errors.
#include <array>
#include <cmath>
#include <vector>

#include "test_util.hpp"

using namespace tapegrad;
using test::random_matrix;

namespace {

// y for qkv (B·T)×3d, straight from the definition.
Tensor<double> naive_attention(const Tensor<double>& qkv, std::size_t B, std::size_t T, std::size_t H) {
    const std::size_t d = qkv.shape()[1] / 3, hd = d / H;
    Tensor<double> y({B * T, d}, 0.0);
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t h = 0; h < H; ++h)
            for (std::size_t i = 0; i < T; ++i) {
                std::vector<double> z(i + 1);
                double top = -1e300, sum = 0;
                for (std::size_t j = 0; j <= i; ++j) {
                    double dot = 0;
                    for (std::size_t c = 0; c < hd; ++c) dot += qkv(b * T + i, h * hd + c) * qkv(b * T + j, d + h * hd + c);
                    z[j] = dot / std::sqrt(double(hd));
                    top = std::max(top, z[j]);
                }
                for (double& x : z) sum += x = std::exp(x - top);
                for (std::size_t j = 0; j <= i; ++j)
                    for (std::size_t c = 0; c < hd; ++c) y(b * T + i, h * hd + c) += z[j] / sum * qkv(b * T + j, 2 * d + h * hd + c);
            }
    return y;
}

}  // namespace

TEST_CASE("causal_self_attention equals the naive definition", "[attention]") {
    for (auto [B, T, H, d] : std::vector<std::array<std::size_t, 4>>{{2, 5, 2, 4}, {1, 1, 1, 3}, {3, 4, 4, 4}, {1, 7, 1, 6}, {2, 70, 2, 4}}) {
        DYNAMIC_SECTION("B " << B << ", T " << T << ", H " << H << ", d " << d) {
            const Tensor<double> qkv = random_matrix(B * T, 3 * d, unsigned(B * 100 + T * 10 + H), -2.0, 2.0);
            Tape<double> tape;
            test::require_close(causal_self_attention(tape.constant(qkv), B, T, H).value(), naive_attention(qkv, B, T, H), 1e-13);
        }
    }
}

TEST_CASE("causal_self_attention: position 0 attends to itself only, and later positions do not leak back", "[attention]") {
    Tape<double> tape;
    const std::size_t B = 1, T = 4, d = 2;
    Tensor<double> qkv = random_matrix(B * T, 3 * d, 5);
    auto y = causal_self_attention(tape.constant(qkv), B, T, 1).value();
    for (std::size_t c = 0; c < d; ++c) CHECK(y(0, c) == Approx(qkv(0, 2 * d + c)).epsilon(1e-14));  // y_0 = v_0
    // Changing the last position's k and v changes nothing before it.
    Tensor<double> later = qkv;
    for (std::size_t c = d; c < 3 * d; ++c) later(T - 1, c) += 1.0;
    auto y2 = causal_self_attention(tape.constant(later), B, T, 1).value();
    for (std::size_t i = 0; i + 1 < T; ++i)
        for (std::size_t c = 0; c < d; ++c) CHECK(y2(i, c) == y(i, c));
}

TEST_CASE("gradcheck of causal_self_attention, with T = 1, one head, H = d and several query blocks", "[attention][gradcheck]") {
    for (auto [B, T, H, d] : std::vector<std::array<std::size_t, 4>>{{2, 3, 2, 4}, {1, 1, 1, 2}, {1, 4, 3, 3}, {2, 2, 1, 3}, {1, 40, 1, 2}}) {
        DYNAMIC_SECTION("B " << B << ", T " << T << ", H " << H << ", d " << d) {
            const Tensor<double> qkv = random_matrix(B * T, 3 * d, unsigned(7 + B + T + H));
            REQUIRE(gradcheck([&](const auto& v) { return causal_self_attention(v[0], B, T, H); }, {qkv}));
            // through a projection, as a model uses it: qkv = x·W, then a loss
            REQUIRE(gradcheck_nodes([&](const auto& v) { return sum(tanh(causal_self_attention(matmul(v[0], v[1]), B, T, H))); },
                                    {random_matrix(B * T, 5, 8), random_matrix(5, 3 * d, 9)}));
        }
    }
}

// The recomputing path (AttentionMemory::recompute) keeps each query row's shift and 1/Σ instead of the
// probabilities and rebuilds them block by block in backward with the forward's own GEMM and arithmetic:
// values and gradients must be the stored path's, bit for bit (several query blocks, the last one short).
TEST_CASE("causal_self_attention recomputing its probabilities equals the stored path bit for bit", "[attention]") {
    const std::size_t B = 2, T = 70, H = 2, d = 8;
    const Tensor<double> x = random_matrix(B * T, 5, 41), w = random_matrix(5, 3 * d, 42);
    auto run = [&](AttentionMemory memory) {
        Tape<double> tape;
        auto X = tape.parameter(x), W = tape.parameter(w);
        auto y = causal_self_attention(matmul(X, W), B, T, H, memory);
        sum(tanh(y)).backward();
        return std::array<Tensor<double>, 3>{y.value(), X.grad(), W.grad()};
    };
    const auto stored = run(AttentionMemory::store), recomputed = run(AttentionMemory::recompute);
    const bool y_same = stored[0] == recomputed[0], dx_same = stored[1] == recomputed[1], dw_same = stored[2] == recomputed[2];
    CHECK(y_same);
    CHECK(dx_same);
    CHECK(dw_same);
    // and against the naive definition, as the stored path is above
    const Tensor<double> qkv = random_matrix(B * T, 3 * d, 43);
    Tape<double> tape;
    test::require_close(causal_self_attention(tape.constant(qkv), B, T, H, AttentionMemory::recompute).value(),
                        naive_attention(qkv, B, T, H), 1e-12);
}

TEST_CASE("gradcheck of causal_self_attention recomputing its probabilities", "[attention][gradcheck]") {
    for (auto [B, T, H, d] : std::vector<std::array<std::size_t, 4>>{{2, 3, 2, 4}, {1, 1, 1, 2}, {1, 40, 1, 2}, {1, 70, 2, 4}}) {
        DYNAMIC_SECTION("B " << B << ", T " << T << ", H " << H << ", d " << d) {
            const Tensor<double> qkv = random_matrix(B * T, 3 * d, unsigned(17 + B + T + H));
            REQUIRE(gradcheck([&](const auto& v) { return causal_self_attention(v[0], B, T, H, AttentionMemory::recompute); }, {qkv}));
            REQUIRE(gradcheck_nodes(
                [&](const auto& v) { return sum(tanh(causal_self_attention(matmul(v[0], v[1]), B, T, H, AttentionMemory::recompute))); },
                {random_matrix(B * T, 5, 8), random_matrix(5, 3 * d, 9)}));
        }
    }
}

TEST_CASE("causal_self_attention recomputes from T = kAttentionRecomputeFrom on unless told", "[attention]") {
    CHECK_FALSE(attention_recomputes(AttentionMemory::automatic, kAttentionRecomputeFrom - 1));
    CHECK(attention_recomputes(AttentionMemory::automatic, kAttentionRecomputeFrom));
    CHECK(attention_recomputes(AttentionMemory::recompute, 1));
    CHECK_FALSE(attention_recomputes(AttentionMemory::store, 4096));
    // what it keeps: at T = 512 the statistics (2·B·H rows) and scratch, not B·H·T rows of probabilities
    Tape<float> tape;
    const std::size_t B = 1, T = kAttentionRecomputeFrom, H = 2, d = 4;
    auto qkv = tape.parameter(Tensor<float>(random_matrix(B * T, 3 * d, 5)));
    auto y = causal_self_attention(qkv, B, T, H);
    CHECK(tape.node(y).saved.shape()[0] < B * H * T);
    sum(y).backward();
    for (float g : qkv.grad()) REQUIRE(std::isfinite(g));
}

TEST_CASE("causal_self_attention in float is stable for large scores", "[attention]") {
    Tape<float> tape;
    Tensor<float> qkv({4, 6}, 0.0f);
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t c = 0; c < 6; ++c) qkv(i, c) = float(c < 4 ? 300.0 * double(i + 1) : double(i));  // scores ≈ 1e5
    auto y = causal_self_attention(tape.constant(qkv), 1, 4, 1).value();
    for (float x : y) CHECK(std::isfinite(x));
}

TEST_CASE("causal_self_attention errors name the shapes", "[attention][errors]") {
    Tape<double> tape;
    auto qkv = tape.constant(random_matrix(6, 12, 1));
    REQUIRE_THROWS_WITH(causal_self_attention(qkv, 2, 4, 2), Catch::Matchers::Contains("qkv is 6x12, expected 8 rows (2 sequences of 4 positions)"));
    REQUIRE_THROWS_WITH(causal_self_attention(qkv, 2, 3, 3), Catch::Matchers::Contains("expected 3·d columns with d a multiple of 3 heads"));
    REQUIRE_THROWS_WITH(causal_self_attention(tape.constant(random_matrix(6, 10, 2)), 2, 3, 1), Catch::Matchers::Contains("expected 3·d columns"));
    REQUIRE_THROWS_AS(causal_self_attention(qkv, 0, 3, 1), ShapeError);
}
