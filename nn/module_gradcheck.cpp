#include "tapegrad/nn/module_gradcheck.hpp"

namespace tapegrad {

GradcheckReport gradcheck_module_with(Module<double>& module, const std::function<Var<double>()>& loss,
                                      const GradcheckOptions& options) {
    const std::vector<NamedParameter<double>> params = module.named_parameters();
    GradcheckTarget target;
    for (const auto& p : params) {
        target.inputs.push_back(&p.var.mutable_value());
        target.names.push_back(p.name);
    }
    target.evaluate = [&]() {
        module.tape().clear();
        return loss();
    };
    target.reset_gradients = [&]() { module.zero_grad(); };
    target.gradient = [&](std::size_t i) { return gradient_or_zeros(params[i].var); };
    GradcheckReport report = gradcheck(target, options);
    module.tape().clear();
    module.zero_grad();
    return report;
}

}  // namespace tapegrad
