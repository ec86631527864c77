#include "walkthrough.hpp"

#include <cmath>
#include <cstdio>
#include <ostream>

namespace walkthrough {
namespace {

using namespace tapegrad;

void print_matrix(std::ostream& os, const char* name, const Tensor<double>& m, int decimals = 3) {
    char buf[64];
    os << "  " << name << " (" << shape_str(shape_of(m)) << ") =\n";
    for (std::size_t r = 0; r < m.shape()[0]; ++r) {
        os << "    [";
        for (std::size_t c = 0; c < m.shape()[1]; ++c) {
            std::snprintf(buf, sizeof buf, "%s%*.*f", c ? ", " : "", decimals + 4, decimals, m(r, c));
            os << buf;
        }
        os << "]\n";
    }
}

}  // namespace

LossSection loss_section() {
    LossSection s;
    s.ids = {0, 1};
    s.targets = {1, 2};
    s.P = {{0.320, 0.333, 0.347}, {0.301, 0.332, 0.367}};
    s.logits = s.P;
    for (auto& v : s.logits) v = std::log(v);  // each row of P sums to 1, so softmax(ln P) = P

    Tape<double> tape;
    auto logits = tape.variable(s.logits);
    s.softmax = softmax(logits).value();
    s.per_position = cross_entropy(logits, s.targets, {.reduction = Reduction::none}).value();

    auto mean_loss = cross_entropy(logits, s.targets);  // reduction mean: divided by n = 2
    s.mean_loss = mean_loss.item();
    mean_loss.backward();
    s.dlogits_mean = logits.grad();

    tape.clear();
    auto logits2 = tape.variable(s.logits);
    cross_entropy(logits2, s.targets, {.reduction = Reduction::sum}).backward();
    s.dlogits_sum = logits2.grad();

    // The note averages its per-position terms after rounding them to three decimals.
    s.note_loss = (s.note_terms[0] + s.note_terms[1]) / 2;
    return s;
}

void print(std::ostream& os, const LossSection& s) {
    char buf[400];
    os << "== 1. Loss ==\n";
    os << "  vocabulary w = 3, input ids [" << s.ids[0] << ", " << s.ids[1] << "], targets [" << s.targets[0] << ", "
       << s.targets[1] << "], logits = ln(P)\n";
    print_matrix(os, "P = softmax(logits)", s.softmax);
    for (std::size_t i = 0; i < s.targets.size(); ++i) {
        std::snprintf(buf, sizeof buf, "  position %zu (target %lld): -ln %.3f = %.6f\n", i, (long long)s.targets[i],
                      s.P(i, std::size_t(s.targets[i])), s.per_position(i, 0));
        os << buf;
    }
    std::snprintf(buf, sizeof buf, "  mean loss = %.6f\n", s.mean_loss);
    os << buf;
    std::snprintf(buf, sizeof buf,
                  "  (the note prints %.4f = (%.3f + %.3f) / 2: it rounds each term to three decimals before averaging,\n"
                  "   and prints -ln 0.367 = %.6f as %.3f; the exact mean of the exact terms is %.6f)\n",
                  s.note_loss, s.note_terms[0], s.note_terms[1], s.per_position(1, 0), s.note_terms[1], s.mean_loss);
    os << buf;
    os << "\n== 2.1 Gradient of the loss with respect to the logits: softmax(logits) - onehot(target) ==\n";
    print_matrix(os, "dL/dlogits, reduction sum", s.dlogits_sum);
    print_matrix(os, "dL/dlogits, reduction mean (every row / n = 2)", s.dlogits_mean, 4);
    os << "  The target entry is negative and shrinks as the prediction improves; the others are positive.\n";
}

}  // namespace walkthrough
