#include "tapegrad/autodiff/ops/custom.hpp"

namespace tapegrad {
namespace {

constexpr std::size_t kMaxCustomInputs = 16;

template <class T>
void custom_forward(Tape<T>& t, Node<T>& n) {
    std::array<const Tensor<T>*, kMaxCustomInputs> in{};
    for (std::size_t k = 0; k < n.inputs.size(); ++k) in[k] = &t.input(n, k).value;
    const Shape before = shape_of(n.value);
    n.custom->forward(std::span<const Tensor<T>* const>(in.data(), n.inputs.size()), n.value);
    if (shape_of(n.value) != before)
        throw ShapeError("custom op '" + n.custom->name + "': forward changed the output shape from " +
                         shape_str(before) + " to " + shape_str(shape_of(n.value)));
}

template <class T>
void custom_vjp(Tape<T>& t, Node<T>& n) {
    std::array<const Tensor<T>*, kMaxCustomInputs> in{};
    std::array<Tensor<T>*, kMaxCustomInputs> grads{};
    for (std::size_t k = 0; k < n.inputs.size(); ++k) {
        in[k] = &t.input(n, k).value;
        grads[k] = t.gradient_to_add(n, k).tensor;  // a user's VJP adds (the contract in tape.hpp)
    }
    n.custom->vjp(std::span<const Tensor<T>* const>(in.data(), n.inputs.size()), n.value, n.grad,
                  std::span<Tensor<T>* const>(grads.data(), n.inputs.size()));
    for (std::size_t k = 0; k < n.inputs.size(); ++k)
        if (grads[k] && shape_of(*grads[k]) != shape_of(*in[k]))
            throw ShapeError("custom op '" + n.custom->name + "': vjp left the gradient of input " + std::to_string(k) +
                             " with shape " + shape_str(shape_of(*grads[k])) + ", expected " + shape_str(shape_of(*in[k])));
}

// The graph rule is the user's vjp_graph, if given (CustomOpFns); without one, a gradient graph through the op
// is refused, naming it.
template <class T>
void custom_vjp_graph(const GraphVjp<T>& c) {
    const Node<T>& n = c.tape.node(c.node);
    const std::string name = n.custom->name;
    if (!n.custom->vjp_graph)
        throw UsageError("grad(create_graph): custom op '" + name + "' (node " + node_label(c.node) +
                         ") has no vjp_graph, so its gradient cannot be differentiated again; give CustomOpFns::vjp_graph "
                         "(its VJP written with tape ops) or compose the op from built-in ops");
    std::vector<Var<T>> inputs;
    for (std::size_t k = 0; k < c.din.size(); ++k) inputs.push_back(c.input(k));
    const std::vector<Var<T>> din = n.custom->vjp_graph(std::span<const Var<T>>(inputs), c.output(), c.dy);
    if (din.size() != inputs.size())
        throw ShapeError("custom op '" + name + "': vjp_graph returned " + std::to_string(din.size()) +
                         " gradients for " + std::to_string(inputs.size()) + " inputs");
    // grad() checks what a rule gives (a gradient for every needed input, of the input's shape) for every op
    for (std::size_t k = 0; k < din.size(); ++k)
        if (c.needed[k]) c.din[k] = din[k];
}

template <class T>
const OpDef<T> custom_def{"custom", custom_forward<T>, custom_vjp<T>, custom_vjp_graph<T>};

}  // namespace

template <class T>
Var<T> custom_op(std::shared_ptr<const CustomOpFns<T>> op, const std::vector<Var<T>>& inputs, Shape out_shape) {
    if (!op || !op->forward || !op->vjp)
        throw UsageError("custom_op '" + (op ? op->name : std::string("?")) + "': forward and vjp must both be given");
    if (inputs.empty() || inputs.size() > kMaxCustomInputs)
        throw UsageError("custom_op '" + op->name + "': " + std::to_string(inputs.size()) + " inputs, expected 1 to " +
                         std::to_string(kMaxCustomInputs));
    Tape<T>& t = inputs[0].tape();
    Node<T>& n = t.push(custom_def<T>, std::span<const Var<T>>(inputs), out_shape);
    n.custom = std::move(op);
    return t.commit(n);
}

template <class T>
Var<T> custom_op(std::string name, const std::vector<Var<T>>& inputs, Shape out_shape, CustomForward<T> forward,
                 CustomVjp<T> vjp) {
    auto op = std::make_shared<CustomOpFns<T>>();
    op->name = std::move(name);
    op->forward = std::move(forward);
    op->vjp = std::move(vjp);
    return custom_op<T>(std::move(op), inputs, out_shape);
}

template Var<float> custom_op(std::shared_ptr<const CustomOpFns<float>>, const std::vector<Var<float>>&, Shape);
template Var<double> custom_op(std::shared_ptr<const CustomOpFns<double>>, const std::vector<Var<double>>&, Shape);
template Var<float> custom_op(std::string, const std::vector<Var<float>>&, Shape, CustomForward<float>, CustomVjp<float>);
template Var<double> custom_op(std::string, const std::vector<Var<double>>&, Shape, CustomForward<double>,
                               CustomVjp<double>);

}  // namespace tapegrad
