#include "test_util.hpp"

#include "tapegrad/nn/language_model.hpp"
#include "tapegrad/nn/layers.hpp"
#include "tapegrad/nn/module_gradcheck.hpp"
#include "tapegrad/nn/spec.hpp"

using namespace tapegrad;
using test::matmul_ref;
using test::transpose_ref;

TEST_CASE("the note's model: parameter names and shapes", "[nn][seed]") {
    Tape<double> tape;
    Generator gen(1);
    SeedLanguageModel<double> lm(tape, 7, 3, 5, gen);  // w, d, f
    std::vector<std::string> names;
    std::vector<Shape> shapes;
    for (const auto& p : lm.named_parameters()) {
        names.push_back(p.name);
        shapes.push_back(p.var.shape());
    }
    CHECK(names == std::vector<std::string>{"E", "W3", "W2", "W1"});
    CHECK(shapes == std::vector<Shape>{{7, 3}, {3, 5}, {5, 3}, {3, 7}});
    SeedLanguageModel<double> deep(tape, 7, {3, 4, 6, 3}, gen);
    CHECK(deep.named_parameters()[1].name == "W4");
    CHECK(deep.named_parameters().back().name == "W1");
}

// seed-math 2.3: the model's gradients equal the seven steps written with plain matrix products.
TEST_CASE("the three-layer model's gradients are the note's seven steps", "[nn][seed]") {
    const std::size_t w = 6, d = 3, f = 4;
    Tape<double> tape;
    Generator gen(2);
    SeedLanguageModel<double> lm(tape, w, d, f, gen);
    const std::vector<std::int64_t> ids = {0, 4, 4, 2, 0}, targets = {4, 4, 2, 0, 1};
    const std::size_t n = ids.size();
    auto h = lm.forward_all(TokenInput{ids});  // h3, h2, h1, logits
    auto loss = cross_entropy(h[3], targets);  // mean over n
    loss.backward();

    // 1. G = (softmax(logits) − onehot) / n
    Tensor<double> G = h[3].value();
    for (std::size_t i = 0; i < n; ++i) {
        double m = -1e300, s = 0;
        for (std::size_t j = 0; j < w; ++j) m = std::max(m, G(i, j));
        for (std::size_t j = 0; j < w; ++j) s += std::exp(G(i, j) - m);
        for (std::size_t j = 0; j < w; ++j) G(i, j) = (std::exp(G(i, j) - m) / s - (std::int64_t(j) == targets[i])) / double(n);
    }
    const auto& W1 = lm.W[2].value();
    const auto& W2 = lm.W[1].value();
    const auto& W3 = lm.W[0].value();
    const Tensor<double> dW1 = matmul_ref(transpose_ref(h[2].value()), G);    // 2. h1ᵀ·G
    const Tensor<double> dh1 = matmul_ref(G, transpose_ref(W1));              // 3. G·W1ᵀ
    const Tensor<double> dW2 = matmul_ref(transpose_ref(h[1].value()), dh1);  // 4. h2ᵀ·dh1
    const Tensor<double> dh2 = matmul_ref(dh1, transpose_ref(W2));            // 5. dh1·W2ᵀ
    const Tensor<double> dW3 = matmul_ref(transpose_ref(h[0].value()), dh2);  // 6. h3ᵀ·dh2
    const Tensor<double> dh3 = matmul_ref(dh2, transpose_ref(W3));            // 7. dh2·W3ᵀ
    test::require_close(lm.W[2].grad(), dW1, 1e-12);
    test::require_close(lm.W[1].grad(), dW2, 1e-12);
    test::require_close(lm.W[0].grad(), dW3, 1e-12);
    // The embedding rows: row ids[k] gets dh3[k], summed over repeated ids (scatter-add).
    Tensor<double> dE({w, d}, 0.0);
    for (std::size_t k = 0; k < n; ++k)
        for (std::size_t j = 0; j < d; ++j) dE(std::size_t(ids[k]), j) += dh3(k, j);
    test::require_close(lm.E.grad(), dE, 1e-12);
}

