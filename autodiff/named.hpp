/// \file
/// Vocabulary shared by nn (which owns parameters) and optim (which updates them), so that neither needs
/// the other: a parameter with its name, and named state to save and restore.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

template <class T>
struct NamedParameter {
    std::string name;  ///< stable dotted name, e.g. "ffn.0.weight"
    Var<T> var;        ///< a parameter handle (Var::is_parameter())
};

/// Parameters without names (Module::parameters(), or handles from Tape::parameter) named by their position:
/// "0", "1", … in the given order. What an optimizer over a plain list of parameters saves its state under.
template <class T>
std::vector<NamedParameter<T>> named_by_position(const std::vector<Var<T>>& params) {
    std::vector<NamedParameter<T>> out;
    out.reserve(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) out.push_back({std::to_string(i), params[i]});
    return out;
}

/// What an object needs to be restored exactly: named tensors in a fixed order, and named strings
/// (scalars are written with enough digits to round-trip, e.g.\ "%.17g").
template <class T>
struct StateDict {
    std::vector<std::pair<std::string, Tensor<T>>> tensors;
    std::map<std::string, std::string> metadata;
};

}  // namespace tapegrad
