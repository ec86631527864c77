// Vocabulary shared by nn (which owns parameters) and optim (which updates them), so that neither needs
// the other: a parameter with its name, and named state to save and restore.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

template <class T>
struct NamedParameter {
    std::string name;  // stable dotted name, e.g. "ffn.0.weight"
    Var<T> var;        // a parameter handle (Var::is_parameter())
};

// What an object needs to be restored exactly: named tensors in a fixed order, and named strings
// (scalars are written with enough digits to round-trip, e.g. "%.17g").
template <class T>
struct StateDict {
    std::vector<std::pair<std::string, Tensor<T>>> tensors;
    std::map<std::string, std::string> metadata;
};

}  // namespace tapegrad
