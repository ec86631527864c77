/// \file
/// gradcheck of a whole module: every parameter's gradient of a scalar loss, checked against central
/// differences in double, reported like the tape's gradcheck (inputs named by parameter name).
#pragma once

#include <functional>

#include "tapegrad/autodiff/gradcheck.hpp"
#include "tapegrad/nn/module.hpp"

namespace tapegrad {

/// `loss` records one forward pass on the module's tape and returns the output to check; it is called
/// many times, each on a fresh step. Parameters are perturbed in place and restored.
/// ~~~{.cpp}
///   auto report = gradcheck_module(model, [&](Module<double>& m) { return cross_entropy(m(tokens), targets); });
/// ~~~
GradcheckReport gradcheck_module(Module<double>& module, const std::function<Var<double>(Module<double>&)>& loss,
                                 const GradcheckOptions& options = {});

}  // namespace tapegrad
