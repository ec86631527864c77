// Two ranks train; at step 3 rank 1 fails while rank 0 goes on into MPI_Allreduce. The job must end with
// a non-zero status, not hang. `rank_exit exit`: rank 1 leaves without MPI_Finalize (as a crash would).
// `rank_exit throw`: rank 1 throws, main catches and ends the job through MpiSession::abort.
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <stdexcept>

#include "tapegrad/distributed/distributed.hpp"
#include "tapegrad/nn/nn.hpp"

using namespace tapegrad;

int main(int argc, char** argv) {
    MpiSession mpi(argc, argv);
    const bool throw_mode = argc > 1 && std::strcmp(argv[1], "throw") == 0;
    try {
        Tape<float> tape;
        Generator gen(1);
        SeedLanguageModel<float> model(tape, 11, 8, 12, gen);
        DataParallel<float> dp(MPI_COMM_WORLD, model.named_parameters());
        dp.broadcast_parameters();
        const std::vector<std::int64_t> ids = {1, 2, 3, 4}, targets = {2, 3, 4, 5};
        for (int step = 0; step < 1000; ++step) {
            if (dp.rank() == 1 && step == 3) {
                std::cout << "rank 1: failing on purpose at step 3 (" << (throw_mode ? "throw" : "exit") << ")" << std::endl;
                if (!throw_mode) std::_Exit(3);
                throw std::runtime_error("rank 1: a failure in the training step");
            }
            model.zero_grad();
            cross_entropy(model(TokenInput{ids, 1}), targets).backward();
            dp.average_gradients();
            tape.clear();
        }
        std::cout << "rank " << dp.rank() << ": finished 1000 steps, which should not happen" << std::endl;
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "rank " << mpi.rank() << ": error: " << e.what() << std::endl;
        mpi.abort(1);
    }
}
