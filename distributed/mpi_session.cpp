#include "tapegrad/distributed/mpi_session.hpp"

#include <mpi.h>

#include <cstdlib>
#include <exception>
#include <initializer_list>
#include <string>

#include "tapegrad/distributed/errors.hpp"

namespace tapegrad {

namespace detail {

void check_mpi(int rc, const char* call, const std::string& what) {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) length = 0;
    throw DistributedError(std::string(what).append(": ").append(call).append(" failed (error ")
                               .append(std::to_string(rc)).append("): ").append(text, std::size_t(length)));
}

}  // namespace detail

bool MpiSession::launched() {
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
        if (std::getenv(name) != nullptr) return true;
    return false;
}

MpiSession::MpiSession(int& argc, char**& argv) {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (!initialised) {
        if (MPI_Init(&argc, &argv) != MPI_SUCCESS) throw DistributedError("MpiSession: MPI_Init failed");
        owns_ = true;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiSession::~MpiSession() {
    if (!owns_) return;
    if (std::uncaught_exceptions() > 0 && size_ > 1) abort(1);  // unwinding: the others may wait in a collective
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
}

void MpiSession::abort(int code) const {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);  // MPI_Abort does not return; this is for the compiler and for broken implementations
}

}  // namespace tapegrad
