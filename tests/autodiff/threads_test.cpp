// The loops tapegrad runs on OpenMP split the work into disjoint chunks and reduce in a fixed order, so
// results do not depend on the thread count: bitwise the same at 1 and 2 threads.
#include <array>
#include <cctype>
#include <cstdlib>
#include <functional>

#include "test_util.hpp"

using namespace tapegrad;

extern "C" int openblas_get_num_threads(void);  // OpenBLAS's own prototype (<cblas.h> clashes with xtensor-blas)

namespace {

struct Result {
    double loss;
    Tensor<double> dtable, dlogits;
};

// Sizes well above the parallel threshold (2^15 elements): an embedding gather with repeated ids, a tanh,
// softmax-cross-entropy with label smoothing and an ignored position.
Result run_with(int threads) {
    set_num_threads(threads);
    Tape<double> t;
    auto table = t.parameter(test::random_matrix(300, 200, 1));
    std::vector<std::int64_t> ids(400), targets(400);
    for (std::size_t k = 0; k < ids.size(); ++k) {
        ids[k] = std::int64_t((k * 7) % 300);
        targets[k] = std::int64_t((k * 13) % 200);
    }
    targets[5] = -100;  // ignored
    auto h = tanh(embedding(table, ids));  // 400×200
    auto loss = cross_entropy(h, targets, {.label_smoothing = 0.1});
    loss.backward();
    return {loss.item(), table.grad(), h.grad()};
}

}  // namespace

TEST_CASE("set_num_threads sizes the pool and rejects fewer than one thread", "[threads]") {
    set_num_threads(2);
    CHECK(num_threads() == 2);
    set_num_threads(1);
    CHECK(num_threads() == 1);
    CHECK_THROWS_AS(set_num_threads(0), UsageError);
    CHECK_THROWS_WITH(set_num_threads(-3), Catch::Contains("-3 threads"));
}

TEST_CASE("embedding, elementwise and cross-entropy give bitwise the same results at 1 and 2 threads", "[threads]") {
    const Result one = run_with(1);
    const Result two = run_with(2);
    set_num_threads(1);
    CHECK(one.loss == two.loss);
    const bool dtable_same = one.dtable == two.dtable, dlogits_same = one.dlogits == two.dlogits;
    CHECK(dtable_same);
    CHECK(dlogits_same);
}

// A pre-LayerNorm attention block above the parallel threshold, with several query blocks of the attention
// (T = 70: blocks of 32, the last one short): layer_norm's dγ and dβ ride on its dx pass when one chunk holds
// every row and get their own pass otherwise; both sum the rows in order.
namespace {

struct BlockResult {
    Tensor<double> dx, dgamma, dbeta, dw;
};

BlockResult block_with(int threads) {
    set_num_threads(threads);
    const std::size_t B = 8, T = 70, H = 2, d = 64;  // 560×64 rows: above the threshold
    Tape<double> t;
    auto gamma = t.parameter(test::random_matrix(1, d, 21)), beta = t.parameter(test::random_matrix(1, d, 22));
    auto w = t.parameter(test::random_matrix(d, 3 * d, 23));
    auto x = t.variable(test::random_matrix(B * T, d, 24, -2.0, 2.0));
    auto y = causal_self_attention(matmul(layer_norm(x, gamma, beta, 1e-5), w), B, T, H);
    sum(tanh(y)).backward();
    return {x.grad(), gamma.grad(), beta.grad(), w.grad()};
}

}  // namespace

TEST_CASE("layer_norm and causal_self_attention give bitwise the same gradients at 1 and 2 threads", "[threads]") {
    const BlockResult one = block_with(1), two = block_with(2);
    set_num_threads(1);
    const bool dx_same = one.dx == two.dx, dgamma_same = one.dgamma == two.dgamma, dbeta_same = one.dbeta == two.dbeta;
    CHECK(dx_same);
    CHECK(dgamma_same);
    CHECK(dbeta_same);
    // dW = ln(x)ᵀ·dqkv is one OpenBLAS GEMM, whose threads may split the 560-long sum: close, not bitwise.
    test::require_close(two.dw, one.dw, 1e-12);
}

