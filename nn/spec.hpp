/// \file
/// Models as text (docs/spec.md). A spec is a list of items separated by spaces:
///
/// ~~~{.unparsed}
///   spec   := item { item }
///   item   := "residual" "(" spec ")"  |  "repeat" "(" integer "," spec ")"  |  layer
///   layer  := name [ "(" [ arg { "," arg } ] ")" ]
///   arg    := value | key "=" value          value := integer | decimal | "vocab" | "true" | "false"
///
///   embed(d [, std=s])           Embedding(vocab × d); must come first (or context)
///   context(k, d)                ContextEmbedding: the previous k tokens' embeddings concatenated (k·d wide)
///   position(T [, std=s])        learned position embedding: the model reads windows of T tokens
///   linear(out [, bias=false] [, std=s])   out may be `vocab`; linear(in, out) states the input width
///   attention(heads [, std=s, proj_std=s])  causal multi-head self-attention; needs position(T) before it
///   relu  gelu  tanh  sigmoid
///   layernorm [ (eps=1e-5) ]
///   dropout(p)
///   tied                         the output layer h·Eᵀ, E the table of embed(d) (width d → vocab)
///   residual(spec)               x + spec(x); spec must end at the width it starts with
///   repeat(n, spec)              spec n times (each copy its own parameters)
/// ~~~
///
/// std=s draws the layer's matrices from N(0, s²) instead of their default (torch's), and sets a linear's bias
/// to 0 (nanoGPT's initialisation). E.g.
/// "embed(64) linear(256) gelu linear(64) linear(vocab)"; the design note's model is
/// "embed(d) linear(f, bias=false) linear(d, bias=false) linear(vocab, bias=false)"; a GPT is gpt_spec(…)
/// (nn/transformer.hpp). A language model starts with embed or context and its last width is the vocabulary
/// size. A spec builds at most 65536 layers and 2^28 parameters.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tapegrad/autodiff/errors.hpp"
#include "tapegrad/nn/init.hpp"
#include "tapegrad/nn/sequential.hpp"
#include "tapegrad/nn/token_model.hpp"

namespace tapegrad {

/// A malformed spec: names the 1-based column, the token found and what was expected.
struct SpecError : Error {
    SpecError(std::size_t column, std::string token, const std::string& message);
    std::size_t column;
    std::string token;
};

struct SpecArg {
    std::string key;    ///< empty for a positional argument
    std::string value;  ///< as written
    std::size_t column = 0;      ///< of the value
    std::size_t key_column = 0;  ///< of the key, for key=value
};

struct LayerSpec {
    std::string name;
    std::vector<SpecArg> args;   ///< repeat: its count, as the one positional argument
    std::size_t column = 0;
    std::vector<LayerSpec> body;  ///< the layers inside residual( … ) and repeat(n, … )
};

/// Syntax only: SpecError for a token that does not fit the grammar.
std::vector<LayerSpec> parse_spec(const std::string& spec);

/// A model built from a spec: a TokenSequential (nn/token_model.hpp) that keeps the spec and the vocabulary
/// size it was built from and stores them in its checkpoints (model.spec, model.vocab), so that load_model
/// (nn/model_file.hpp) rebuilds it from the file alone. build_model, make_gpt and load_model return one.
template <class T>
class SpecModel : public TokenSequential<T> {
public:
    SpecModel(Tape<T>& tape, std::string spec, std::size_t vocab)
        : TokenSequential<T>(tape), spec_(std::move(spec)), vocab_(vocab) {}
    const std::string& spec() const { return spec_; }
    std::size_t vocab() const { return vocab_; }
    std::map<std::string, std::string> checkpoint_metadata() const override {
        return {{"spec", spec_}, {"vocab", std::to_string(vocab_)}};
    }

private:
    std::string spec_;
    std::size_t vocab_;
};

/// The number of parameters build_model(spec, vocab, ...) would create, found without allocating them;
/// SpecError as build_model. A model built from a spec has at most 2^28 parameters.
std::size_t spec_parameter_count(const std::string& spec, std::size_t vocab);

/// Parses and builds the model on `tape`; SpecError for unknown layers, bad numbers, a missing vocabulary
/// (vocab = 0), dimensions that do not chain, a model that does not end at the vocabulary, or one of more than
/// 2^28 parameters or 65536 layers (checked before any layer is allocated).
template <class T>
std::shared_ptr<SpecModel<T>> build_model(const std::string& spec, std::size_t vocab, Tape<T>& tape, Generator& gen);

}  // namespace tapegrad
