#include "walkthrough.hpp"

#include "tapegrad/nn/nn.hpp"
#include "tapegrad/optim/optim.hpp"

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

namespace {

// The model's weights are fixed numbers, printed, so that a reader can redo every product by hand.
void set_weights(SeedLanguageModel<double>& lm, ModelSection& s) {
    lm.E.mutable_value() = s.E;
    lm.W[0].mutable_value() = s.W3;
    lm.W[1].mutable_value() = s.W2;
    lm.W[2].mutable_value() = s.W1;
}

}  // namespace

ModelSection model_section() {
    ModelSection s;
    s.ids = {0, 1};
    s.targets = {1, 2};
    s.E = {{0.1, 0.2}, {0.3, -0.1}, {-0.2, 0.4}};
    s.W3 = {{0.5, -0.3, 0.2, 0.1}, {0.4, 0.6, -0.5, 0.3}};
    s.W2 = {{0.2, -0.1}, {0.3, 0.4}, {-0.6, 0.2}, {0.1, 0.5}};
    s.W1 = {{0.7, -0.2, 0.3}, {-0.4, 0.5, 0.6}};

    Tape<double> tape;
    Generator gen(0);
    SeedLanguageModel<double> lm(tape, 3, 2, 4, gen);
    set_weights(lm, s);
    auto h = lm.forward_all(TokenInput{s.ids});  // h3, h2, h1, logits
    auto loss = cross_entropy(h[3], s.targets);
    loss.backward();
    s.h3 = h[0].value(), s.h2 = h[1].value(), s.h1 = h[2].value(), s.logits = h[3].value();
    s.loss = loss.item();
    s.G = h[3].grad();
    s.dW1 = lm.W[2].grad(), s.dh1 = h[2].grad(), s.dW2 = lm.W[1].grad(), s.dh2 = h[1].grad();
    s.dW3 = lm.W[0].grad(), s.dh3 = h[0].grad(), s.dE = lm.E.grad();

    // §3: p ← p − lr·dp, lr = 0.01
    SGD<double> sgd(lm.named_parameters(), {.lr = 0.01});
    sgd.step();
    s.sgd_E = lm.E.value();
    s.sgd_W3 = lm.W[0].value();

    // §4: one Adam step from the same weights and gradients
    set_weights(lm, s);
    Adam<double> adam(lm.named_parameters(), {.lr = 0.01});
    adam.step();
    const StateDict<double> state = adam.state_dict();
    for (const auto& [name, t] : state.tensors) {
        if (name == "optim.m.W3") s.adam_m = t(0, 0);
        if (name == "optim.v.W3") s.adam_v = t(0, 0);
    }
    s.adam_g = s.dW3(0, 0);
    s.adam_m_hat = s.adam_m / (1 - 0.9);     // 1 − β1ᵗ, t = 1
    s.adam_v_hat = s.adam_v / (1 - 0.999);   // 1 − β2ᵗ
    s.adam_W3_00 = lm.W[0].value()(0, 0);

    // Every gradient, against central differences.
    set_weights(lm, s);
    tape.clear();
    const GradcheckReport report =
        gradcheck_module(lm, [&](auto& m) { return cross_entropy(m(TokenInput{s.ids}), s.targets); });
    s.gradcheck_passed = bool(report);
    s.gradcheck_report = report.to_string();
    return s;
}

void print(std::ostream& os, const ModelSection& s) {
    char buf[200];
    os << "\n== 2.2 and 2.3 A three-layer model (w = 3, d = 2, f = 4), fixed weights ==\n";
    print_matrix(os, "E  (w x d)", s.E, 2);
    print_matrix(os, "W3 (d x f)", s.W3, 2);
    print_matrix(os, "W2 (f x d)", s.W2, 2);
    print_matrix(os, "W1 (d x w)", s.W1, 2);
    os << "  forward, ids [0, 1]:\n";
    print_matrix(os, "h3 = E[ids]", s.h3, 4);
    print_matrix(os, "h2 = h3 . W3", s.h2, 4);
    print_matrix(os, "h1 = h2 . W2", s.h1, 4);
    print_matrix(os, "logits = h1 . W1", s.logits, 4);
    std::snprintf(buf, sizeof buf, "  mean loss over targets [1, 2] = %.6f\n", s.loss);
    os << buf << "  backward, the note's seven steps:\n";
    print_matrix(os, "1. G = dL/dlogits = (softmax - onehot) / n", s.G, 4);
    print_matrix(os, "2. dW1 = h1^T . G", s.dW1, 4);
    print_matrix(os, "3. dh1 = G . W1^T", s.dh1, 4);
    print_matrix(os, "4. dW2 = h2^T . dh1", s.dW2, 4);
    print_matrix(os, "5. dh2 = dh1 . W2^T", s.dh2, 4);
    print_matrix(os, "6. dW3 = h3^T . dh2", s.dW3, 4);
    print_matrix(os, "7. dh3 = dh2 . W3^T", s.dh3, 4);
    print_matrix(os, "dE: row ids[k] receives dh3[k] (row 2 was not looked up)", s.dE, 4);
    os << "\n== 3. One SGD update, p = p - 0.01 . dp ==\n";
    print_matrix(os, "E after (rows 0 and 1 moved, row 2 unchanged)", s.sgd_E, 6);
    print_matrix(os, "W3 after", s.sgd_W3, 6);
    os << "\n== 4. One Adam update (lr 0.01, b1 0.9, b2 0.999, eps 1e-8, t = 1), for W3[0,0] ==\n";
    std::snprintf(buf, sizeof buf,
                  "  g = %.6g\n  m = 0.1 g = %.6g\n  v = 0.001 g^2 = %.6g\n  m_hat = m / (1 - 0.9) = %.6g (= g)\n"
                  "  v_hat = v / (1 - 0.999) = %.6g (= g^2)\n",
                  s.adam_g, s.adam_m, s.adam_v, s.adam_m_hat, s.adam_v_hat);
    os << buf;
    std::snprintf(buf, sizeof buf, "  W3[0,0] = %.6f - 0.01 . m_hat / (sqrt(v_hat) + eps) = %.6f (moved by about lr . sign(g))\n",
                  s.W3(0, 0), s.adam_W3_00);
    os << buf << "\n== gradcheck of every gradient (central differences, double) ==\n" << s.gradcheck_report;
}

}  // namespace walkthrough
