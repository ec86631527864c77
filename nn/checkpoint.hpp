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

namespace tapegrad {

inline constexpr const char* kCheckpointFormat = "tapegrad-checkpoint-1";
/// The prefix of the model's tensors and metadata in a checkpoint.
inline const std::string kModelPrefix = "model.";

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

/// The same from a file already read (load_safetensors); `origin` names it in errors.
template <CheckpointScalar T>
void load_checkpoint(const SafetensorsFile& file, Module<T>& model, const std::string& origin);

/// Loads the model, then each object saved beside it under the prefix "" (an optimizer, a schedule:
/// anything with load_state_dict(StateDict<T>)), in one statement:
/// ~~~{.cpp}
/// load_checkpoint("run.safetensors", *model, optimizer, schedule);
/// ~~~
/// Each object validates its whole state before it changes anything; if one rejects its state, the model
/// and the objects before it are already loaded (load again, or rebuild them).
template <CheckpointScalar T, class... Stateful>
    requires(sizeof...(Stateful) > 0)
SafetensorsFile load_checkpoint(const std::filesystem::path& path, Module<T>& model, Stateful&... objects) {
    SafetensorsFile file = load_checkpoint(path, model);
    const StateDict<T> state = extract_state<T>(file, "");
    (objects.load_state_dict(state), ...);
    return file;
}

}  // namespace tapegrad
