// libFuzzer target: the model-spec parser and builder on arbitrary text.
// Contract checked: parse_spec and build_model either succeed or throw SpecError; anything else escaping
// (ShapeError, std::bad_alloc, std::length_error...) is a crash for libFuzzer. A built model must run a
// forward pass on a few tokens.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>

#include "nn/spec.hpp"

namespace {

// Widths of four digits or more make valid but slow models (a 9999×9999 linear layer is 10^8
// parameters); the size limits of build_model for absurd widths are checked by tests/nn/spec_test.cpp.
bool small_numbers_only(const std::string& spec) {
    std::size_t run = 0;
    for (char c : spec) {
        run = std::isdigit(static_cast<unsigned char>(c)) ? run + 1 : 0;
        if (run > 3) return false;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tapegrad;
    const std::string spec(reinterpret_cast<const char*>(data), size);
    try {
        (void)parse_spec(spec);
    } catch (const SpecError&) {
        return 0;
    }
    if (!small_numbers_only(spec)) return 0;
    constexpr std::size_t vocab = 5;
    Tape<float> tape;
    Generator gen(1);
    std::shared_ptr<Sequential<float>> model;
    try {
        model = build_model<float>(spec, vocab, tape, gen);
    } catch (const SpecError&) {
        return 0;
    }
    const std::size_t k = model->context_size();
    std::vector<std::int64_t> ids(2 * k);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = std::int64_t(i % vocab);
    (void)model->forward(TokenInput{ids, k});
    return 0;
}
