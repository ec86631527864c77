/// \file
/// A user-defined primitive op: supply its forward and its VJP; it is recorded, replayed and gradchecked
/// like a built-in. Its VJP gets grads[k] from the VJP contract's gradient_to_add (tape.hpp): a buffer that
/// holds the gradient so far (zeros at first), into which it ADDS dL/d(input k); nullptr where input k needs
/// no gradient.
///
/// ~~~{.cpp}
///   auto cube = tapegrad::custom_op<double>(
///       "cube", {x}, x.shape(),
///       [](auto in, auto& out) { out = (*in[0]) * (*in[0]) * (*in[0]); },
///       [](auto in, auto&, auto& dout, auto grads) { if (grads[0]) *grads[0] += 3.0 * (*in[0]) * (*in[0]) * dout; });
/// ~~~
///
/// For gradients of gradients (grad with create_graph, autodiff/grad.hpp) the op also needs its VJP written
/// with tape ops, CustomOpFns::vjp_graph: given the inputs and the output as handles and dy as a Var, it returns
/// dL/d(input k) as Vars built from ops that have graph rules themselves (then any order works). Build the
/// CustomOpFns yourself and pass it to the shared_ptr overload:
/// ~~~{.cpp}
///   fns->vjp_graph = [](auto in, const Var<double>&, const Var<double>& dy) {
///       return std::vector<Var<double>>{mul(mul(square(in[0]), 3.0), dy)};   // 3x²·dy
///   };
/// ~~~
/// Return an invalid Var only for an input that is a constant (its gradient is never asked for); a zero gradient
/// is a constant of zeros. Without vjp_graph, create_graph through the op throws UsageError naming it; first
/// order is unaffected.
#pragma once

#include <vector>

#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

template <class T>
using CustomForward = decltype(CustomOpFns<T>::forward);
template <class T>
using CustomVjp = decltype(CustomOpFns<T>::vjp);
template <class T>
using CustomVjpGraph = decltype(CustomOpFns<T>::vjp_graph);

/// Records a node named `name` with the given inputs and output shape.
template <class T>
Var<T> custom_op(std::string name, const std::vector<Var<T>>& inputs, Shape out_shape, CustomForward<T> forward,
                 CustomVjp<T> vjp);

/// Cheaper when the same op is recorded every step: the functions are shared, not copied.
template <class T>
Var<T> custom_op(std::shared_ptr<const CustomOpFns<T>> op, const std::vector<Var<T>>& inputs, Shape out_shape);

}  // namespace tapegrad
