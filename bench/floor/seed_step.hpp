// The library's step: the note's model as a user writes it with tapegrad (SeedLanguageModel, fused
// cross_entropy, backward, Adam), on one tape that is cleared after every step.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "sizes.hpp"

namespace bench {

class TapegradStep {
public:
    TapegradStep(const ModelSize& size, const AdamSettings& adam, std::uint64_t seed);
    ~TapegradStep();
    // One step on (ids, targets); returns the mean cross-entropy before the update.
    float step(const std::vector<std::int64_t>& ids, const std::vector<std::int64_t>& targets);
    // The initial parameters, row-major, for the floor: E, W3, W2, W1.
    std::vector<std::vector<float>> parameters() const;

private:
    struct State;
    std::unique_ptr<State> s_;
};

// Tape overhead: microseconds per node of a chain of `nodes` 1×1 ops, forward + backward + clear.
double node_overhead_us(std::size_t nodes, int repeats);

}  // namespace bench
