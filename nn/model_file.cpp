#include "tapegrad/nn/model_file.hpp"

#include <charconv>

#include "tapegrad/nn/spec.hpp"

namespace tapegrad {

template <CheckpointScalar T>
std::shared_ptr<SpecModel<T>> load_model(const std::filesystem::path& path, Tape<T>& tape, SafetensorsFile* file_out) {
    SafetensorsFile file = load_safetensors(path);
    const auto spec = file.metadata.find(kModelPrefix + "spec");
    const auto vocab = file.metadata.find(kModelPrefix + "vocab");
    if (spec == file.metadata.end() || vocab == file.metadata.end())
        throw CheckpointError(path.string() + ": holds no model spec (the model was not built from a spec); load it into a model with load_checkpoint");
    // The whole string must be a decimal count: std::stoul would take "-1" as 2^64 - 1 and "12x" as 12.
    std::size_t v = 0;
    const std::string& text = vocab->second;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v == 0)
        throw CheckpointError(path.string() + ": metadata model.vocab is '" + text + "', not a positive integer");
    // The spec is checked, and its size compared with the tensors the file holds, before the model is
    // allocated: a 1 KB file must not make us allocate a huge model (fuzz/fuzz_checkpoint flagged a 256 MB
    // allocation for fuzz/corpus/checkpoint/huge_spec.safetensors, 1.2 KB declaring embed(8000) linear(vocab)).
    std::size_t declared = 0;
    try {
        declared = spec_parameter_count(spec->second, v);
    } catch (const SpecError& e) {
        throw CheckpointError(path.string() + ": metadata model.spec does not build a model: " + e.what());
    }
    std::size_t held = 0;
    for (const auto& entry : file.tensors)
        if (entry.name.starts_with(kModelPrefix)) held += entry.data.size() / dtype_size(entry.dtype);
    if (held != declared)
        throw CheckpointError(path.string() + ": metadata model.spec '" + spec->second + "' has " + std::to_string(declared) +
                              " parameters, but the file holds " + std::to_string(held) + " under '" + kModelPrefix + "'");
    Generator gen(0);  // initial values are overwritten by the checkpoint
    auto model = build_model<T>(spec->second, v, tape, gen);
    load_checkpoint(file, *model, path.string());
    if (file_out) *file_out = std::move(file);
    return model;
}

template std::shared_ptr<SpecModel<float>> load_model(const std::filesystem::path&, Tape<float>&, SafetensorsFile*);
template std::shared_ptr<SpecModel<double>> load_model(const std::filesystem::path&, Tape<double>&, SafetensorsFile*);

}  // namespace tapegrad
