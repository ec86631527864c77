/// \file
/// How token models read their input, in one place: the ids a model is given (TokenInput), the contexts of
/// k ids per position that the MLP language models read (make_contexts), and TokenReader, the small interface
/// of a module that reads token ids (Embedding, ContextEmbedding): a language model's input stage
/// (nn/token_model.hpp). The Module base and every other layer work on tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

/// Token ids fed to a model: n rows of `context` ids each (row-major), oldest first; the last id of a row is
/// the current token. Plain sequences have context 1.
struct TokenInput {
    std::span<const std::int64_t> ids;
    std::size_t context = 1;
    std::size_t rows() const { return context ? ids.size() / context : 0; }
};

/// Rows of k ids for every position of a sequence: row i = seq[i−k+1 .. i], `pad` before the start.
std::vector<std::int64_t> make_contexts(std::span<const std::int64_t> sequence, std::size_t k, std::int64_t pad);

/// What a module that reads token ids offers beside being a module: its forward of ids, how many ids per
/// position it reads, and the id that pads positions before a sequence's start (if it has one).
template <class T>
class TokenReader {
public:
    virtual ~TokenReader() = default;
    /// n rows of tokens.context ids → n×width. ShapeError when tokens.context is not context_size().
    virtual Var<T> forward_tokens(const TokenInput& tokens) = 0;
    virtual std::size_t context_size() const { return 1; }
    virtual std::optional<std::int64_t> padding_id() const { return std::nullopt; }
};

}  // namespace tapegrad
