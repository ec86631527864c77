#include "test_util.hpp"

#include "tapegrad/nn/layers.hpp"
#include "tapegrad/nn/sequential.hpp"
#include "tapegrad/nn/token_model.hpp"
#include "tapegrad/nn/transformer.hpp"

using namespace tapegrad;

namespace {

// A user-defined block: a Sequential registered under the name "ffn" plus a parameter of its own.
struct Block : Module<double> {
    Block(Tape<double>& tape, Generator& gen) : Module<double>(tape) {
        scale = register_parameter("scale", Tensor<double>({1, 3}, 1.0));
        ffn = register_module("ffn", std::make_shared<Sequential<double>>(
                                         tape, std::initializer_list<std::shared_ptr<Module<double>>>{
                                                   std::make_shared<Linear<double>>(tape, 3, 4, gen),
                                                   std::make_shared<ReLU<double>>(tape),
                                                   std::make_shared<Linear<double>>(tape, 4, 3, gen, false)}));
    }
    Var<double> forward(const Var<double>& x) override { return ffn->forward(x) * scale; }
    std::string describe() const override { return "Block"; }
    Var<double> scale;
    std::shared_ptr<Sequential<double>> ffn;
};

}  // namespace

TEST_CASE("named_parameters: stable dotted names in registration order", "[nn][module]") {
    Tape<double> tape;
    Generator gen(1);
    Block block(tape, gen);
    std::vector<std::string> names;
    for (const auto& p : block.named_parameters()) names.push_back(p.name);
    CHECK(names == std::vector<std::string>{"scale", "ffn.0.weight", "ffn.0.bias", "ffn.2.weight"});
    CHECK(block.parameters().size() == 4);
    CHECK(block.parameter_count() == 3 + 3 * 4 + 4 + 4 * 3);
    CHECK_THAT(block.summary(), Catch::Matchers::Contains("ffn: Sequential(3 modules)"));
    CHECK_THAT(block.summary(), Catch::Matchers::Contains("weight 3x4"));
}

TEST_CASE("zero_grad, train and eval reach every submodule", "[nn][module]") {
    Tape<double> tape;
    Generator gen(1);
    Block block(tape, gen);
    auto x = tape.constant(test::random_matrix(2, 3, 1));
    sum(block(x)).backward();
    for (const auto& p : block.named_parameters()) CHECK(p.var.has_grad());
    block.zero_grad();
    for (const auto& p : block.named_parameters()) CHECK_FALSE(p.var.has_grad());
    block.eval();
    CHECK_FALSE(block.ffn->is_training());
    CHECK_FALSE((*block.ffn)[1].is_training());
    block.train();
    CHECK((*block.ffn)[2].is_training());
}

TEST_CASE("initialisation is deterministic for a seed", "[nn][module]") {
    Tape<double> tape;
    Generator g1(42), g2(42), g3(43);
    Linear<double> a(tape, 5, 4, g1), b(tape, 5, 4, g2), c(tape, 5, 4, g3);
    test::require_close(a.weight.value(), b.weight.value(), 0.0);
    CHECK(a.weight.value()(0, 0) != c.weight.value()(0, 0));
    // Generator's first uniform for seed 42 is mt19937_64's first output (fixed by the standard) scaled.
    std::mt19937_64 reference(42);
    Generator g(42);
    CHECK(g.uniform() == double(reference() >> 11) * 0x1.0p-53);
}