TEST_CASE("gradcheck of the three-layer model, with an activation, and deeper chains", "[nn][seed][gradcheck]") {
    Tape<double> tape;
    Generator gen(3);
    const std::vector<std::int64_t> ids = {1, 1, 0, 3, 1}, targets = {2, 0, 0, 1, 3};
    auto loss = [&](auto& m) { return cross_entropy(m(TokenInput{ids}), targets); };
    SeedLanguageModel<double> plain(tape, 4, 3, 5, gen);
    REQUIRE(gradcheck_module(plain, loss));
    SeedLanguageModel<double> activated(tape, 4, 3, 5, gen, Activation::gelu);
    REQUIRE(gradcheck_module(activated, loss));
    SeedLanguageModel<double> deep(tape, 4, {3, 2, 4, 3}, gen, Activation::tanh);
    REQUIRE(gradcheck_module(deep, loss));
}

TEST_CASE("gradcheck of the context model built from a spec, repeated ids and padding", "[nn][gradcheck]") {
    Tape<double> tape;
    Generator gen(4);
    auto model = build_model<double>("context(3, 2) linear(5) tanh layernorm linear(vocab)", 4, tape, gen);
    const std::vector<std::int64_t> seq = {1, 1, 0, 3, 1, 1};
    const std::vector<std::int64_t> contexts = make_contexts(seq, 3, 4);
    const std::vector<std::int64_t> targets = {1, 0, 3, 1, 1, 2};
    REQUIRE(model->context_size() == 3);
    REQUIRE(gradcheck_module(*model, [&](auto& m) { return cross_entropy(m(TokenInput{contexts, 3}), targets); }));
}

TEST_CASE("with k = 1 and no activation the context model is the note's model", "[nn][seed]") {
    Tape<double> tape;
    Generator gen(5);
    SeedLanguageModel<double> note(tape, 5, 3, 4, gen);
    auto ctx = build_model<double>("context(1, 3) linear(4, bias=false) linear(3, bias=false) linear(vocab, bias=false)", 5, tape, gen);
    auto params = ctx->named_parameters();
    REQUIRE(params.size() == 4);
    // Same weights: E's rows (the padding row is never read with k = 1), then W3, W2, W1.
    for (std::size_t r = 0; r < 5; ++r)
        for (std::size_t c = 0; c < 3; ++c) params[0].var.mutable_value()(r, c) = note.E.value()(r, c);
    for (std::size_t i = 0; i < 3; ++i) params[i + 1].var.mutable_value() = note.W[i].value();
    const std::vector<std::int64_t> ids = {4, 0, 0, 2};
    test::require_close(ctx->forward_tokens(TokenInput{ids, 1}).value(), note.forward_tokens(TokenInput{ids}).value(), 1e-13);
}

TEST_CASE("seed_spec builds the note's model: the same values from the same generator, the same function", "[nn][seed][spec]") {
    for (auto act : {Activation::none, Activation::tanh}) {
        const std::vector<std::size_t> widths = {3, 5, 4, 3};
        CHECK(seed_spec({3, 5, 3}) == "embed(3) linear(5, bias=false) linear(3, bias=false) linear(vocab, bias=false)");
        Tape<double> tape;
        Generator g1(8), g2(8);
        SeedLanguageModel<double> note(tape, 7, widths, g1, act);
        auto spec = build_model<double>(seed_spec(widths, act), 7, tape, g2);
        const auto a = note.named_parameters(), b = spec->named_parameters();
        REQUIRE(a.size() == b.size());
        for (std::size_t i = 0; i < a.size(); ++i) test::require_close(b[i].var.value(), a[i].var.value(), 0.0);
        const std::vector<std::int64_t> ids = {0, 6, 2, 2};
        test::require_close(spec->forward_tokens(TokenInput{ids}).value(), note(TokenInput{ids}).value(), 1e-15);
    }
}
