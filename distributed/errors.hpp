/// \file
/// The error distributed/ adds to tapegrad's (autodiff/errors.hpp): an MPI call that failed, named with the
/// call, what it was doing and MPI's own message. Mismatches between ranks are ShapeError / UsageError.
#pragma once

#include <mpi.h>

#include <string>

#include "tapegrad/autodiff/errors.hpp"

namespace tapegrad {

struct DistributedError : Error {
    using Error::Error;
};

namespace detail {

/// Throws DistributedError "<what>: <call> failed: <MPI's error string>" unless rc is MPI_SUCCESS.
/// Only useful on a communicator whose error handler is MPI_ERRORS_RETURN (the default aborts the job).
void check_mpi(int rc, const char* call, const std::string& what);

}  // namespace detail
}  // namespace tapegrad
