// Catch2 under mpirun: every rank runs the same cases in the same order, so their collectives pair up.
// The job passes when no rank failed (the failure counts are summed over ranks, so every rank agrees).
// Each rank prints its own Catch2 report; rank 0 adds the total.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <mpi.h>

#include "distributed/mpi_session.hpp"

int main(int argc, char** argv) {
    tapegrad::MpiSession mpi(argc, argv);
    Catch::Session session;
    if (int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
    const int failed = session.run();
    int total = failed;
    MPI_Allreduce(MPI_IN_PLACE, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (mpi.rank() == 0) std::printf("distributed_tests: %d rank(s), %d failure(s) over all ranks\n", mpi.world_size(), total);
    return total == 0 ? 0 : 1;
}
