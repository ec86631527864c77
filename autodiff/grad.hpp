/// \file
/// Gradients as values: the functional API (torch.autograd.grad, JAX's grad), and with it derivatives of any
/// order, Hessian-vector products, Hessians and Jacobians.
///
/// ~~~{.cpp}
///   Tape<double> t;
///   auto x = t.variable(x0);
///   auto y = sum(tanh(matmul(x, W)));
///   auto g = grad(y, {x}, {.create_graph = true})[0];       // dy/dx, recorded on the tape
///   auto hv = grad(sum(g * t.constant(v)), {x})[0];          // H·v: the gradient of g·v
/// ~~~
///
/// ### Two ways to the same gradient
/// - Without create_graph, grad() runs the tape's fast VJPs (the first-order path of backward(), bit for bit)
///   and returns the gradients as constants. Unlike backward(), it leaves the gradients of parameters and
///   variables as they were (nothing accumulates); those of intermediate nodes, which each backward recomputes,
///   are this call's afterwards.
/// - With create_graph, it runs every op's *graph rule* (OpDef::vjp_graph): the same VJP written with tape
///   ops, so the gradients it returns are Vars recorded on the tape, used in further ops and differentiated
///   again, to any order (each rule is built from ops that have rules of their own). Through an op without a
///   rule (the fused causal_self_attention and context_linear, a custom op without vjp_graph) it throws
///   UsageError naming the op and what to use instead; it never returns a silently wrong or zero gradient.
/// Which ops have a rule, and how each is written: autodiff/ops/DERIVATIVES.md.
#pragma once

#include <functional>
#include <vector>

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

struct GradOptions {
    /// Record the gradient computation on the tape, so that the results can be differentiated again.
    bool create_graph = false;
};

/// d(output)/d(inputs) for a 1×1 output: one Var per input, of the input's shape. An input the output does not
/// depend on gets zeros (a constant), as JAX. UsageError for a non-scalar output (pass a seed), for inputs of
/// another tape or step, and with create_graph under no-grad or through an op without a graph rule.
template <class T>
std::vector<Var<T>> grad(const Var<T>& output, const std::vector<Var<T>>& inputs, const GradOptions& options = {});

/// The vector-Jacobian product seedᵀ·J: the gradient of Σ seed ⊙ output, for an output of any shape; the seed
/// has the output's shape. As a Var, the result is also differentiable with respect to the seed.
template <class T>
std::vector<Var<T>> grad(const Var<T>& output, const std::vector<Var<T>>& inputs, const Var<T>& seed,
                         const GradOptions& options = {});

/// A scalar function of tensors, recorded on the tape it is given (as gradcheck's functions).
template <class T>
using TapeFunction = std::function<Var<T>(const std::vector<Var<T>>&)>;

/// The Hessian-vector products H_i·v = Σ_j ∂²f/∂x_i∂x_j · v_j of a scalar f at `inputs`, one per input:
/// the gradient of g·v where g = ∇f is recorded (create_graph), so it costs about two gradients and a bit.
/// v has one tensor per input, of its shape.
template <class T>
std::vector<Tensor<T>> hvp(const TapeFunction<T>& f, const std::vector<Tensor<T>>& inputs, const std::vector<Tensor<T>>& v);

/// The Hessian of a scalar f with respect to one input x (n = rows·cols elements): n×n, row i = ∂(∂f/∂x_i)/∂x,
/// x's elements in row-major order. One backward through ∇f per element: for small n.
template <class T>
Tensor<T> hessian(const TapeFunction<T>& f, const Tensor<T>& x);

/// The Jacobian of f (any output shape, m elements) with respect to x (n elements): m×n, row o = ∂f_o/∂x.
/// One first-order backward per output element.
template <class T>
Tensor<T> jacobian(const TapeFunction<T>& f, const Tensor<T>& x);

}  // namespace tapegrad
