#include "tapegrad/nn/checkpoint.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "tapegrad/autodiff/finite.hpp"

namespace tapegrad {

namespace {


// "nan", "inf", "-inf": the value a non-finite element holds, for messages.
template <class T>
std::string nonfinite_text(T x) {
    if (std::isnan(x)) return "nan";
    return std::signbit(x) ? "-inf" : "inf";
}

}  // namespace

template <CheckpointScalar T>
StateDict<T> module_state(const Module<T>& model) {
    StateDict<T> state;
    for (const auto& p : model.named_parameters()) state.tensors.emplace_back(p.name, p.var.value());
    state.metadata["dtype"] = std::string(dtype_name(dtype_of<T>));
    for (const auto& [key, value] : model.checkpoint_metadata()) state.metadata[key] = value;
    return state;
}

template <CheckpointScalar T>
void load_module_state(Module<T>& model, const StateDict<T>& state, const std::string& origin) {
    const auto params = model.named_parameters();
    // Check everything first.
    for (auto it = state.tensors.begin(); it != state.tensors.end(); ++it) {
        const std::string& name = it->first;
        if (std::any_of(state.tensors.begin(), it, [&](const auto& t) { return t.first == name; }))
            throw CheckpointError(origin + ": tensor '" + name + "' appears more than once");
    }
    for (const auto& p : params) {
        const auto it = std::find_if(state.tensors.begin(), state.tensors.end(), [&](const auto& t) { return t.first == p.name; });
        if (it == state.tensors.end())
            throw CheckpointError(origin + ": parameter '" + p.name + "' of the model is missing (the checkpoint is of a different model?)");
        if (shape_of(it->second) != p.var.shape())
            throw CheckpointError(origin + ": parameter '" + p.name + "' is " + shape_str(shape_of(it->second)) +
                                  " in the checkpoint but " + shape_str(p.var.shape()) + " in the model");
        // A NaN or Inf weight would make every later loss NaN: a damaged checkpoint, not a model to resume.
        const Tensor<T>& value = it->second;
        const std::size_t k = first_nonfinite(value.data(), value.size());
        if (k < value.size()) {
            const std::size_t cols = value.shape()[1];
            throw CheckpointError(origin + ": parameter '" + p.name + "' holds " + nonfinite_text(value.data()[k]) +
                                  " at element " + std::to_string(k) + " (row " + std::to_string(k / cols) +
                                  ", col " + std::to_string(k % cols) + "); parameters must be finite");
        }
    }
    for (const auto& entry : state.tensors) {
        const std::string& name = entry.first;  // not a structured binding: clang 14 cannot capture those
        const bool known = std::any_of(params.begin(), params.end(), [&](const auto& p) { return p.name == name; });
        if (!known) throw CheckpointError(origin + ": tensor '" + name + "' is not a parameter of the model (the checkpoint is of a different model?)");
    }
    // Then assign.
    for (const auto& p : params) {
        const auto it = std::find_if(state.tensors.begin(), state.tensors.end(), [&](const auto& t) { return t.first == p.name; });
        p.var.mutable_value() = it->second;
    }
}

template <CheckpointScalar T>
void save_checkpoint(const std::filesystem::path& path, const Module<T>& model, const NamedStates<T>& extra,
                     const std::map<std::string, std::string>& metadata) {
    SafetensorsWriter writer;
    add_state(writer, module_state(model), kModelPrefix);
    for (const auto& [prefix, state] : extra) {
        for (const auto& [name, tensor] : state.tensors)
            if ((prefix + name).rfind(kModelPrefix, 0) == 0)
                throw CheckpointError(path.string() + ": extra state tensor '" + prefix + name + "' would be read as a model parameter");
        add_state(writer, state, prefix);
    }
    for (const auto& [k, v] : metadata) writer.metadata[k] = v;
    writer.metadata["format"] = kCheckpointFormat;
    writer.save(path);
}

template <CheckpointScalar T>
SafetensorsFile load_checkpoint(const std::filesystem::path& path, Module<T>& model) {
    SafetensorsFile file = load_safetensors(path);
    load_checkpoint(file, model, path.string());
    return file;
}

template <CheckpointScalar T>
void load_checkpoint(const SafetensorsFile& file, Module<T>& model, const std::string& origin) {
    const auto format = file.metadata.find("format");
    if (format == file.metadata.end() || format->second != kCheckpointFormat)
        throw CheckpointError(origin + ": not a tapegrad checkpoint (metadata 'format' is " +
                              (format == file.metadata.end() ? std::string("missing") : "'" + format->second + "'") +
                              ", expected '" + kCheckpointFormat + "')");
    const auto dtype = file.metadata.find(kModelPrefix + "dtype");
    if (dtype != file.metadata.end() && dtype->second != dtype_name(dtype_of<T>))
        throw CheckpointError(origin + ": the model was saved in " + dtype->second + ", but this model is " +
                              std::string(dtype_name(dtype_of<T>)));
    load_module_state(model, extract_state<T>(file, kModelPrefix), origin);
}

template StateDict<float> module_state(const Module<float>&);
template StateDict<double> module_state(const Module<double>&);
template void load_module_state(Module<float>&, const StateDict<float>&, const std::string&);
template void load_module_state(Module<double>&, const StateDict<double>&, const std::string&);
template void save_checkpoint(const std::filesystem::path&, const Module<float>&, const NamedStates<float>&,
                              const std::map<std::string, std::string>&);
template void save_checkpoint(const std::filesystem::path&, const Module<double>&, const NamedStates<double>&,
                              const std::map<std::string, std::string>&);
template SafetensorsFile load_checkpoint(const std::filesystem::path&, Module<float>&);
template SafetensorsFile load_checkpoint(const std::filesystem::path&, Module<double>&);
template void load_checkpoint(const SafetensorsFile&, Module<float>&, const std::string&);
template void load_checkpoint(const SafetensorsFile&, Module<double>&, const std::string&);

}  // namespace tapegrad
