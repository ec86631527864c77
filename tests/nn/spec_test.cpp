#include "test_util.hpp"

#include "tapegrad/nn/layers.hpp"
#include "tapegrad/nn/spec.hpp"
#include "spec_error.hpp"

using namespace tapegrad;

namespace {
std::vector<Shape> shapes_of(const Module<float>& m) {
    std::vector<Shape> out;
    for (const auto& p : m.named_parameters()) out.push_back(p.var.shape());
    return out;
}
}  // namespace

using test::spec_error;

TEST_CASE("valid specs build the right layers and shapes", "[nn][spec]") {
    Tape<float> tape;
    Generator gen(1);
    auto m = build_model<float>("embed(64) linear(256) gelu linear(64) linear(vocab)", 100, tape, gen);
    CHECK(m->size() == 5);
    CHECK(m->spec() == "embed(64) linear(256) gelu linear(64) linear(vocab)");
    CHECK(shapes_of(*m) == std::vector<Shape>{{100, 64}, {64, 256}, {1, 256}, {256, 64}, {1, 64}, {64, 100}, {1, 100}});
    CHECK((*m)[2].describe() == "GELU");
    auto note = build_model<float>("embed(3) linear(5,bias=false) linear(3, bias = false) linear(vocab, bias=false)", 7, tape, gen);
    CHECK(shapes_of(*note) == std::vector<Shape>{{7, 3}, {3, 5}, {5, 3}, {3, 7}});
    auto ctx = build_model<float>("context(4, 8) linear(32, 64) tanh dropout(0.1) layernorm(eps=1e-6) relu sigmoid linear(vocab)", 10, tape, gen);
    CHECK(ctx->context_size() == 4);
    CHECK((*ctx)[0].describe() == "ContextEmbedding(10 + padding, 4 tokens x 8)");
    CHECK((*ctx)[4].describe() == "LayerNorm(64, eps 1e-06)");
    CHECK(parse_spec("relu")[0].name == "relu");
}

TEST_CASE("each kind of bad spec names its position, token and expectation", "[nn][spec][errors]") {
    CHECK(spec_error("embed(8) lineer(vocab)") ==
          "spec: column 10, 'lineer': unknown layer; expected one of embed, context, position, linear, attention, relu, "
          "gelu, tanh, sigmoid, layernorm, dropout, tied, residual, repeat");
    CHECK(spec_error("embed(8) linear(2x5) linear(vocab)") ==
          "spec: column 17, '2x5': expected a positive integer or 'vocab' for linear's output width");
    CHECK(spec_error("embed(0) linear(vocab)") == "spec: column 7, '0': expected a positive integer or 'vocab' for embed's width d");
    CHECK(spec_error("embed(8) linear(vocab)", 0) ==
          "spec: column 1, 'embed': missing vocabulary: a language model needs the vocabulary size");
    CHECK(spec_error("embed(8) linear(9, 4) linear(vocab)") ==
          "spec: column 17, '9': linear's input width 9 does not chain with the previous width 8");
    CHECK(spec_error("embed(8) linear(16)") ==
          "spec: column 10, 'linear': the model ends with width 16, but a language model must end with the vocabulary "
          "size 10 (add linear(vocab))");
    CHECK(spec_error("embed(8) linear(vocab))") == "spec: column 23, ')': unmatched ')'; expected a layer name");
    CHECK(spec_error("embed(8) linear(vocab) $") ==
          "spec: column 24, '$': unexpected character; expected a layer name, '(', ')', ',' or '='");
    CHECK(spec_error("embed(8 linear(vocab)") == "spec: column 9, 'linear': expected ',' or ')' in the arguments of embed");
    CHECK(spec_error("linear(vocab)") == "spec: column 1, 'linear': a language model starts with embed(d) or context(k, d)");
    CHECK(spec_error("embed(8) embed(8) linear(vocab)") == "spec: column 10, 'embed': embed must be the first layer");
    CHECK(spec_error("embed(8) linear(vocab, bias=maybe)") == "spec: column 29, 'maybe': expected true or false for bias");
    CHECK(spec_error("embed(8) linear(vocab, bais=false)") == "spec: column 24, 'bais': unknown argument of linear");
    CHECK(spec_error("embed(8) dropout(1.5) linear(vocab)") == "spec: column 18, '1.5': dropout's probability must be in [0, 1)");
    CHECK(spec_error("embed(8) linear(") == "spec: column 17, 'end of spec': expected an argument of linear or ')'");
    CHECK(spec_error("") == "spec: column 1, 'end of spec': empty spec; expected a layer name");
    SpecError e(3, "x", "y");
    CHECK(e.column == 3);
    CHECK(e.token == "x");
}

