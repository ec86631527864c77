// The goal of data parallelism, checked end to end: N ranks, each with B rows of every global batch of
// N·B rows, train the same model as one process with the whole batch. 25 Adam steps of the design note's
// model (E: w×d → W3: d×f → W2: f×d → W1: d×w); the reference runs on every rank, in-process, on its own
// tape, without DataParallel. Rank r's model starts from another seed, so broadcast_parameters is tested too.
//
// Why the results are not bit-identical for N > 1: both sides compute the gradient of the mean loss over the
// same N·B rows, but summed in another order (per-rank means of B rows, then an MPI sum and ·1/N, against
// one mean of N·B rows; the BLAS sums of X^T·dY split the same way). Each gradient element is a sum of
// m = N·B = 32 terms (N = 2, B = 16) in another order: relative error ≤ ~m·u, u the unit roundoff
// (float 2^-24 ≈ 6e-8, double 2^-53 ≈ 1.1e-16), so ≤ ~2e-6 (float), ~3.6e-15 (double). Adam's step
// lr·m̂/(√v̂ + ε) has size ≤ ~lr = 5e-2 and carries that relative error, so after 25 steps the parameters
// differ by ≤ ~25·5e-2·2e-6 = 2.5e-6 (float), ~4.5e-15 (double), before growth through the training
// dynamics (measured: 1.1e-6 and 1.3e-15). Tolerances: parameters 1e-5 (float) / 1e-13 (double)
// absolute; per-step losses (sums of m terms too) 1e-5 / 1e-13 relative. With N = 1 both computations are
// the same operations in the same order: equal bit for bit.
#include <catch2/catch.hpp>

#include <cmath>

#include "tapegrad/distributed/distributed.hpp"
#include "tapegrad/nn/nn.hpp"
#include "tapegrad/optim/optim.hpp"

using namespace tapegrad;

namespace {

constexpr std::size_t kVocab = 13, kD = 8, kF = 16, kPerRank = 16, kSteps = 25;
constexpr std::uint64_t kSeed = 7;

// Step s's global batch of `rows` (input id, target id) pairs: the same on every rank.
void global_batch(std::size_t step, std::size_t rows, std::vector<std::int64_t>& ids, std::vector<std::int64_t>& targets) {
    Generator gen(1000 + step);
    ids.resize(rows);
    targets.resize(rows);
    for (std::size_t i = 0; i < rows; ++i) {
        ids[i] = std::int64_t(gen.below(kVocab));
        targets[i] = std::int64_t((std::uint64_t(ids[i]) * 5 + gen.below(3)) % kVocab);  // learnable, a little noisy
    }
}

template <class T>
struct Run {
    Tape<T> tape;
    Generator gen;
    SeedLanguageModel<T> model;
    Adam<T> adam;
    explicit Run(std::uint64_t seed)
        : gen(seed), model(tape, kVocab, kD, kF, gen), adam(model.named_parameters(), {.lr = 5e-2}) {}
    // One step on rows [begin, begin + count) of the global batch; dp averages the gradients when given.
    double step(std::span<const std::int64_t> ids, std::span<const std::int64_t> targets, DataParallel<T>* dp) {
        adam.zero_grad();
        Var<T> loss = cross_entropy(model(TokenInput{ids, 1}), targets);
        loss.backward();
        double l = double(loss.item());
        if (dp) {
            dp->average_gradients();
            l = dp->mean(l);
        }
        adam.step();
        tape.clear();
        return l;
    }
};

}  // namespace

TEMPLATE_TEST_CASE("N ranks with batch B each train as 1 process with batch N·B (25 Adam steps)",
                   "[distributed][equivalence]", float, double) {
    using T = TestType;
    const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-13;
    int n = 1, r = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    const std::size_t global = kPerRank * std::size_t(n);

    Run<T> parallel(kSeed + 1000 * std::uint64_t(r));  // rank 0 starts from kSeed, the others elsewhere
    DataParallel<T> dp(MPI_COMM_WORLD, parallel.model.named_parameters());
    dp.broadcast_parameters();
    Run<T> reference(kSeed);

    std::vector<std::int64_t> ids, targets;
    double worst_loss = 0, first_ref = 0, last_ref = 0;
    for (std::size_t s = 0; s < kSteps; ++s) {
        global_batch(s, global, ids, targets);
        const Share mine = dp.share(global);
        const double l = parallel.step(std::span(ids).subspan(mine.begin, mine.count),
                                       std::span(targets).subspan(mine.begin, mine.count), &dp);
        const double l_ref = reference.step(ids, targets, nullptr);
        INFO("step " << s << ": loss " << l << " (" << n << " ranks) vs " << l_ref << " (1 process)");
        CHECK(std::abs(l - l_ref) <= tol * std::abs(l_ref));
        if (n == 1) CHECK(l == l_ref);
        worst_loss = std::max(worst_loss, std::abs(l - l_ref) / std::abs(l_ref));
        if (s == 0) first_ref = l_ref;
        last_ref = l_ref;
    }
    // Training did something: the loss fell (from about log w ≈ 2.56, the loss of near-uniform predictions).
    CHECK(last_ref < first_ref - 0.2);
    const auto p = parallel.model.named_parameters(), q = reference.model.named_parameters();
    double worst = 0;
    for (std::size_t i = 0; i < p.size(); ++i)
        for (std::size_t k = 0; k < p[i].var.size(); ++k) {
            const double d = std::abs(double(p[i].var.value().data()[k]) - double(q[i].var.value().data()[k]));
            worst = std::max(worst, d);
            if (n == 1) REQUIRE(d == 0.0);
        }
    if (r == 0)
        std::printf("equivalence (%s, %d rank(s), %zu steps): worst parameter difference %.3g (tolerance %.0e), "
                    "worst relative loss difference %.3g; loss %.4f -> %.4f\n",
                    std::is_same_v<T, float> ? "float" : "double", n, kSteps, worst, tol, worst_loss, first_ref, last_ref);
    CHECK(worst <= tol);
}
