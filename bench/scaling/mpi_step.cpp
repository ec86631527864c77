// mpi_step: time of one data-parallel training step and of its gradient MPI_Allreduce, for the design note's
// model at the small size. Not a test; numbers for the README and for choosing the bucket size.
//
//   dims (the note's names): w = 8192 vocabulary, d = 256, f = 1024, n = 256 tokens per global step
//   model: E: w×d → W3: d×f → W2: f×d → W1: d×w, float32; 4,718,592 parameters = 18.9 MB of gradients
//   each rank: n/N tokens forward + backward, average_gradients (all 18.9 MB), Adam step
//
//   mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2 ./bench/scaling/mpi_step
//   options: --steps S (timed, default 20)  --warmup W (default 3)  --bucket-mib M (default 32)
//            --tokens n (global tokens per step, default 256)  --threads T (per rank, default 1)
//
// Prints, from rank 0, the median and minimum over the timed steps of: the whole step (the slowest rank's),
// forward+backward, the wait for the other ranks at a barrier after backward, the MPI_Allreduce calls alone
// (after that barrier), and the Adam step. Packing the buckets is the rest of the step.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tapegrad/autodiff/threads.hpp"
#include "tapegrad/distributed/distributed.hpp"
#include "tapegrad/nn/nn.hpp"
#include "tapegrad/optim/optim.hpp"

using namespace tapegrad;

namespace {

struct Series {
    std::vector<double> v;
    double median() {
        std::sort(v.begin(), v.end());
        return v.empty() ? 0 : v[v.size() / 2];
    }
    double min() const { return v.empty() ? 0 : *std::min_element(v.begin(), v.end()); }
};

long arg(int argc, char** argv, const char* name, long fallback) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0) return std::strtol(argv[i + 1], nullptr, 10);
    return fallback;
}

}  // namespace

int main(int argc, char** argv) {
    MpiSession mpi(argc, argv);
    try {
        constexpr std::size_t w = 8192, d = 256, f = 1024;
        const auto n = std::size_t(arg(argc, argv, "--tokens", 256));
        const long steps = arg(argc, argv, "--steps", 20), warmup = arg(argc, argv, "--warmup", 3);
        const auto bucket = std::size_t(arg(argc, argv, "--bucket-mib", 32)) << 20;
        set_num_threads(int(arg(argc, argv, "--threads", 1)));  // OpenBLAS and OpenMP, per rank

        Tape<float> tape;
        Generator gen(1);
        SeedLanguageModel<float> model(tape, w, d, f, gen);
        DataParallel<float> dp(MPI_COMM_WORLD, model.named_parameters(), {.bucket_bytes = bucket});
        dp.broadcast_parameters();
        Adam<float> adam(model.named_parameters(), {.lr = 1e-3});
        const Share mine = dp.share(n);

        std::vector<std::int64_t> ids(n), targets(n);
        Series step_s, fb_s, wait_s, ar_s, adam_s;
        for (long s = 0; s < warmup + steps; ++s) {
            Generator data(1000 + std::uint64_t(s));  // the same global batch on every rank
            for (std::size_t i = 0; i < n; ++i) {
                ids[i] = std::int64_t(data.below(w));
                targets[i] = std::int64_t(data.below(w));
            }
            MPI_Barrier(MPI_COMM_WORLD);  // steps start together
            const double t0 = MPI_Wtime();
            adam.zero_grad();
            Var<float> loss = cross_entropy(model(TokenInput{std::span(ids).subspan(mine.begin, mine.count), 1}),
                                            std::span<const std::int64_t>(targets).subspan(mine.begin, mine.count));
            loss.backward();
            const double t1 = MPI_Wtime();
            MPI_Barrier(MPI_COMM_WORLD);  // so that the Allreduce time below excludes waiting for slower ranks
            const double t1b = MPI_Wtime();
            dp.average_gradients();
            const double t2 = MPI_Wtime();
            adam.step();
            tape.clear();
            const double t3 = MPI_Wtime();
            double step = t3 - t0;
            MPI_Allreduce(MPI_IN_PLACE, &step, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);  // the slowest rank's step
            if (s < warmup) continue;
            step_s.v.push_back(step);
            fb_s.v.push_back(t1 - t0);
            wait_s.v.push_back(t1b - t1);
            ar_s.v.push_back(dp.last_allreduce_seconds());
            adam_s.v.push_back(t3 - t2);
        }
        if (dp.is_root()) {
            std::printf("mpi_step: w=%zu d=%zu f=%zu n=%zu float32, %zu parameters (%.1f MB), %d rank(s) x %zu tokens, "
                        "%d thread(s) per rank, %zu bucket(s) of <= %zu MiB, %ld steps\n",
                        w, d, f, n, dp.element_count(), double(dp.element_count()) * 4 / 1e6, dp.world_size(), mine.count,
                        num_threads(), dp.bucket_count(), bucket >> 20, steps);
            std::printf("  step             median %8.2f ms  min %8.2f ms  (%.0f tokens/s)\n", 1e3 * step_s.median(),
                        1e3 * step_s.min(), double(n) / step_s.median());
            std::printf("  forward+backward median %8.2f ms  min %8.2f ms  (rank 0)\n", 1e3 * fb_s.median(), 1e3 * fb_s.min());
            std::printf("  wait for ranks   median %8.2f ms  min %8.2f ms  (rank 0, barrier after backward)\n",
                        1e3 * wait_s.median(), 1e3 * wait_s.min());
            std::printf("  allreduce        median %8.2f ms  min %8.2f ms  (rank 0, MPI_Allreduce calls only)\n",
                        1e3 * ar_s.median(), 1e3 * ar_s.min());
            std::printf("  adam step        median %8.2f ms  min %8.2f ms\n", 1e3 * adam_s.median(), 1e3 * adam_s.min());
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mpi_step: rank %d: error: %s\n", mpi.rank(), e.what());
        mpi.abort(1);
    }
}
