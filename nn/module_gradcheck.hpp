/// \file
/// gradcheck of a whole module: every parameter's gradient of a scalar loss, checked against central
/// differences in double, reported like the tape's gradcheck (inputs named by parameter name).
#pragma once

#include <concepts>
#include <functional>

#include "tapegrad/autodiff/gradcheck.hpp"
#include "tapegrad/nn/module.hpp"

namespace tapegrad {

/// The engine: `loss` records one forward pass of the module on its tape and returns the output to check.
GradcheckReport gradcheck_module_with(Module<double>& module, const std::function<Var<double>()>& loss,
                                      const GradcheckOptions& options = {});

/// `loss(module)` records one forward pass on the module's tape and returns the output to check; it is called
/// many times, each on a fresh step, with the module as its own type (a language model can be called with
/// tokens). Parameters are perturbed in place and restored.
/// ~~~{.cpp}
///   auto report = gradcheck_module(*model, [&](auto& m) { return cross_entropy(m(tokens), targets); });
/// ~~~
template <class M, class Loss>
    requires std::derived_from<M, Module<double>> && std::invocable<Loss&, M&>
GradcheckReport gradcheck_module(M& module, Loss&& loss, const GradcheckOptions& options = {}) {
    return gradcheck_module_with(module, [&]() -> Var<double> { return loss(module); }, options);
}

}  // namespace tapegrad
