// The spec tests' helper: the SpecError message of building a spec, or "no error".
#pragma once

#include <string>

#include "tapegrad/nn/spec.hpp"

namespace tapegrad::test {

// The SpecError message of building `spec` as a float model on `tape`, or "no error".
inline std::string spec_error(Tape<float>& tape, const std::string& spec, std::size_t vocab = 10) {
    Generator gen(1);
    try {
        build_model<float>(spec, vocab, tape, gen);
    } catch (const SpecError& e) {
        return e.what();
    }
    return "no error";
}

inline std::string spec_error(const std::string& spec, std::size_t vocab = 10) {
    Tape<float> tape;
    return spec_error(tape, spec, vocab);
}

}  // namespace tapegrad::test
