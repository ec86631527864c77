/// \file
/// tapegrad::distributed: data-parallel training over MPI (built when CMake finds MPI).
#pragma once

#include "tapegrad/distributed/data_parallel.hpp"
#include "tapegrad/distributed/errors.hpp"
#include "tapegrad/distributed/mpi_session.hpp"
