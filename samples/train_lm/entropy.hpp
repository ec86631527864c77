// Reference figures computed exactly from counts on one split, in nats per token:
//   unigram entropy   H(X)        = −Σ_a p(a) ln p(a)
//   bigram entropy    H(X_t|X_t−1) = −Σ_{a,b} p(a,b) ln p(b|a),  over the pairs (x_{t−1}, x_t) of the split
// The bigram figure is the lowest mean cross-entropy any model that sees only the previous token can reach
// on that split (it is that model's maximum-likelihood fit to the split itself).
#pragma once

#include <cstdint>
#include <span>

namespace train_lm {

double unigram_entropy(std::span<const std::int64_t> ids, std::size_t vocab);
double bigram_entropy(std::span<const std::int64_t> ids, std::size_t vocab);

}  // namespace train_lm
