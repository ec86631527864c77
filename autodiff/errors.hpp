/// \file
/// Exceptions thrown by tapegrad. Every message names the op, the shapes or values involved and what was
/// expected, e.g. "matmul: inner dimensions differ: a is 2x3, b is 4x5 (expected b to have 3 rows)".
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace tapegrad {

/// Base of everything tapegrad throws.
struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Operand shapes do not fit the op.
struct ShapeError : Error {
    using Error::Error;
};

/// A token id or target outside the vocabulary, an axis out of range, a bad index.
struct IndexError : Error {
    using Error::Error;
};

/// A value outside an op's domain (log of a negative number, a negative probability).
struct DomainError : Error {
    using Error::Error;
};

/// The tape used wrongly: a handle whose step was cleared, backward of a non-scalar without a seed,
/// reading the gradient of a value that does not require one.
struct UsageError : Error {
    using Error::Error;
};

/// Memory for an op's output or gradient could not be had: names the op, the shape and the bytes asked for.
struct ResourceError : Error {
    using Error::Error;
};

/// Anomaly mode found NaN or Inf: in an op's output (forward) or in a gradient an op's VJP produced
/// (backward). node_index is the step node's index, as in Tape::print.
struct AnomalyError : Error {
    AnomalyError(const std::string& message, std::size_t node, bool in_backward)
        : Error(message), node_index(node), backward(in_backward) {}
    std::size_t node_index;
    bool backward;
};

}  // namespace tapegrad
