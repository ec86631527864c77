#include "test_util.hpp"

using namespace tapegrad;
using test::random_matrix;

TEST_CASE("sum and mean over everything and along each axis", "[reduce]") {
    Tape<double> t;
    auto x = t.variable(Tensor<double>{{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
    CHECK(sum(x).item() == 21.0);
    CHECK(mean(x).item() == 3.5);
    test::require_close(sum(x, 0).value(), Tensor<double>{{5.0, 7.0, 9.0}}, 0.0);
    test::require_close(sum(x, 1).value(), Tensor<double>{{6.0}, {15.0}}, 0.0);
    test::require_close(mean(x, 1).value(), Tensor<double>{{2.0}, {5.0}}, 1e-15);
    mean(x).backward();  // d mean / dx = 1/6 everywhere
    for (double g : x.grad()) CHECK(g == Approx(1.0 / 6.0));
}

TEST_CASE("gradcheck of reductions and shape ops", "[reduce][shape][gradcheck]") {
    const Tensor<double> x = random_matrix(3, 4, 1);
    REQUIRE(gradcheck([](const auto& v) { return sum(v[0]); }, {x}));
    REQUIRE(gradcheck([](const auto& v) { return mean(v[0]); }, {x}));
    for (int axis : {0, 1}) {
        REQUIRE(gradcheck([axis](const auto& v) { return sum(v[0], axis); }, {x}));
        REQUIRE(gradcheck([axis](const auto& v) { return mean(v[0], axis); }, {x}));
    }
    REQUIRE(gradcheck([](const auto& v) { return reshape(v[0], Shape{2, 6}); }, {x}));
    REQUIRE(gradcheck([](const auto& v) { return transpose(v[0]); }, {x}));
    REQUIRE(gradcheck([](const auto& v) { return concat_cols<double>({v[0], v[1], v[0]}); }, {x, random_matrix(3, 2, 2)}));
    SECTION("edge shapes: 1x1 and one row") {
        REQUIRE(gradcheck([](const auto& v) { return mean(v[0], 0); }, {random_matrix(1, 1, 3)}));
        REQUIRE(gradcheck([](const auto& v) { return sum(v[0], 1); }, {random_matrix(1, 5, 4)}));
        REQUIRE(gradcheck([](const auto& v) { return transpose(v[0]); }, {random_matrix(1, 5, 5)}));
    }
}

TEST_CASE("shape ops move elements as stated", "[shape]") {
    Tape<double> t;
    auto x = t.variable(Tensor<double>{{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
    test::require_close(transpose(x).value(), Tensor<double>{{1.0, 4.0}, {2.0, 5.0}, {3.0, 6.0}}, 0.0);
    test::require_close(reshape(x, Shape{3, 2}).value(), Tensor<double>{{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}, 0.0);
    auto y = t.variable(Tensor<double>{{7.0}, {8.0}});
    test::require_close(concat_cols<double>({y, x}).value(), Tensor<double>{{7.0, 1.0, 2.0, 3.0}, {8.0, 4.0, 5.0, 6.0}}, 0.0);
}

TEST_CASE("reduction and shape errors", "[reduce][shape][errors]") {
    Tape<double> t;
    auto x = t.variable(random_matrix(2, 3, 1));
    REQUIRE_THROWS_WITH(sum(x, 2), "sum: axis 2 of a 2x3 tensor; expected 0 (over rows) or 1 (over columns)");
    REQUIRE_THROWS_AS(mean(x, -1), IndexError);
    REQUIRE_THROWS_WITH(reshape(x, Shape{4, 2}), "reshape: cannot reshape 2x3 (6 elements) to 4x2 (8 elements)");
    auto y = t.variable(random_matrix(3, 1, 2));
    REQUIRE_THROWS_WITH(concat_cols<double>({x, y}),
                        "concat_cols: tensor 1 is 3x1, expected 2 rows like tensor 0 (2x3)");
    REQUIRE_THROWS_AS(concat_cols<double>({}), ShapeError);
}

TEST_CASE("broadcast_to repeats a row, a column or a 1x1; gradcheck and the three VJP paths", "[shape][gradcheck]") {
    Tape<double> t;
    const Var<double> row = t.variable(Tensor<double>{{1.0, 2.0}}), col = t.variable(Tensor<double>{{3.0}, {4.0}});
    test::require_close(broadcast_to(row, Shape{3, 2}).value(), Tensor<double>{{1.0, 2.0}, {1.0, 2.0}, {1.0, 2.0}}, 0.0);
    test::require_close(broadcast_to(col, Shape{2, 3}).value(), Tensor<double>{{3.0, 3.0, 3.0}, {4.0, 4.0, 4.0}}, 0.0);
    CHECK(broadcast_to(row, Shape{1, 2}).id() == row.id());  // the same shape: x itself
    for (const Shape from : {Shape{1, 4}, Shape{3, 1}, Shape{1, 1}, Shape{3, 4}}) {
        INFO(shape_str(from));
        const auto f = [](const auto& v) { return square(broadcast_to(v[0], Shape{3, 4})); };
        REQUIRE(gradcheck(f, {random_matrix(from[0], from[1], 1)}));
        REQUIRE(gradcheck_nodes(f, {random_matrix(from[0], from[1], 2)}));
    }
    REQUIRE_THROWS_WITH(broadcast_to(row, Shape{3, 3}), "broadcast_to: cannot broadcast 1x2 to 3x3 (each dimension must be equal or 1)");
}

TEST_CASE("slice_cols takes columns, inverts concat_cols; gradcheck, the three VJP paths, errors", "[shape][gradcheck]") {
    Tape<double> t;
    const Var<double> x = t.variable(Tensor<double>{{1.0, 2.0, 3.0, 4.0}, {5.0, 6.0, 7.0, 8.0}});
    test::require_close(slice_cols(x, 1, 2).value(), Tensor<double>{{2.0, 3.0}, {6.0, 7.0}}, 0.0);
    test::require_close(concat_cols<double>({slice_cols(x, 0, 1), slice_cols(x, 1, 3)}).value(), x.value(), 0.0);
    for (auto [begin, count] : {std::pair<std::size_t, std::size_t>{0, 4}, {0, 1}, {1, 2}, {3, 1}}) {
        const auto f = [begin, count](const auto& v) { return square(slice_cols(v[0], begin, count)); };
        REQUIRE(gradcheck(f, {random_matrix(3, 4, 1)}));
        REQUIRE(gradcheck_nodes(f, {random_matrix(3, 4, 2)}));
    }
    REQUIRE_THROWS_AS(slice_cols(x, 3, 2), IndexError);
    REQUIRE_THROWS_AS(slice_cols(x, 0, 0), IndexError);
}