// The threading policy (docs/performance.md): inside one of the library's parallel regions each thread's
// GEMMs run on that thread alone; outside, OpenBLAS's pool is the size set_num_threads gave it.
TEST_CASE("threading policy: OpenBLAS runs on one thread inside a parallel region, on the pool's size outside",
          "[threads]") {
    set_num_threads(2);
    CHECK(openblas_get_num_threads() == 2);
    std::array<int, 2> inside{-1, -1};
    std::array<std::size_t, 2> chunks_seen{0, 0};
    parallel_for_chunks(2, kParallelMin, 2, [&](std::size_t chunk, std::size_t, std::size_t) {
        inside[chunk] = openblas_get_num_threads();
        chunks_seen[chunk] = 1;
    });
    CHECK(chunks_seen[0] + chunks_seen[1] == 2);  // the region really ran on two threads
    CHECK(inside[0] == 1);
    CHECK(inside[1] == 1);
    CHECK(openblas_get_num_threads() == 2);  // restored
    // A loop too small for a region runs on the calling thread and leaves OpenBLAS's pool alone.
    int small = -1;
    parallel_for(4, 4, [&](std::size_t, std::size_t) { small = openblas_get_num_threads(); });
    CHECK(small == 2);
    set_num_threads(1);
}

// Attention at T = 256 with 64-column heads: each query block's products (32×256×64) are large enough for
// OpenBLAS to split them over its threads when asked; under the policy they run inside the region, one
// thread each, with the same bits as at 1 thread.
TEST_CASE("causal_self_attention at T = 256 gives bitwise the same values and gradients at 1 and 2 threads",
          "[threads]") {
    for (const AttentionMemory memory : {AttentionMemory::store, AttentionMemory::recompute}) {
        DYNAMIC_SECTION((memory == AttentionMemory::store ? "probabilities stored" : "probabilities recomputed")) {
            auto run = [memory](int threads) {
                set_num_threads(threads);
                const std::size_t B = 2, T = 256, H = 2, d = 128;
                Tape<double> t;
                auto qkv = t.parameter(test::random_matrix(B * T, 3 * d, 31, -2.0, 2.0));
                auto y = causal_self_attention(qkv, B, T, H, memory);
                sum(tanh(y)).backward();
                return std::make_pair(Tensor<double>(y.value()), Tensor<double>(qkv.grad()));
            };
            const auto one = run(1), two = run(2);
            set_num_threads(1);
            const bool y_same = one.first == two.first, grad_same = one.second == two.second;
            CHECK(y_same);
            CHECK(grad_same);
        }
    }
}

// The other ops with parallel loops, each above the threshold, one by one: softmax, log_softmax, the
// reductions along each axis, and context_linear on its table path (n ≥ 4·V), whose scatters run in
// parallel over columns. Bitwise the same values and gradients at 1 and 2 threads.
TEST_CASE("softmax and log_softmax and the reductions and context_linear give bitwise the same results at 1 and 2 threads",
          "[threads]") {
    const Tensor<double> x0 = test::random_matrix(300, 200, 51, -3.0, 3.0), seed = test::random_matrix(300, 200, 52);
    using Op = std::function<Var<double>(const Var<double>&)>;
    const std::vector<std::pair<const char*, Op>> ops = {
        {"softmax", [](const Var<double>& x) { return softmax(x); }},
        {"log_softmax", [](const Var<double>& x) { return log_softmax(x); }},
        {"sum over rows", [](const Var<double>& x) { return sum(x, 0); }},
        {"sum over columns", [](const Var<double>& x) { return sum(x, 1); }},
        {"mean", [](const Var<double>& x) { return mean(x); }},
        {"mean over rows", [](const Var<double>& x) { return mean(x, 0); }},
    };
    for (const auto& [name, op] : ops) {
        DYNAMIC_SECTION(name) {
            auto run = [&, op = op](int threads) {
                set_num_threads(threads);
                Tape<double> t;
                auto x = t.parameter(x0);
                auto y = op(tanh(x));
                sum(tanh(y)).backward();
                return std::make_pair(Tensor<double>(y.value()), Tensor<double>(x.grad()));
            };
            const auto one = run(1), two = run(2);
            set_num_threads(1);
            const bool y_same = one.first == two.first, grad_same = one.second == two.second;
            CHECK(y_same);
            CHECK(grad_same);
        }
    }
    SECTION("context_linear") {
        const std::size_t V = 20, d = 16, k = 4, h = 64, n = 600;  // n ≥ 4·V: the table path
        std::vector<std::int64_t> ids(n * k);
        for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = std::int64_t((i * 7 + i / 5) % V);
        auto run = [&](int threads) {
            set_num_threads(threads);
            Tape<double> t;
            auto table = t.parameter(test::random_matrix(V, d, 53)), w = t.parameter(test::random_matrix(k * d, h, 54));
            auto b = t.parameter(test::random_matrix(1, h, 55));
            auto y = context_linear(table, w, ids, k, b);
            sum(tanh(y)).backward();
            return std::array<Tensor<double>, 4>{y.value(), table.grad(), w.grad(), b.grad()};
        };
        const auto one = run(1), two = run(2);
        set_num_threads(1);
        const bool y_same = one[0] == two[0], dtable_same = one[1] == two[1], db_same = one[3] == two[3];
        CHECK(y_same);
        CHECK(dtable_same);
        CHECK(db_same);
        test::require_close(two[2], one[2], 1e-12);  // dW: OpenBLAS GEMMs, which may split their sums by thread
    }
}

