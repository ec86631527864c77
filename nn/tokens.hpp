/// \file
/// How token models read their input, in one place: the ids a model is given (TokenInput), the contexts of
/// k ids per position that the MLP language models read (make_contexts, context_size), and the windows of T
/// consecutive positions that a GPT reads (window_size). Modules receive token ids through
/// Module::forward_tokens; everything else of nn works on tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tapegrad {

/// Token ids fed to a model: n rows of `context` ids each (row-major), oldest first; the last id of a row is
/// the current token. Plain sequences have context 1.
struct TokenInput {
    std::span<const std::int64_t> ids;
    std::size_t context = 1;
    std::size_t rows() const { return context ? ids.size() / context : 0; }
};

template <class T>
class Module;

/// Rows of k ids for every position of a sequence: row i = seq[i−k+1 .. i], `pad` before the start.
std::vector<std::int64_t> make_contexts(std::span<const std::int64_t> sequence, std::size_t k, std::int64_t pad);

/// Ids per position a model reads: k for a model that starts with a context embedding of k tokens (alone
/// or as the first module of a Sequential), 1 otherwise.
template <class T>
std::size_t context_size(const Module<T>& model);

/// The window length T of a model that reads windows (one with a PositionEmbedding or attention), 0 for a
/// model of independent positions.
template <class T>
std::size_t window_size(const Module<T>& model);

}  // namespace tapegrad
