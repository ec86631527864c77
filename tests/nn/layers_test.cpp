#include <cmath>

#include "test_util.hpp"

#include "tapegrad/nn/layers.hpp"
#include "tapegrad/nn/module_gradcheck.hpp"
#include "tapegrad/nn/sequential.hpp"
#include "tapegrad/nn/spec.hpp"

using namespace tapegrad;
using test::random_matrix;

namespace {

// Parameters set to random values so that checks do not rely on special initial values (γ = 1, β = 0).
void randomize(Module<double>& m, unsigned seed) {
    for (auto& p : m.named_parameters()) {
        auto& v = p.var.mutable_value();
        v = random_matrix(v.shape()[0], v.shape()[1], seed++, -1.0, 1.0);
    }
}

}  // namespace

TEST_CASE("Linear is x·W + b, initialised as torch.nn.Linear", "[nn][layers]") {
    Tape<double> tape;
    Generator gen(3);
    Linear<double> lin(tape, 16, 5, gen);
    for (double w : lin.weight.value()) CHECK(std::abs(w) <= 0.25);  // 1/√16
    for (double b : lin.bias.value()) CHECK(std::abs(b) <= 0.25);
    const Tensor<double> x = random_matrix(3, 16, 1);
    Tensor<double> expected = test::matmul_ref(x, lin.weight.value());
    for (std::size_t r = 0; r < 3; ++r)
        for (std::size_t c = 0; c < 5; ++c) expected(r, c) += lin.bias.value()(0, c);
    test::require_close(lin(tape.constant(x)).value(), expected, 1e-12);
}

TEST_CASE("gradcheck of every layer (double)", "[nn][layers][gradcheck]") {
    Tape<double> tape;
    Generator gen(5);
    const Tensor<double> x = random_matrix(4, 3, 7, -2.0, 2.0);
    auto through = [&](Module<double>& m) {
        return gradcheck_module(m, [&](Module<double>& mm) { return sum(tanh(mm(tape.constant(x)))); });
    };
    SECTION("Linear with and without bias") {
        Linear<double> a(tape, 3, 2, gen), b(tape, 3, 2, gen, false);
        REQUIRE(through(a));
        REQUIRE(through(b));
    }
    SECTION("LayerNorm") {
        // After a Linear, so that the gradient with respect to LayerNorm's input is checked too.
        Sequential<double> seq(tape, {std::make_shared<Linear<double>>(tape, 3, 4, gen), std::make_shared<LayerNorm<double>>(tape, 4)});
        randomize(seq, 11);
        REQUIRE(through(seq));
    }
    SECTION("activations inside a Sequential") {
        Sequential<double> seq(tape, {std::make_shared<Linear<double>>(tape, 3, 4, gen), std::make_shared<GELU<double>>(tape),
                                      std::make_shared<Linear<double>>(tape, 4, 4, gen), std::make_shared<ReLU<double>>(tape),
                                      std::make_shared<Linear<double>>(tape, 4, 2, gen), std::make_shared<Tanh<double>>(tape),
                                      std::make_shared<Linear<double>>(tape, 2, 2, gen), std::make_shared<Sigmoid<double>>(tape)});
        REQUIRE(through(seq));
    }
    SECTION("Dropout with a fixed mask") {
        auto drop = std::make_shared<Dropout<double>>(tape, 0.5, 9);
        Sequential<double> seq(tape, {std::make_shared<Linear<double>>(tape, 3, 6, gen), drop});
        REQUIRE(gradcheck_module(seq, [&](Module<double>& m) {
            drop->reseed(9);  // the same mask at every evaluation
            return sum(tanh(m(tape.constant(x))));
        }));
    }
    SECTION("CausalSelfAttention: 2 sequences of 2 positions, 1 and 3 heads") {
        const Tensor<double> seqs = random_matrix(4, 6, 8, -1.0, 1.0);
        for (std::size_t heads : {1u, 3u}) {
            CausalSelfAttention<double> attn(tape, 6, heads, 2, gen);
            REQUIRE(gradcheck_module(attn, [&](Module<double>& m) { return sum(tanh(m(tape.constant(seqs)))); }));
        }
        CausalSelfAttention<double> attn(tape, 6, 2, 2, gen);
        REQUIRE_THROWS_WITH(attn(tape.constant(random_matrix(3, 6, 1))),
                            Catch::Matchers::Contains("expected 6 columns and a multiple of 2 rows (whole sequences)"));
        REQUIRE_THROWS_AS(CausalSelfAttention<double>(tape, 6, 4, 2, gen), ShapeError);
    }
    SECTION("Embedding and ContextEmbedding with repeated ids") {
        Embedding<double> emb(tape, 4, 3, gen);
        const std::vector<std::int64_t> ids = {1, 1, 3, 1, 0};
        REQUIRE(gradcheck_module(emb, [&](auto& m) { return sum(tanh(m.forward_tokens(TokenInput{ids}))); }));
        ContextEmbedding<double> ctx(tape, 4, 2, 3, gen);
        const std::vector<std::int64_t> contexts = make_contexts(ids, 2, *ctx.padding_id());
        REQUIRE(gradcheck_module(ctx, [&](auto& m) { return sum(tanh(m.forward_tokens(TokenInput{contexts, 2}))); }));
    }
}

