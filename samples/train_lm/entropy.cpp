#include "entropy.hpp"

#include <cmath>
#include <stdexcept>
#include <vector>

namespace train_lm {

double unigram_entropy(std::span<const std::int64_t> ids, std::size_t vocab) {
    if (ids.empty()) throw std::runtime_error("unigram_entropy: no tokens");
    std::vector<double> count(vocab, 0.0);
    for (std::int64_t id : ids) count.at(std::size_t(id)) += 1;
    const double n = double(ids.size());
    double h = 0;
    for (double c : count)
        if (c > 0) h -= c / n * std::log(c / n);
    return h;
}

double bigram_entropy(std::span<const std::int64_t> ids, std::size_t vocab) {
    if (ids.size() < 2) throw std::runtime_error("bigram_entropy: fewer than two tokens");
    std::vector<double> pair(vocab * vocab, 0.0), first(vocab, 0.0);
    for (std::size_t t = 1; t < ids.size(); ++t) {
        pair.at(std::size_t(ids[t - 1]) * vocab + std::size_t(ids[t])) += 1;
        first[std::size_t(ids[t - 1])] += 1;
    }
    const double n = double(ids.size() - 1);
    double h = 0;
    for (std::size_t a = 0; a < vocab; ++a)
        for (std::size_t b = 0; b < vocab; ++b) {
            const double c = pair[a * vocab + b];
            if (c > 0) h -= c / n * std::log(c / first[a]);
        }
    return h;
}

}  // namespace train_lm
