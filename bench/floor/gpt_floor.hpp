// The GPT step's GEMMs alone: every matrix product of one training step of train_lm --model gpt, in the order
// tapegrad runs them, as raw cblas_sgemm calls on preallocated buffers (the attention's per-(sequence, head)
// products in the same blocks of query rows). No elementwise op, no LayerNorm, no softmax, no optimizer: a
// lower bound for the step of any library that runs its products on OpenBLAS, PyTorch's included. The ratio
// twin / GEMMs-alone is the most any such library could be faster than the twin.
#pragma once

#include <cstddef>
#include <memory>

namespace bench {

struct GptShape {
    std::size_t layers, heads, width, block, windows, vocab;
    bool recompute_attention = false;  // as tapegrad's attention from kAttentionRecomputeFrom on: backward
                                       // recomputes each query block's scores (one more product per block)
};

class GptGemmFloor {
public:
    explicit GptGemmFloor(const GptShape& shape);
    ~GptGemmFloor();
    void step();  // forward and backward products of one step

private:
    struct Buffers;
    GptShape s_;
    std::unique_ptr<Buffers> b_;
};

}  // namespace bench
