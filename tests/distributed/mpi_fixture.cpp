// MPI for the whole test executable (linked with Catch2's own main): initialised before main runs, by a
// static object, and finalized after main returns. Each rank runs the same cases in the same order and
// returns its own failure count; mpirun exits non-zero when any rank does.
#include "tapegrad/distributed/mpi_session.hpp"

namespace {

struct MpiForTests {
    int argc = 0;
    char** argv = nullptr;
    tapegrad::MpiSession session{argc, argv};
};

const MpiForTests mpi_for_tests;

}  // namespace
