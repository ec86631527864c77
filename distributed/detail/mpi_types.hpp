// The MPI datatype of a tensor element.
#pragma once

#include <mpi.h>

namespace tapegrad::detail {

template <class T>
MPI_Datatype mpi_type();
template <>
inline MPI_Datatype mpi_type<float>() { return MPI_FLOAT; }
template <>
inline MPI_Datatype mpi_type<double>() { return MPI_DOUBLE; }

}  // namespace tapegrad::detail
