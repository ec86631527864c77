/// \file
/// Finite-difference gradient check, shipped in the library for users' own functions, ops and layers.
///
/// Central differences in double: numeric J[o, j] = (f(x + eps·e_j)[o] − f(x − eps·e_j)[o]) / (2·eps), compared
/// with the analytic Jacobian the tape computes (one backward per output element, seeded with e_o).
/// An element fails when |analytic − numeric| > atol + rtol·|numeric|; defaults as torch.autograd.gradcheck.
///
/// ~~~{.cpp}
///   auto report = tapegrad::gradcheck([](const auto& x) { return sum(tanh(matmul(x[0], x[1]))); }, {A, B});
///   REQUIRE(report);            // Catch2 prints the report when it fails
/// ~~~
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

struct GradcheckOptions {
    double eps = 1e-6;
    double atol = 1e-5;
    double rtol = 1e-3;
    std::size_t max_reported = 5;  ///< worst elements kept in the report
};

struct GradcheckEntry {
    std::size_t input = 0;   ///< which input (index into the inputs given)
    std::string input_name;  ///< "input 0", or a parameter's name
    std::size_t row = 0, col = 0;  ///< element of that input
    std::size_t output = 0;        ///< flat index of the output element whose gradient this is
    double analytic = 0, numeric = 0, abs_error = 0, rel_error = 0;
    bool failed = false;
};

struct GradcheckReport {
    bool passed = true;
    std::size_t checked = 0;  ///< (output element, input element) pairs compared
    double max_abs_error = 0, max_rel_error = 0;
    std::vector<GradcheckEntry> worst;  ///< worst first: by |analytic − numeric| / (atol + rtol·|numeric|)
    /// Per-node mode: the first node whose VJP disagrees with its own forward.
    bool has_failed_node = false;
    std::size_t failed_node = 0;
    std::string failed_op;
    /// Per-node mode, when the VJP is right onto fresh gradients but wrong on another path of the VJP
    /// contract (onto a gradient that already holds a value, where it must add; or with intermediate
    /// gradients released, where its first write may be a hand-over): which path, input and element.
    std::string path_error;

    explicit operator bool() const { return passed; }
    std::string to_string() const;
};
std::ostream& operator<<(std::ostream& os, const GradcheckReport& r);

/// A function of tape variables returning the output to check (any shape).
using GradcheckFunction = std::function<Var<double>(const std::vector<Var<double>>&)>;

/// Checks f's gradient with respect to every input, on a tape of its own.
GradcheckReport gradcheck(const GradcheckFunction& f, const std::vector<Tensor<double>>& inputs,
                          const GradcheckOptions& options = {});

/// Per-node mode: records f once, then checks each recorded node's VJP against finite differences of that
/// node's own forward, in recording order; stops at the first wrong node and names it. Every VJP runs three
/// times per seed, the three paths of the VJP contract (tape.hpp): onto fresh gradients (where a writer
/// assigns), onto gradients that already hold values (it must add: the path of a value used twice), and
/// with intermediate gradients released (where its first write may take over the node's own gradient
/// buffer, as in a training step that releases them).
GradcheckReport gradcheck_nodes(const GradcheckFunction& f, const std::vector<Tensor<double>>& inputs,
                                const GradcheckOptions& options = {});

/// Second-order check (torch.autograd.gradgradcheck): the gradient of f, computed with create_graph through
/// every op's graph rule (autodiff/grad.hpp), is itself checked by gradcheck against finite differences,
/// as a function of the inputs and of the seed v (a fixed pattern of f's output shape):
///   h(x, v) = [vᵀ·∂f/∂x_0 | vᵀ·∂f/∂x_1 | …]   (each input's gradient flattened, side by side).
/// First, h's value must equal the first-order gradient of the fast VJPs (grad without create_graph) to
/// 1e-10 relative; a mismatch fails with a message naming the input. Reports as gradcheck (the seed is the
/// last input, named "seed").
GradcheckReport gradgradcheck(const GradcheckFunction& f, const std::vector<Tensor<double>>& inputs,
                              const GradcheckOptions& options = {});

/// The engine behind both, for anything that can be re-evaluated and differentiated (nn's module
/// gradcheck perturbs parameters through it).
struct GradcheckTarget {
    std::vector<Tensor<double>*> inputs;  ///< perturbed in place, restored afterwards
    std::vector<std::string> names;       ///< optional, one per input
    std::function<Var<double>()> evaluate;                          ///< records a fresh step, returns the output
    std::function<void()> reset_gradients;                          ///< before each backward
    std::function<Tensor<double>(std::size_t input)> gradient;      ///< input's gradient after backward
};
GradcheckReport gradcheck(const GradcheckTarget& target, const GradcheckOptions& options = {});

/// A copy of dL/dv for a GradcheckTarget's `gradient`: zeros when no gradient reached v (an input the
/// output does not depend on has the analytic gradient 0, which the numeric one must match).
Tensor<double> gradient_or_zeros(const Var<double>& v);

}  // namespace tapegrad
