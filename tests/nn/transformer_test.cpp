// The transformer pieces (position embedding, residual blocks, the tied output layer), a whole small GPT
// (gradcheck in double, causality), the C++ GPT against its spec, and the spec grammar's residual and
// repeat with their errors.

#include "test_util.hpp"

#include "tapegrad/autodiff/autodiff.hpp"
#include "tapegrad/nn/module_gradcheck.hpp"
#include "tapegrad/nn/spec.hpp"
#include "tapegrad/nn/transformer.hpp"
#include "spec_error.hpp"

using namespace tapegrad;
using test::random_matrix;
using test::bitwise_equal;
using test::spec_error;

namespace {

// Parameters set to random values so that checks do not rely on special initial values (γ = 1, β = 0).
void randomize(Module<double>& m, unsigned seed, double scale = 1.0) {
    for (auto& p : m.named_parameters()) {
        auto& v = p.var.mutable_value();
        v = random_matrix(v.shape()[0], v.shape()[1], seed++, -scale, scale);
    }
}

// "spec: column C, 'token': " for the first occurrence of `token` in `spec` (C 1-based), at or after `from`.
std::string at(const std::string& spec, const std::string& token, std::size_t from = 0) {
    return "spec: column " + std::to_string(spec.find(token, from) + 1) + ", '" + token + "': ";
}

}  // namespace

TEST_CASE("PositionEmbedding adds P[r mod T] to row r", "[nn][transformer]") {
    Tape<double> tape;
    Generator gen(1);
    PositionEmbedding<double> pos(tape, 3, 2, gen);
    const Tensor<double> x = random_matrix(6, 2, 1);
    const Tensor<double>& P = pos.weight.value();
    const Tensor<double> y = pos(tape.constant(x)).value();
    for (std::size_t r = 0; r < 6; ++r)
        for (std::size_t c = 0; c < 2; ++c) CHECK(y(r, c) == x(r, c) + P(r % 3, c));
    // fewer rows than the block: one shorter window, positions 0, 1
    const Tensor<double> x2 = random_matrix(2, 2, 2);
    const Tensor<double> y2 = pos(tape.constant(x2)).value();
    for (std::size_t r = 0; r < 2; ++r)
        for (std::size_t c = 0; c < 2; ++c) CHECK(y2(r, c) == x2(r, c) + P(r, c));
    REQUIRE_THROWS_WITH(pos(tape.constant(random_matrix(4, 2, 3))),
                        "PositionEmbedding(3 positions x 2): input is 4x2, expected 2 columns and a multiple of 3 rows "
                        "(whole windows) or fewer (one shorter window)");
    REQUIRE(gradcheck_module(pos, [&](Module<double>& m) { return sum(tanh(m(tape.constant(x)))); }));
}

TEST_CASE("Residual is x + body(x), and its body must keep the width", "[nn][transformer]") {
    Tape<double> tape;
    Generator gen(2);
    auto linear = std::make_shared<Linear<double>>(tape, 3, 3, gen);
    Residual<double> block(tape, {linear, std::make_shared<Tanh<double>>(tape)});
    const Tensor<double> x = random_matrix(4, 3, 4);
    Tensor<double> expected = test::matmul_ref(x, linear->weight.value());
    for (std::size_t r = 0; r < 4; ++r)
        for (std::size_t c = 0; c < 3; ++c)
            expected(r, c) = x(r, c) + std::tanh(expected(r, c) + linear->bias.value()(0, c));
    test::require_close(block(tape.constant(x)).value(), expected, 1e-14);
    CHECK(block.named_parameters()[0].name == "0.weight");
    REQUIRE(gradcheck_module(block, [&](Module<double>& m) { return sum(tanh(m(tape.constant(x)))); }));

    Residual<double> widening(tape, {std::make_shared<Linear<double>>(tape, 3, 5, gen)});
    REQUIRE_THROWS_WITH(widening(tape.constant(x)),
                        "Residual(1 modules): the body turns 4x3 into 4x5; a residual block must keep its input's shape");
}

