// tapegrad::distributed: data-parallel training over MPI (built when CMake finds MPI).
#pragma once

#include "distributed/data_parallel.hpp"
#include "distributed/errors.hpp"
#include "distributed/mpi_session.hpp"
