// The design note's worked example (docs/math.md), computed with the tape.
//   vocabulary w = 3, input ids [0, 1], target ids [1, 2], logits ln(P).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <vector>

#include "tapegrad/autodiff/autodiff.hpp"

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

// Sections 2.2–4 on a small three-layer model with fixed weights (w = 3, d = 2, f = 4, ids [0, 1],
// targets [1, 2], mean loss): forward, the seven backward steps, one SGD update and one Adam update.
struct ModelSection {
    std::vector<std::int64_t> ids, targets;
    Tensor<double> E, W3, W2, W1;             // the fixed weights
    Tensor<double> h3, h2, h1, logits;        // forward
    double loss = 0;
    Tensor<double> G, dW1, dh1, dW2, dh2, dW3, dh3, dE;  // the seven steps, then the embedding rows
    Tensor<double> sgd_E, sgd_W3;             // after p ← p − 0.01·dp
    double adam_g = 0, adam_m = 0, adam_v = 0, adam_m_hat = 0, adam_v_hat = 0, adam_W3_00 = 0;  // W3[0,0], t = 1
    bool gradcheck_passed = false;
    std::string gradcheck_report;
};
ModelSection model_section();
void print(std::ostream& os, const ModelSection& s);

}  // namespace walkthrough