TEST_CASE("Residual ending in a product runs it fused with the skip (addmm): x + body(x) all the same", "[nn][transformer]") {
    Tape<double> tape;
    Generator gen(5);
    const std::size_t d = 4, block = 3;
    auto ln = std::make_shared<LayerNorm<double>>(tape, d);
    auto linear = std::make_shared<Linear<double>>(tape, d, d, gen, /*bias=*/false);
    auto attention = std::make_shared<CausalSelfAttention<double>>(tape, d, 2, block, gen);
    const Tensor<double> x0 = random_matrix(2 * block, d, 6, -2.0, 2.0);
    for (const std::shared_ptr<Module<double>>& last : std::vector<std::shared_ptr<Module<double>>>{linear, attention}) {
        DYNAMIC_SECTION(last->describe()) {
            Residual<double> residual(tape, {ln, last});
            const Var<double> x = tape.constant(x0);
            const Var<double> y = residual(x);
            CHECK(std::string(tape.op_name(tape.node(y.id()))) == "addmm");  // the fused path was taken
            // the reference: the same modules called one by one, the skip added by add()
            test::require_close(y.value(), add(x, (*last)((*ln)(x))).value(), 1e-14);
            REQUIRE(gradcheck_module(residual, [&](Module<double>& m) { return sum(tanh(m(tape.constant(x0)))); }));
        }
    }
    // a Linear with a bias has no fused form: the block adds its output
    Residual<double> with_bias(tape, {ln, std::make_shared<Linear<double>>(tape, d, d, gen)});
    const Var<double> y = with_bias(tape.constant(x0));
    CHECK(std::string(tape.op_name(tape.node(y.id()))) == "add");
}

TEST_CASE("TiedOutput is h·Eᵀ and E receives the sum of both uses' gradients", "[nn][transformer]") {
    Tape<double> tape;
    Generator gen(3);
    auto emb = std::make_shared<Embedding<double>>(tape, 5, 3, gen);
    TokenSequential<double> model(tape, emb, {std::make_shared<Tanh<double>>(tape), std::make_shared<TiedOutput<double>>(tape, *emb)});
    CHECK(model.named_parameters().size() == 1);  // E once: the output layer owns nothing
    CHECK(model.parameter_count() == 15);
    const std::vector<std::int64_t> ids = {1, 4, 1, 0}, targets = {4, 1, 2, 2};
    auto logits = model(TokenInput{ids});
    cross_entropy(logits, targets).backward();
    const Tensor<double> tied_grad = emb->weight.grad();

    // The same function from independent ops (transpose materialises Eᵀ) on a copy of E.
    Tape<double> ref;
    auto E = ref.parameter(emb->weight.value());
    auto ref_logits = matmul(tanh(embedding(E, std::span<const std::int64_t>(ids))), transpose(E));
    test::require_close(logits.value(), ref_logits.value(), 1e-14);
    cross_entropy(ref_logits, targets).backward();
    test::require_close(tied_grad, E.grad(), 1e-14);

    REQUIRE(gradcheck_module(model, [&](auto& m) { return cross_entropy(m(TokenInput{ids}), targets); }));
}

TEST_CASE("a whole small GPT passes gradcheck_module in double", "[nn][transformer][gradcheck]") {
    for (bool tied : {true, false}) {
        INFO((tied ? "tied" : "untied"));
        Tape<double> tape;
        Generator gen(4);
        const GPTConfig config{.vocab = 5, .block = 3, .layers = 2, .heads = 2, .width = 4, .tied = tied};
        auto model = make_gpt<double>(config, tape, gen);
        randomize(*model, 10, 0.8);
        const std::vector<std::int64_t> ids = {0, 3, 4, 2, 2, 1}, targets = {3, 4, 1, 2, 0, 0};  // 2 windows of 3
        REQUIRE(gradcheck_module(*model, [&](auto& m) { return cross_entropy(m(TokenInput{ids}), targets); }));
        // one window shorter than the block (a prompt)
        const std::vector<std::int64_t> prompt = {4, 1}, next = {1, 3};
        REQUIRE(gradcheck_module(*model, [&](auto& m) { return cross_entropy(m(TokenInput{prompt}), next); }));
    }
}

