/// \file
/// Model files: a checkpoint of a model built from a spec holds its spec and vocabulary (metadata
/// model.spec, model.vocab), from which the file alone rebuilds the model. Reading a checkpoint into a model
/// you built (nn/checkpoint.hpp) needs none of this; rebuilding needs the spec language (nn/spec.hpp).
#pragma once

#include <filesystem>
#include <memory>

#include "tapegrad/nn/checkpoint.hpp"
#include "tapegrad/nn/spec.hpp"

namespace tapegrad {

/// Rebuilds a model from a checkpoint alone (its stored spec and vocabulary) and loads its parameters,
/// reading the file once; `file`, when given, receives it (for the extra state and metadata).
/// CheckpointError when the file is not a checkpoint or its model.spec / model.vocab do not build a model.
template <CheckpointScalar T>
std::shared_ptr<SpecModel<T>> load_model(const std::filesystem::path& path, Tape<T>& tape, SafetensorsFile* file = nullptr);

}  // namespace tapegrad
