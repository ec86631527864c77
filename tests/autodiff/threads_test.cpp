// The loops tapegrad runs on OpenMP split the work into disjoint chunks and reduce in a fixed order, so
// results do not depend on the thread count: bitwise the same at 1 and 2 threads.
#include "test_util.hpp"

using namespace tapegrad;

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
