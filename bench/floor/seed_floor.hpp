// The floor: one training step of the note's model written by hand, with the same nine GEMMs as raw
// cblas_sgemm calls (transpose flags, preallocated buffers), a plain fused softmax-cross-entropy loop,
// a plain scatter-add and a plain Adam loop.  What a step costs when nothing but the math runs.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "sizes.hpp"

namespace bench {

class FloorStep {
public:
    // Parameters in the library's layout (row-major): E w×d, W3 d×f, W2 f×d, W1 d×w.
    FloorStep(const ModelSize& size, const AdamSettings& adam, std::vector<float> E, std::vector<float> W3,
              std::vector<float> W2, std::vector<float> W1);
    ~FloorStep();
    // One step on (ids, targets), both of length n; returns the mean cross-entropy before the update.
    float step(const std::vector<std::int64_t>& ids, const std::vector<std::int64_t>& targets);

private:
    struct Buffers;
    ModelSize size_;
    AdamSettings adam_;
    std::unique_ptr<Buffers> b_;
    long t_ = 0;
};

// Sizes both thread pools: OpenBLAS's and OpenMP's.
void set_threads(int threads);

}  // namespace bench