TEST_CASE("LayerNorm normalises each row", "[nn][layers]") {
    Tape<double> tape;
    LayerNorm<double> ln(tape, 5);
    auto y = ln(tape.constant(random_matrix(3, 5, 2, -4.0, 9.0)));
    for (std::size_t r = 0; r < 3; ++r) {
        double m = 0, v = 0;
        for (std::size_t c = 0; c < 5; ++c) m += y.value()(r, c) / 5;
        for (std::size_t c = 0; c < 5; ++c) v += (y.value()(r, c) - m) * (y.value()(r, c) - m) / 5;
        CHECK(m == Approx(0.0).margin(1e-12));
        CHECK(v == Approx(1.0).epsilon(1e-4));  // σ²/(σ² + eps)
    }
}

TEST_CASE("Dropout: train mode zeroes about p and rescales, eval mode is the identity", "[nn][layers]") {
    Tape<double> tape;
    Dropout<double> drop(tape, 0.25, 1);
    const Tensor<double> ones({100, 100}, 1.0);
    auto y = drop(tape.constant(ones));
    std::size_t zeros = 0;
    for (double v : y.value()) {
        if (v == 0.0) ++zeros;
        else CHECK(v == Approx(1.0 / 0.75));
    }
    CHECK(zeros > 2300);  // 2500 expected; binomial sd ≈ 43
    CHECK(zeros < 2700);
    drop.eval();
    test::require_close(drop(tape.constant(ones)).value(), ones, 0.0);
    Dropout<double> again(tape, 0.25, 1);
    test::require_close(again(tape.constant(ones)).value(), y.value(), 0.0);  // same seed, same mask
    REQUIRE_THROWS_AS(Dropout<double>(tape, 1.0, 1), DomainError);
}

TEST_CASE("make_contexts pads before the start of the sequence", "[nn][layers]") {
    const std::vector<std::int64_t> seq = {5, 6, 7};
    CHECK(make_contexts(seq, 3, 9) == std::vector<std::int64_t>{9, 9, 5, 9, 5, 6, 5, 6, 7});
    CHECK(make_contexts(seq, 1, 9) == seq);
}

TEST_CASE("ContextEmbedding concatenates the embeddings of the previous k tokens", "[nn][layers]") {
    Tape<double> tape;
    Generator gen(2);
    ContextEmbedding<double> ctx(tape, 3, 2, 4, gen);
    CHECK(ctx.weight.rows() == 4);  // vocab + the padding row
    const std::vector<std::int64_t> contexts = make_contexts(std::vector<std::int64_t>{2, 0}, 2, *ctx.padding_id());
    auto y = ctx.forward_tokens(TokenInput{contexts, 2});
    REQUIRE(y.shape() == Shape{2, 8});
    const auto& E = ctx.weight.value();
    for (std::size_t j = 0; j < 4; ++j) {
        CHECK(y.value()(0, j) == E(3, j));      // padding
        CHECK(y.value()(0, 4 + j) == E(2, j));  // token 2
        CHECK(y.value()(1, j) == E(2, j));
        CHECK(y.value()(1, 4 + j) == E(0, j));
    }
    REQUIRE_THROWS_WITH(ctx.forward_tokens(TokenInput{contexts, 1}), Catch::Matchers::Contains("input has 1 ids per position, expected 2"));
}

TEST_CASE("Sequential runs context(k, d) then linear as one context_linear op: same values and gradients", "[nn][layers]") {
    // The fused model against its own layers called one by one (ContextEmbedding, then Linear), for a batch
    // below and one above the tables threshold (4·V positions), and gradcheck of the whole model.
    for (std::size_t n : {6u, 60u}) {
        DYNAMIC_SECTION(n << " positions") {
            Tape<double> tape;
            Generator gen(3);
            auto model = build_model<double>("context(3, 4) linear(8) tanh linear(vocab)", 5, tape, gen);
            std::vector<std::int64_t> ids(n * 3);
            for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = std::int64_t((i * 11 + i / 4) % 6);  // 5 = padding
            std::vector<std::int64_t> targets(n);
            for (std::size_t r = 0; r < n; ++r) targets[r] = std::int64_t(r % 5);
            auto fused = cross_entropy((*model)(TokenInput{ids, 3}), targets);
            fused.backward();
            std::vector<Tensor<double>> fused_grads;
            for (const auto& p : model->named_parameters()) fused_grads.push_back(p.var.grad());
            const double fused_loss = fused.item();
            tape.clear();
            tape.zero_grad();
            // the unfused path, written out: the context embedding's gather (n·3 rows of the table, reshaped to n×12)
            Var<double> h = reshape(embedding(model->named_parameters()[0].var, ids), Shape{n, 12});
            for (std::size_t i = 1; i < model->size(); ++i) h = (*model)[i].forward(h);
            auto plain = cross_entropy(h, targets);
            plain.backward();
            CHECK(fused_loss == Approx(plain.item()).epsilon(1e-13));
            const auto params = model->named_parameters();
            for (std::size_t i = 0; i < params.size(); ++i) {
                INFO(params[i].name);
                test::require_close(fused_grads[i], params[i].var.grad(), 1e-12);
            }
            tape.clear();
            REQUIRE(gradcheck_module(*model, [&](auto& m) { return cross_entropy(m(TokenInput{ids, 3}), targets); }));
        }
    }
}

TEST_CASE("gradcheck_module: a parameter the loss does not use has gradient 0", "[nn][gradcheck]") {
    Tape<double> tape;
    Generator gen(9);
    Linear<double> lin(tape, 3, 2, gen);
    const Tensor<double> x = random_matrix(4, 3, 3);
    // the bias is left out of the loss: no gradient reaches it, its numeric gradient is 0 as well
    REQUIRE(gradcheck_module(lin, [&](Module<double>&) { return sum(tanh(matmul(tape.constant(x), lin.weight))); }));
}
