// libFuzzer target: a whole checkpoint as train_lm resumes one. The bytes are written to a file, then
// load_model rebuilds the model from the stored spec and loads its parameters, and Adam takes its state
// from the same file. Contract checked: load_model succeeds or throws CheckpointError; Adam's
// load_state_dict succeeds or throws a tapegrad::Error (UsageError, ShapeError, DomainError, as
// documented); a loaded model runs a forward pass. Anything else escaping is a crash for libFuzzer, and
// an allocation above -malloc_limit_mb (a tiny file declaring a huge model) a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>

#include "tapegrad/nn/checkpoint.hpp"
#include "tapegrad/nn/model_file.hpp"
#include "tapegrad/optim/adam.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tapegrad;
    static const std::string path = std::string("/tmp/fuzz_checkpoint.").append(std::to_string(::getpid())).append(".safetensors");
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), std::streamsize(size));
    struct Remove {
        ~Remove() { std::remove(path.c_str()); }
    } remove_at_exit;

    Tape<float> tape;
    std::shared_ptr<SpecModel<float>> model;
    try {
        model = load_model<float>(path, tape);
    } catch (const CheckpointError&) {
        return 0;
    }
    try {
        Adam<float> adam(model->named_parameters());
        adam.load_state_dict(extract_state<float>(load_safetensors(path), ""));
    } catch (const Error&) {
    }
    const std::size_t k = model->context_size();
    std::vector<std::int64_t> ids(2 * k, 0);
    (void)model->forward_tokens(TokenInput{ids, k});
    return 0;
}
