#include "test_util.hpp"

using namespace tapegrad;
using test::random_matrix;

TEST_CASE("embedding gathers rows by id", "[indexing]") {
    Tape<double> t;
    const Tensor<double> table = random_matrix(5, 3, 1);
    auto E = t.parameter(table);
    auto h = embedding(E, std::vector<std::int64_t>{4, 0, 4});
    for (std::size_t j = 0; j < 3; ++j) {
        CHECK(h.value()(0, j) == table(4, j));
        CHECK(h.value()(1, j) == table(0, j));
        CHECK(h.value()(2, j) == table(4, j));
    }
}

TEST_CASE("embedding backward scatter-adds: a repeated id receives the sum", "[indexing][seed]") {
    Tape<double> t;
    auto E = t.parameter(random_matrix(4, 2, 1));
    auto h = embedding(E, std::vector<std::int64_t>{2, 0, 2, 2});
    const Tensor<double> dh = {{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}, {7.0, 8.0}};
    h.backward(dh);
    // row 2 appears at positions 0, 2, 3: [1+5+7, 2+6+8]; row 0 at position 1; rows 1 and 3 untouched.
    test::require_close(E.grad(), Tensor<double>{{3.0, 4.0}, {0.0, 0.0}, {13.0, 16.0}, {0.0, 0.0}}, 0.0);
}

TEST_CASE("gradcheck of embedding, with repeated ids and a vocabulary of 1", "[indexing][gradcheck]") {
    REQUIRE(gradcheck([](const auto& v) { return embedding(v[0], std::vector<std::int64_t>{1, 1, 0, 3, 1}); },
                      {random_matrix(4, 3, 1)}));
    REQUIRE(gradcheck([](const auto& v) { return embedding(v[0], std::vector<std::int64_t>{0, 0}); }, {random_matrix(1, 2, 2)}));
    // through a loss, as in the note's model
    REQUIRE(gradcheck([](const auto& v) {
        const std::vector<std::int64_t> ids = {0, 2, 0};
        return cross_entropy(matmul(embedding(v[0], ids), v[1]), std::vector<std::int64_t>{1, 1, 2});
    }, {random_matrix(3, 2, 3), random_matrix(2, 3, 4)}));
}

TEST_CASE("embedding errors name the id, its position and the vocabulary size", "[indexing][errors]") {
    Tape<double> t;
    auto E = t.parameter(random_matrix(3, 2, 1));
    REQUIRE_THROWS_MATCHES(embedding(E, std::vector<std::int64_t>{0, 2, 3}), IndexError,
                           Catch::Matchers::Message("embedding: token id 3 at position 2 is outside the vocabulary of "
                                                    "size 3 (table is 3x2)"));
    REQUIRE_THROWS_WITH(embedding(E, std::vector<std::int64_t>{-1}),
                        Catch::Matchers::StartsWith("embedding: token id -1 at position 0"));
}
