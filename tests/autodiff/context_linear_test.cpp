// context_linear: y = [table[id_1] … table[id_k]] · W, fused. Checked against the composition it replaces
// (reshape(embedding(table, ids), n×k·d) · W), by gradcheck in double, on both of its paths: the plain
// gather-then-GEMM (n < 4V) and the tables P_j = table · W_j (n ≥ 4V).
#include "test_util.hpp"

using namespace tapegrad;
using test::random_matrix;

namespace {

std::vector<std::int64_t> ids_of(std::size_t n, std::size_t k, std::size_t V, unsigned seed) {
    std::vector<std::int64_t> ids(n * k);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = std::int64_t((i * 7 + seed * 13 + i / 3) % V);
    return ids;
}

// Value and both gradients of sum(y ⊙ seed) through context_linear and through the composition.
void check_against_composition(std::size_t n, std::size_t k, std::size_t V, std::size_t d, std::size_t h) {
    INFO("n " << n << ", k " << k << ", V " << V << ", d " << d << ", h " << h << (n >= 4 * V ? " (tables)" : " (plain)"));
    const auto ids = ids_of(n, k, V, 1);
    const Tensor<double> E0 = random_matrix(V, d, 2), W0 = random_matrix(k * d, h, 3), seed = random_matrix(n, h, 4);
    Tape<double> a, b;
    auto Ea = a.parameter(E0), Wa = a.parameter(W0), Eb = b.parameter(E0), Wb = b.parameter(W0);
    auto ya = context_linear(Ea, Wa, ids, k);
    auto yb = matmul(reshape(embedding(Eb, ids), Shape{n, k * d}), Wb);
    test::require_close(ya.value(), yb.value(), 1e-12);
    ya.backward(seed);
    yb.backward(seed);
    test::require_close(Ea.grad(), Eb.grad(), 1e-12);
    test::require_close(Wa.grad(), Wb.grad(), 1e-12);
}

}  // namespace

TEST_CASE("context_linear equals reshape(embedding)·W, values and gradients, on both paths", "[context_linear]") {
    check_against_composition(5, 3, 7, 2, 4);     // plain: 5 positions < 4·7
    check_against_composition(40, 3, 7, 2, 4);    // tables: 40 ≥ 28
    check_against_composition(64, 1, 3, 5, 6);    // k = 1, tables
    check_against_composition(1, 8, 99, 24, 16);  // sampling: one position of the default model's shape
    check_against_composition(300, 8, 20, 3, 9);  // tables, many repeated ids
}

TEST_CASE("gradcheck of context_linear on both paths, with repeated ids", "[context_linear][gradcheck]") {
    for (std::size_t n : {3u, 24u}) {  // V = 5: 3 < 20 plain, 24 ≥ 20 tables
        DYNAMIC_SECTION("n = " << n) {
            const auto ids = ids_of(n, 2, 5, 3);
            REQUIRE(gradcheck([&](const auto& v) { return context_linear(v[0], v[1], ids, 2); },
                              {random_matrix(5, 3, 5), random_matrix(6, 4, 6)}));
            REQUIRE(gradcheck_nodes([&](const auto& v) { return tanh(context_linear(v[0], v[1], ids, 2)); },
                                    {random_matrix(5, 3, 7), random_matrix(6, 4, 8)}));
        }
    }
}

TEST_CASE("context_linear adds onto gradients that already hold a contribution", "[context_linear]") {
    // W used twice: by context_linear and directly; its gradient is the sum of both.
    Tape<double> t;
    const auto ids = ids_of(30, 2, 5, 1);  // tables path
    auto E = t.parameter(random_matrix(5, 3, 1)), W = t.parameter(random_matrix(6, 4, 2));
    auto loss = sum(context_linear(E, W, ids, 2)) + sum(W);
    loss.backward();
    Tape<double> r;
    auto E2 = r.parameter(E.value()), W2 = r.parameter(W.value());
    auto loss2 = sum(matmul(reshape(embedding(E2, ids), Shape{30, 6}), W2)) + sum(W2);
    loss2.backward();
    test::require_close(W.grad(), W2.grad(), 1e-12);
    test::require_close(E.grad(), E2.grad(), 1e-12);
}

TEST_CASE("context_linear errors name the id, the shapes and what was expected", "[context_linear][errors]") {
    Tape<double> t;
    auto E = t.parameter(random_matrix(4, 3, 1)), W = t.parameter(random_matrix(6, 2, 2));
    REQUIRE_THROWS_AS(context_linear(E, W, std::vector<std::int64_t>{0, 4}, 2), IndexError);
    REQUIRE_THROWS_WITH(context_linear(E, W, std::vector<std::int64_t>{0, 4}, 2),
                        "context_linear: token id 4 at position 1 is outside the vocabulary of size 4 (table is 4x3)");
    REQUIRE_THROWS_WITH(context_linear(E, W, std::vector<std::int64_t>{0, 1, 2}, 2),
                        Catch::Matchers::Contains("3 ids are not a whole number of contexts of 2"));
    REQUIRE_THROWS_WITH(context_linear(E, W, std::vector<std::int64_t>{0, 1, 2}, 3),
                        Catch::Matchers::Contains("weight is 6x2, expected 9 rows"));
}

TEST_CASE("context_linear with a bias adds it to every row, on both paths", "[context_linear][gradcheck]") {
    for (std::size_t n : {3u, 24u}) {  // V = 5: plain, then tables
        DYNAMIC_SECTION("n = " << n) {
            const auto ids = ids_of(n, 2, 5, 2);
            REQUIRE(gradcheck([&](const auto& v) { return context_linear(v[0], v[1], ids, 2, v[2]); },
                              {random_matrix(5, 3, 9), random_matrix(6, 4, 10), random_matrix(1, 4, 11)}));
            Tape<double> t;
            auto E = t.parameter(random_matrix(5, 3, 9)), W = t.parameter(random_matrix(6, 4, 10)), b = t.parameter(random_matrix(1, 4, 11));
            auto with = context_linear(E, W, ids, 2, b);
            auto without = context_linear(E, W, ids, 2);
            for (std::size_t r = 0; r < n; ++r)
                for (std::size_t c = 0; c < 4; ++c) CHECK(with.value()(r, c) == Approx(without.value()(r, c) + b.value()(0, c)).epsilon(1e-14));
            REQUIRE_THROWS_WITH(context_linear(E, W, ids, 2, t.parameter(random_matrix(1, 3, 1))),
                                "context_linear: bias is 1x3, expected 1x4");
        }
    }
}