TEST_CASE("GPT is causal: a token changes only its own and later positions of its window", "[nn][transformer]") {
    Tape<double> tape;
    Generator gen(5);
    auto model = make_gpt<double>({.vocab = 6, .block = 4, .layers = 2, .heads = 2, .width = 8}, tape, gen);
    randomize(*model, 20, 0.5);
    std::vector<std::int64_t> ids = {1, 2, 3, 4, 5, 0, 1, 2};  // 2 windows
    const Tensor<double> before = (*model)(TokenInput{ids}).value();
    ids[2] = 0;  // window 0, position 2
    const Tensor<double> after = (*model)(TokenInput{ids}).value();
    for (std::size_t r = 0; r < 8; ++r) {
        bool same = true;
        for (std::size_t c = 0; c < 6; ++c) same = same && before(r, c) == after(r, c);
        INFO("row " << r);
        CHECK(same == (r < 2 || r >= 4));
    }
}

TEST_CASE("make_gpt builds exactly the model of gpt_spec", "[nn][transformer][spec]") {
    const GPTConfig config{.vocab = 11, .block = 8, .layers = 3, .heads = 2, .width = 6};
    Tape<float> tape;
    Generator g1(9), g2(9);
    auto cxx = make_gpt<float>(config, tape, g1);
    auto spec = build_model<float>(gpt_spec(config), config.vocab, tape, g2);
    const auto a = cxx->named_parameters(), b = spec->named_parameters();
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        INFO(a[i].name);
        CHECK(a[i].name == b[i].name);
        CHECK(bitwise_equal(a[i].var.value(), b[i].var.value()));
    }
    // V·d + T·d, per block 2 LayerNorms (4d), W_qkv (3d²), W_proj (d²), the MLP (2·4d²), then ln_f (2d); tied.
    const std::size_t d = 6, per_block = 4 * d + 3 * d * d + d * d + 8 * d * d;
    CHECK(cxx->parameter_count() == 11 * d + 8 * d + 3 * per_block + 2 * d);
    CHECK(spec_parameter_count(gpt_spec(config), 11) == cxx->parameter_count());
    CHECK(a[0].name == "0.weight");
    CHECK(a[2].name == "2.0.0.0.weight");       // block 0, attention's residual, its LayerNorm γ
    CHECK(a[4].name == "2.0.0.1.qkv_weight");
    CHECK(cxx->window_size() == 8);
    CHECK(build_model<float>("embed(4) linear(vocab)", 11, tape, g2)->window_size() == 0);
    // nanoGPT's initialisation: matrices N(0, 0.02²), the residual projections N(0, (0.02/√6)²), γ = 1
    double sq = 0;
    for (float v : a[4].var.value()) sq += double(v) * v;
    CHECK(std::sqrt(sq / double(a[4].var.size())) == Approx(0.02).epsilon(0.1));
    sq = 0;
    for (float v : a[5].var.value()) sq += double(v) * v;
    CHECK(std::sqrt(sq / double(a[5].var.size())) == Approx(0.02 / std::sqrt(6.0)).epsilon(0.25));
    for (float v : a[2].var.value()) CHECK(v == 1.0f);
}