// Found while writing fuzz/fuzz_spec: an absurd width reached the allocator (std::bad_alloc, or an
// out-of-memory kill), and context(k, d) could wrap k·d around. Both are SpecErrors now, raised before the
// layer is allocated: a model built from a spec has at most 2^28 parameters in all.
TEST_CASE("absurd widths are rejected before anything is allocated", "[nn][spec][errors][fuzz]") {
    Tape<float> tape;  // one tape for all: none of the specs may leave a parameter on it
    auto on_tape = [&](const std::string& spec, std::size_t vocab = 10) { return spec_error(tape, spec, vocab); };
    CHECK(on_tape("embed(99999999999) linear(vocab)") ==
          "spec: column 1, 'embed': embed is too large: 10 x 99999999999 parameters, more than the 268435456 left of "
          "the limit of 268435456");
    // embed(8) used 80 of the budget
    CHECK(on_tape("embed(8) linear(4000000000) linear(vocab)") ==
          "spec: column 10, 'linear': linear is too large: 9 x 4000000000 parameters, more than the 268435376 left of "
          "the limit of 268435456");
    // k·d = 2^64 would wrap around to 0 in size_t
    CHECK(on_tape("context(4294967296, 4294967296) linear(vocab)") ==
          "spec: column 1, 'context': context is too large: 4294967296 x 4294967296 columns, more than the 268435456 "
          "left of the limit of 268435456");
    // each layer fits on its own, the model does not
    CHECK_THAT(on_tape("embed(8) linear(16000) linear(16000, 16000) linear(16000) linear(vocab)"),
               Catch::Matchers::StartsWith("spec: column 45, 'linear': linear is too large: 16001 x 16000 parameters"));
    CHECK(on_tape("embed(8) linear(vocab)", std::size_t(-1)) ==
          "spec: column 1, 'embed': a vocabulary of 18446744073709551615 symbols is too large; the limit is 268435456");
    CHECK(on_tape("context(2, 3) linear(200000000) linear(vocab)") != "no error");
    CHECK(tape.num_parameters() == 0);  // every spec above was rejected before its first layer was built
}

TEST_CASE("spec_parameter_count is the built model's parameter count, without building it", "[nn][spec]") {
    for (const char* spec : {"embed(4) linear(vocab)", "embed(3) linear(5, bias=false) linear(3, bias=false) linear(vocab, bias=false)",
                             "context(4, 8) linear(32, 64) tanh dropout(0.1) layernorm(eps=1e-6) relu sigmoid linear(vocab)",
                             "context(2, 3) linear(8) gelu layernorm linear(vocab)"}) {
        INFO(spec);
        Tape<float> tape;
        Generator gen(1);
        CHECK(spec_parameter_count(spec, 10) == build_model<float>(spec, 10, tape, gen)->parameter_count());
    }
    CHECK_THROWS_AS(spec_parameter_count("embed(4) linear(7)", 10), SpecError);
}

