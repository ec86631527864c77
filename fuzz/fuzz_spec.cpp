// libFuzzer target: the model-spec parser and builder on arbitrary text.
// Contract checked: parse_spec, spec_parameter_count and build_model either succeed or throw SpecError;
// anything else escaping (ShapeError, std::bad_alloc, std::length_error...) is a crash for libFuzzer.
// spec_parameter_count must be the built model's parameter count, and the model must run a forward pass.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "tapegrad/nn/spec.hpp"

// Valid models above this size are not built (a spec may declare up to 2^28 parameters, which is legal but
// takes seconds and a gigabyte); their sizes are still checked by spec_parameter_count.
constexpr std::size_t kMaxBuiltParameters = 1 << 20;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tapegrad;
    const std::string spec(reinterpret_cast<const char*>(data), size);
    try {
        (void)parse_spec(spec);
    } catch (const SpecError&) {
        return 0;
    }
    constexpr std::size_t vocab = 5;
    std::size_t parameters = 0;
    try {
        parameters = spec_parameter_count(spec, vocab);
    } catch (const SpecError&) {
        return 0;
    }
    if (parameters > kMaxBuiltParameters) return 0;
    Tape<float> tape;
    Generator gen(1);
    // Everything spec_parameter_count accepted must build: no SpecError expected here any more.
    const auto model = build_model<float>(spec, vocab, tape, gen);
    if (model->parameter_count() != parameters) std::abort();
    const std::size_t k = model->context_size();
    std::vector<std::int64_t> ids(2 * k);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = std::int64_t(i % vocab);
    (void)model->forward_tokens(TokenInput{ids, k});
    return 0;
}