// The GEMMs on the kernels OpenBLAS runs in this process (ctest also runs this case under
// OPENBLAS_CORETYPE=<the CPU's best kernel>, the choice reexec_with_machine_settings makes when OpenBLAS
// falls back to generic kernels): forward and both backward products against plain loops in double.
TEST_CASE("matmul on the OpenBLAS kernels in use agrees with plain loops", "[threads][blas_kernel]") {
    const char* forced = std::getenv("OPENBLAS_CORETYPE");
    INFO("OpenBLAS kernels: " << blas_kernel() << " (best for this CPU: " << best_blas_kernel() << ")");
    if (forced != nullptr && *forced != '\0') {
        std::string want = forced, got = blas_kernel();
        for (auto* s : {&want, &got})
            for (char& c : *s) c = char(std::tolower(static_cast<unsigned char>(c)));
        CHECK(got == want);  // the kernel asked for is the one running
    }
    // Odd sizes around the kernels' register blocks (4, 8, 16, 24, 48 rows or columns) and a long inner one.
    const std::vector<std::array<std::size_t, 3>> shapes = {{1, 1, 1},   {3, 5, 7},    {17, 33, 9},  {64, 48, 24},
                                                             {95, 130, 61}, {256, 192, 77}, {8, 1000, 16}};
    for (const auto& [n, k, m] : shapes) {
        DYNAMIC_SECTION(n << "x" << k << " times " << k << "x" << m) {
            const Tensor<double> a = test::random_matrix(n, k, 11), b = test::random_matrix(k, m, 12);
            const Tensor<double> seed = test::random_matrix(n, m, 13);
            const Tensor<double> want = test::matmul_ref(a, b);
            // dA = seed·Bᵀ, dB = Aᵀ·seed
            const Tensor<double> want_da = test::matmul_ref(seed, test::transpose_ref(b));
            const Tensor<double> want_db = test::matmul_ref(test::transpose_ref(a), seed);
            {
                Tape<double> t;
                auto A = t.parameter(a), B = t.parameter(b);
                auto y = matmul(A, B);
                y.backward(seed);
                test::require_close(y.value(), want, 1e-12);
                test::require_close(A.grad(), want_da, 1e-12);
                test::require_close(B.grad(), want_db, 1e-12);
            }
            {
                Tape<float> t;
                auto A = t.parameter(Tensor<float>(a)), B = t.parameter(Tensor<float>(b));
                auto y = matmul(A, B);
                y.backward(Tensor<float>(seed));
                // float: relative to the sum of |terms|, k roundings of 2^-24
                const double tol = 4e-7 * double(k);
                test::require_close(Tensor<double>(y.value()), want, tol);
                test::require_close(Tensor<double>(A.grad()), want_da, tol);
                test::require_close(Tensor<double>(B.grad()), want_db, tol);
            }
        }
    }
}