// Found by fuzz_spec in CI: layernorm(eps=1e-63) was accepted, but 1e-63 is 0 as a float; a row that two
// dropouts had zeroed then normalised to 0/0 = NaN, and the next layernorm's sqrt raised a DomainError out
// of forward. eps must now be a positive normal float in a spec (the spec builds float and double models
// alike), and LayerNorm<T> itself rejects an eps that is not a positive normal T.
TEST_CASE("layernorm's eps must be a positive normal float", "[nn][spec][errors][fuzz]") {
    Tape<float> tape;
    const std::string expected = "eps must be a positive normal float (1.17549e-38 to 3.40282e+38)";
    CHECK(spec_error("embed(8) layernorm(eps=1e-63) linear(vocab)") == "spec: column 24, '1e-63': " + expected);
    CHECK(spec_error("embed(8) layernorm(eps=1e39) linear(vocab)") == "spec: column 24, '1e39': " + expected);
    CHECK(spec_error("embed(8) layernorm(eps=0) linear(vocab)") == "spec: column 24, '0': " + expected);
    CHECK(spec_error("embed(8) layernorm(eps=1e-30) linear(vocab)") == "no error");

    CHECK_THROWS_WITH(LayerNorm<float>(tape, 4, 1e-63),
                      Catch::Contains("eps 1e-63 is not a positive normal float") && Catch::Contains("1.17549e-38"));
    CHECK_THROWS_AS(LayerNorm<float>(tape, 4, 1e39), DomainError);
    Tape<double> td;
    CHECK_NOTHROW(LayerNorm<double>(td, 4, 1e-63));  // a normal double

    // The fuzzer's input: builds (it is a valid spec with a valid eps now) or is rejected with a SpecError.
    Generator g2(1);
    Tape<float> t2;
    CHECK_THROWS_AS(build_model<float>("context(2, 3) linear(6, 44)gelu dropout(0.21e-6)gelu dropout(0.97) "
                                       "layernorm(eps=1e-63) gelu dropout(0.25) layernorm(eps=1e-63) linear(6) relu "
                                       "relu sigmoid linear(vocab)",
                                       10, t2, g2),
                    SpecError);
}

// A tied output layer reads the embedding table: logits = x·Eᵀ with x of unit variance (the final layernorm)
// have a standard deviation of about std(E)·√d. With torch.nn.Embedding's N(0, 1) at d = 384 that is ≈ 20 and
// the first loss is many times ln(vocab); with the tied default N(0, 0.02²) it is ≈ 0.39, and the expected
// first loss is ln(vocab) + 0.39²/2 ≈ ln(vocab) + 0.08 (the log-sum-exp of nearly equal logits).
TEST_CASE("a tied spec without std= draws its embedding from N(0, 0.02²) and starts near ln(vocab)", "[nn][spec]") {
    const std::size_t vocab = 65, T = 16, B = 4;
    const std::string spec = "embed(384) position(16) residual(layernorm attention(6)) "
                             "residual(layernorm linear(1536, bias=false) gelu linear(384, bias=false)) layernorm tied";
    Tape<double> tape;
    Generator gen(3);
    auto m = build_model<double>(spec, vocab, tape, gen);
    const Tensor<double>& table = m->named_parameters()[0].var.value();
    REQUIRE(table.shape()[0] == vocab);
    double sq = 0;
    for (double v : table) sq += v * v;
    const double table_std = std::sqrt(sq / double(table.size()));
    CHECK(table_std == Approx(0.02).epsilon(0.05));  // 24,960 draws: the sample std within 5%
    std::vector<std::int64_t> ids(B * T), targets(B * T);
    for (std::size_t k = 0; k < ids.size(); ++k) {
        ids[k] = std::int64_t((k * 7) % vocab);
        targets[k] = std::int64_t((k * 11 + 3) % vocab);
    }
    const double loss = cross_entropy((*m)(TokenInput{ids}), targets).item();
    CHECK(std::abs(loss - std::log(double(vocab))) < 0.5);

    // std= still decides, and an untied embedding keeps torch.nn.Embedding's N(0, 1).
    for (const auto& [text, want] : {std::pair<std::string, double>{"embed(384, std=0.5) layernorm tied", 0.5},
                                     std::pair<std::string, double>{"embed(384) linear(vocab)", 1.0}}) {
        Tape<double> t2;
        auto other = build_model<double>(text, vocab, t2, gen);
        const Tensor<double>& e = other->named_parameters()[0].var.value();
        double s2 = 0;
        for (double v : e) s2 += v * v;
        INFO(text);
        CHECK(std::sqrt(s2 / double(e.size())) == Approx(want).epsilon(0.05));
    }
}