TEST_CASE("spec: residual and repeat compose layers", "[nn][spec]") {
    Tape<double> tape;
    Generator gen(6);
    const std::string s = "embed(4) repeat(3, residual(layernorm linear(4) relu)) linear(vocab)";
    auto model = build_model<double>(s, 5, tape, gen);
    CHECK(model->size() == 3);
    CHECK(model->parameter_count() == 5 * 4 + 3 * (8 + 20) + 25);
    const auto params = model->named_parameters();
    CHECK(params[1].name == "1.0.0.0.weight");  // repeat, copy 0, the residual, its LayerNorm
    CHECK(params[3].name == "1.0.0.1.weight");
    CHECK(params[7].name == "1.1.0.1.weight");  // copy 1
    CHECK(params.back().name == "2.bias");
    // Its function: three times x ← x + relu(W·ln(x) + b), written with ops.
    randomize(*model, 30);
    const std::vector<std::int64_t> ids = {1, 0, 4};
    Var<double> x = embedding(model->named_parameters()[0].var, std::span<const std::int64_t>(ids));
    for (std::size_t k = 0; k < 3; ++k) {
        const Var<double> g = params[1 + 4 * k].var, b = params[2 + 4 * k].var, W = params[3 + 4 * k].var,
                          c = params[4 + 4 * k].var;
        Var<double> centred = x - mean(x, 1);
        Var<double> ln = centred / sqrt(mean(square(centred), 1) + 1e-5) * g + b;
        x = x + relu(matmul(ln, W) + c);
    }
    const Var<double> ref = matmul(x, params[13].var) + params[14].var;
    test::require_close((*model)(TokenInput{ids}).value(), ref.value(), 1e-13);
    CHECK(spec_error("embed(4) repeat(1, residual(relu) repeat(2, gelu)) layernorm linear(vocab)") == "no error");
}

TEST_CASE("spec: errors of residual, repeat, position, attention and tied name the column and token", "[nn][spec]") {
    // Each row: a spec, the token its error points at (found from column `from`), and the message after it.
    struct Row {
        std::string spec, token;
        std::size_t from;
        std::string message;
    };
    const std::vector<Row> rows = {
        {"embed(4) residual(linear(8)) linear(vocab)", "residual", 0,
         "the layers inside end with width 8, but a residual block must end at the width it starts with (4)"},
        {"embed(4) repeat(2 relu) linear(vocab)", "relu", 0, "expected ',' after repeat's count; repeat(n, layers…)"},
        {"embed(4) repeat(x, relu) linear(vocab)", "x", 0, "expected the number of repetitions; repeat(n, layers…)"},
        {"embed(4) repeat(0, relu) linear(vocab)", "0", 0, "expected a positive integer or 'vocab' for repeat's count"},
        {"embed(4) residual() linear(vocab)", ")", 9, "residual needs at least one layer inside"},
        {"embed(4) residual linear(vocab)", "linear", 0, "expected '(' after residual; residual(layers…)"},
        {"embed(4) relu) linear(vocab)", ")", 9, "unmatched ')'; expected a layer name"},
        {"embed(4) attention(2) linear(vocab)", "attention", 0,
         "attention needs the window length: put position(T) after embed(d)"},
        {"embed(6) position(8) attention(4) linear(vocab)", "4", 30, "the width 6 is not a multiple of 4 heads"},
        {"embed(4) position(8) position(9) linear(vocab)", "9", 0, "a second window length; the model already reads windows of 8"},
        {"context(2, 4) tied", "tied", 0, "tied reuses the table of embed(d), and this model has none"},
        {"embed(4) linear(3) tied", "tied", 0, "tied reads width 4 (the embedding's), but the width here is 3"},
        {"embed(4) repeat(100000, relu) linear(vocab)", "relu", 0, "the spec builds more than 65536 layers"},
        {"embed(4, std=-1) linear(vocab)", "-1", 0, "std must be >= 0"},
        {"embed(4, std=0.5x) linear(vocab)", "0.5x", 0, "expected a number for std"},
        {"embed(4, std=inf) linear(vocab)", "inf", 0, "expected a number for std"},
        {"embed(4) residual(embed(4)) linear(vocab)", "embed", 1, "embed must be the first layer"},
    };
    for (const Row& r : rows) {
        INFO(r.spec);
        CHECK(spec_error(r.spec) == at(r.spec, r.token, r.from) + r.message);
    }
    CHECK(spec_error("embed(4) residual(relu") ==
          "spec: column 23, 'end of spec': expected ')' to close residual (opened at column 10)");
    CHECK(spec_error("embed(4) position(2) attention(2) tied") == "no error");
    CHECK(spec_error("embed(4, std=+2.5e-2) linear(vocab, std=0)") == "no error");  // a sign, an exponent
}
