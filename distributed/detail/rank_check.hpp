// Checking that every rank trains the same parameter list (names, shapes, element type) before any
// collective relies on it: a mismatch would otherwise reduce unrelated numbers, or hang.
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

#include "tapegrad/autodiff/named.hpp"

namespace tapegrad::detail {

// One line per parameter, "name\trows\tcols", after a first line naming the element type ("F32"/"F64").
template <class T>
std::string describe_parameters(const std::vector<NamedParameter<T>>& params);

// Collective over comm. Every rank compares its description with rank 0's; when any rank differs, every rank
// throws the same ShapeError, the one of the lowest differing rank, naming the parameter, shapes and ranks.
void check_same_parameters(MPI_Comm comm, const std::string& description);

}  // namespace tapegrad::detail
