/// \file
/// Checkpoints: a model's parameters (and any other named state, such as an optimizer's) in one
/// safetensors file. Layout:
/// ~~~{.unparsed}
///   tensors   "model.<parameter name>"   e.g. model.0.weight, model.E
///             "<prefix><name>"           extra state, e.g. optim.m.0.weight
///   metadata  "model.spec", "model.vocab" (when the model was built from a spec), "model.dtype" ("F32"/"F64"),
///             "format" = "tapegrad-checkpoint-1", plus the extra state's metadata under its prefix and any
///             caller metadata.
/// ~~~
/// Loading is all-or-nothing: names, dtypes, shapes and values (every element finite) are checked first and
/// the model's parameters are untouched when anything is wrong.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tapegrad/nn/init.hpp"
#include "tapegrad/nn/module.hpp"
#include "tapegrad/nn/safetensors.hpp"
#include "tapegrad/nn/sequential.hpp"

namespace tapegrad {

inline constexpr const char* kCheckpointFormat = "tapegrad-checkpoint-1";

/// The model's parameters as named tensors (copies), with its spec in the metadata when it has one.
template <CheckpointScalar T>
StateDict<T> module_state(const Module<T>& model);

/// Assigns every parameter from `state` after checking that the names are exactly the model's (each once),
/// that every shape matches and that every element is finite; CheckpointError naming the first problem
/// otherwise, with nothing assigned, e.g.
/// ~~~{.unparsed}
///   "<origin>: parameter '0.weight' holds nan at element 7 (row 2, col 1); parameters must be finite".
/// ~~~
template <CheckpointScalar T>
void load_module_state(Module<T>& model, const StateDict<T>& state, const std::string& origin = "state");

/// Extra state saved beside the model, each under its prefix, e.g.\ {"", optimizer.state_dict()} (whose keys
/// already start with "optim."). No extra tensor may start with "model.".
template <class T>
using NamedStates = std::vector<std::pair<std::string, StateDict<T>>>;

template <CheckpointScalar T>
void save_checkpoint(const std::filesystem::path& path, const Module<T>& model, const NamedStates<T>& extra = {},
                     const std::map<std::string, std::string>& metadata = {});

/// Loads the parameters into `model` (all-or-nothing) and returns the whole file, for the extra state
/// (extract_state(file, "") for state saved as {"", optimizer.state_dict()}) and metadata.
template <CheckpointScalar T>
SafetensorsFile load_checkpoint(const std::filesystem::path& path, Module<T>& model);

/// Rebuilds a model from a checkpoint alone (its stored spec and vocabulary) and loads its parameters.
/// CheckpointError when the file is not a checkpoint or its model.spec / model.vocab do not build a model.
template <CheckpointScalar T>
std::shared_ptr<Sequential<T>> load_model(const std::filesystem::path& path, Tape<T>& tape);

}  // namespace tapegrad