TEST_CASE("module misuse is reported", "[nn][module][errors]") {
    Tape<double> tape;
    Generator gen(1);
    Linear<double> lin(tape, 3, 2, gen);
    std::vector<std::int64_t> ids = {0};
    // A module that reads ids has no tensor forward; a language model's first module must read ids, and only it.
    auto emb = std::make_shared<Embedding<double>>(tape, 4, 3, gen);
    REQUIRE_THROWS_WITH((*emb)(tape.constant(test::random_matrix(2, 3, 1))),
                        Catch::Matchers::StartsWith("Embedding(4 x 3): has no forward of a tensor"));
    TokenSequential<double> lm(tape);
    REQUIRE_THROWS_WITH(lm(TokenInput{ids}), "TokenSequential(0 modules): empty, nothing reads the token ids");
    REQUIRE_THROWS_WITH(lm.push_back(std::make_shared<Linear<double>>(tape, 3, 2, gen)),
                        Catch::Matchers::StartsWith("TokenSequential(0 modules): module 0 must read token ids"));
    lm.push_back(emb);
    REQUIRE_THROWS_WITH(lm.push_back(std::make_shared<Embedding<double>>(tape, 4, 3, gen)),
                        Catch::Matchers::Contains("can only be the first module (module 0)"));
    lm.push_back(std::make_shared<Linear<double>>(tape, 3, 4, gen));
    CHECK(lm(TokenInput{ids}).shape() == Shape{1, 4});
    CHECK(lm.context_size() == 1);
    CHECK(lm.window_size() == 0);
    CHECK_FALSE(lm.padding_id().has_value());
    auto x = tape.constant(test::random_matrix(2, 4, 1));
    REQUIRE_THROWS_WITH(lin(x), "Linear(3 -> 2, bias): input is 2x4, expected 3 columns");
    Tape<double> other;
    Sequential<double> seq(tape);
    REQUIRE_THROWS_WITH(seq.push_back(std::make_shared<ReLU<double>>(other)),
                        Catch::Matchers::Contains("submodule '0' lives on another tape"));
}

namespace {
// A Linear whose forward differs from Linear's: it must never be fused into context_linear.
template <class T>
struct DoubledLinear : Linear<T> {
    using Linear<T>::Linear;
    Var<T> forward(const Var<T>& x) override { return Linear<T>::forward(x) * 2.0; }
};
}  // namespace

TEST_CASE("TokenSequential: fusion only for ContextEmbedding then Linear themselves; window found in the tree", "[nn][module]") {
    Tape<double> tape;
    Generator gen(2);
    const std::vector<std::int64_t> ids = {0, 1, 2, 3, 1, 0};
    // a refused reader leaves nothing behind: the Linear after the embedding is not fused with it
    TokenSequential<double> plain(tape);
    plain.push_back(std::make_shared<Embedding<double>>(tape, 4, 3, gen));
    REQUIRE_THROWS_AS(plain.push_back(std::make_shared<ContextEmbedding<double>>(tape, 4, 1, 3, gen)), UsageError);
    CHECK(plain.size() == 1);
    plain.push_back(std::make_shared<Linear<double>>(tape, 3, 2, gen));
    CHECK(plain.size() == 2);
    (void)plain(TokenInput{ids});
    CHECK_THAT(tape.to_string(), !Catch::Matchers::Contains("context_linear"));
    tape.clear();
    // a subclass of Linear keeps its own forward (not fused): twice Linear's output
    Generator g1(5), g2(5);
    TokenSequential<double> sub(tape), base(tape);
    sub.push_back(std::make_shared<ContextEmbedding<double>>(tape, 4, 2, 3, g1));
    sub.push_back(std::make_shared<DoubledLinear<double>>(tape, 6, 2, g1));
    base.push_back(std::make_shared<ContextEmbedding<double>>(tape, 4, 2, 3, g2));
    base.push_back(std::make_shared<Linear<double>>(tape, 6, 2, g2));
    const Tensor<double> doubled = sub(TokenInput{ids, 2}).value(), once = base(TokenInput{ids, 2}).value();
    test::require_close(doubled, Tensor<double>(once * 2.0), 1e-15);
    // the window: from a position embedding given in the constructor's list, or attention nested in a block
    auto emb = std::make_shared<Embedding<double>>(tape, 4, 4, gen);
    TokenSequential<double> listed(tape, emb, {std::make_shared<PositionEmbedding<double>>(tape, 3, 4, gen)});
    CHECK(listed.window_size() == 3);
    auto emb2 = std::make_shared<Embedding<double>>(tape, 4, 4, gen);
    TokenSequential<double> nested(tape, emb2, {std::make_shared<Residual<double>>(tape, std::initializer_list<std::shared_ptr<Module<double>>>{
                                                    std::make_shared<CausalSelfAttention<double>>(tape, 4, 2, 5, gen)})});
    CHECK(nested.window_size() == 5);
    nested.set_window_size(7);
    CHECK(nested.window_size() == 7);
}
