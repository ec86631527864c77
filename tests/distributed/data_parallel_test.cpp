// distributed/data_parallel: shares, the bucketed average, flags, broadcast, the rank check.
// Run by mpirun with N ranks (ctest: N = 1 and 2); every expectation is written for any N.
#include <catch2/catch.hpp>

#include <string>

#include "tapegrad/distributed/distributed.hpp"

using namespace tapegrad;

namespace {

int world() {
    int n = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}
int my_rank() {
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

// Parameters of 6, 1 and 6 elements (13 in the flat space), on a tape.
struct ThreeParams {
    Tape<float> tape;
    std::vector<NamedParameter<float>> params;
    explicit ThreeParams(std::size_t a_rows = 2, std::size_t a_cols = 3) {
        params.push_back({"A", tape.parameter(Tensor<float>({a_rows, a_cols}, 0.0f))});
        params.push_back({"b", tape.parameter(Tensor<float>({1, 1}, 0.0f))});
        params.push_back({"C", tape.parameter(Tensor<float>({3, 2}, 0.0f))});
    }
    // Makes parameter i's gradient live and fills it with fn(flat index k).
    template <class Fn>
    void set_grad(std::size_t i, std::size_t first_k, Fn fn) {
        Tensor<float>& g = params[i].var.mutable_grad();
        for (std::size_t e = 0; e < g.size(); ++e) g.data()[e] = fn(first_k + e);
    }
};

}  // namespace

TEST_CASE("equal_share: rank r of N takes rows [r·G/N, (r+1)·G/N)", "[distributed][share]") {
    for (int r = 0; r < 3; ++r) {
        const Share s = equal_share(12, r, 3);
        CHECK(s.begin == std::size_t(4 * r));
        CHECK(s.count == 4u);
    }
    CHECK_THROWS_AS(equal_share(10, 0, 3), UsageError);
    CHECK_THROWS_WITH(equal_share(10, 0, 3),
                      "equal_share: a global batch of 10 rows does not split into 3 equal shares (one per rank); "
                      "use a positive multiple of 3");
    CHECK_THROWS_AS(equal_share(0, 0, 1), UsageError);
    CHECK_THROWS_AS(equal_share(4, 2, 2), UsageError);
}

TEST_CASE("average_gradients: g ← (1/N) Σ_r g_r, buckets straddling parameters", "[distributed][average]") {
    const int n = world(), r = my_rank();
    ThreeParams p;
    // Buckets of 4 floats over 13 elements: [0,4) [4,8) [8,12) [12,13); A ends inside the 2nd, b sits in it.
    DataParallel<float> dp(MPI_COMM_WORLD, p.params, {.bucket_bytes = 4 * sizeof(float)});
    CHECK(dp.element_count() == 13u);
    CHECK(dp.bucket_count() == 4u);
    // Rank r's gradient at flat index k is (r+1)·(k+1); the mean over ranks is (k+1)·(1/N)·Σ_{r<N}(r+1) =
    // (k+1)·(N+1)/2: exact in float for these small integers and halves.
    p.set_grad(0, 0, [&](std::size_t k) { return float((r + 1) * int(k + 1)); });
    p.set_grad(1, 6, [&](std::size_t k) { return float((r + 1) * int(k + 1)); });
    p.set_grad(2, 7, [&](std::size_t k) { return float((r + 1) * int(k + 1)); });
    dp.average_gradients();
    std::size_t k = 0;
    for (const auto& np : p.params) {
        REQUIRE(np.var.has_grad());
        for (std::size_t e = 0; e < np.var.size(); ++e, ++k) {
            INFO(np.name << " element " << e);
            CHECK(np.var.grad().data()[e] == float(k + 1) * float(n + 1) / 2.0f);
        }
    }
    CHECK(dp.last_allreduce_seconds() >= 0.0);
}

TEST_CASE("average_gradients: a missing gradient counts as zeros; missing everywhere stays missing",
          "[distributed][average]") {
    const int n = world(), r = my_rank();
    ThreeParams p;
    DataParallel<float> dp(MPI_COMM_WORLD, p.params);
    CHECK(dp.bucket_count() == 1u);
    p.set_grad(0, 0, [&](std::size_t) { return 2.0f; });                 // A: every rank
    if (r > 0) p.set_grad(1, 0, [&](std::size_t) { return float(r); });  // b: every rank but 0
    dp.average_gradients();                                             // C: no rank
    CHECK(p.params[0].var.grad()(1, 2) == 2.0f);
    // b: (0 + Σ_{r=1}^{N-1} r) / N = (N-1)/2; with one rank nobody had a gradient.
    CHECK(p.params[1].var.has_grad() == (n > 1));
    if (n > 1) CHECK(p.params[1].var.grad()(0, 0) == float(n - 1) / 2.0f);
    CHECK_FALSE(p.params[2].var.has_grad());
}

TEST_CASE("broadcast_parameters: every rank ends with rank 0's values", "[distributed][broadcast]") {
    const int r = my_rank();
    ThreeParams p;
    for (auto& np : p.params)
        for (auto& v : np.var.mutable_value()) v = float(100 * r) + 0.25f;
    DataParallel<float> dp(MPI_COMM_WORLD, p.params, {.bucket_bytes = 5 * sizeof(float)});
    dp.broadcast_parameters();
    for (const auto& np : p.params)
        for (float v : np.var.value()) CHECK(v == 0.25f);
    CHECK_THROWS_AS(dp.broadcast_parameters(world()), UsageError);
}

TEST_CASE("mean and any: collective reductions of one number", "[distributed][mean]") {
    const int n = world(), r = my_rank();
    ThreeParams p;
    DataParallel<float> dp(MPI_COMM_WORLD, p.params);
    CHECK(dp.mean(double(r)) == double(n - 1) / 2.0);  // (1/N) Σ_{r<N} r
    CHECK(dp.any(r == n - 1));
    CHECK_FALSE(dp.any(false));
}

TEST_CASE("DataParallel: ranks with different parameters all throw the same ShapeError", "[distributed][check]") {
    const int n = world(), r = my_rank();
    if (n < 2) return;  // one rank cannot differ from itself
    SECTION("a shape differs") {
        ThreeParams p(r == 1 ? 3 : 2, r == 1 ? 2 : 3);
        CHECK_THROWS_WITH(DataParallel<float>(MPI_COMM_WORLD, p.params),
                          "DataParallel: parameter 0 is 'A' 3x2 on rank 1 but 'A' 2x3 on rank 0; "
                          "every rank must build the same model");
    }
    SECTION("a rank has an extra parameter") {
        ThreeParams p;
        if (r == 1) p.params.push_back({"D", p.tape.parameter(Tensor<float>({4, 5}, 0.0f))});
        CHECK_THROWS_AS(DataParallel<float>(MPI_COMM_WORLD, p.params), ShapeError);
        CHECK_THROWS_WITH(DataParallel<float>(MPI_COMM_WORLD, p.params),
                          "DataParallel: rank 1 has 4 parameters but rank 0 has 3 (the first extra is 'D' 4x5 on rank 1)");
    }
    SECTION("the element type differs") {
        Tape<double> tape;
        ThreeParams p;
        auto make = [&] {
            if (r == 1) DataParallel<double>(MPI_COMM_WORLD, {{"A", tape.parameter(Tensor<double>({2, 3}, 0.0))}});
            else DataParallel<float>(MPI_COMM_WORLD, {p.params[0]});
        };
        CHECK_THROWS_WITH(make(), "DataParallel: rank 1 trains in F64 but rank 0 in F32");
    }
}
