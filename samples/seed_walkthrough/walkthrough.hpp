// The design note's worked example (../shared/docs/seed-math.md), computed with the tape.
//   vocabulary w = 3, input ids [0, 1], target ids [1, 2], logits ln(P).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <vector>

#include "autodiff/autodiff.hpp"

namespace walkthrough {

using tapegrad::Tensor;

// Sections 1 and 2.1: the loss and its gradient with respect to the logits.
struct LossSection {
    std::vector<std::int64_t> ids, targets;
    Tensor<double> P;             // the note's softmax output (n×w)
    Tensor<double> logits;        // ln(P)
    Tensor<double> softmax;       // softmax(logits), recovers P
    Tensor<double> per_position;  // −ln P[i, target i]   (n×1)
    double mean_loss = 0;         // exact: 1.051003
    double note_terms[2] = {1.100, 1.003};  // the per-position losses as the note prints them (quoted)
    double note_loss = 0;                   // the note's figure, the mean of its printed terms: 1.0515
    Tensor<double> dlogits_sum;   // P − onehot
    Tensor<double> dlogits_mean;  // (P − onehot) / n
};
LossSection loss_section();
void print(std::ostream& os, const LossSection& s);

}  // namespace walkthrough
