#include "tapegrad/autodiff/grad.hpp"

#include <algorithm>
#include <unordered_map>

#include "tapegrad/autodiff/ops/elementwise.hpp"
#include "tapegrad/autodiff/ops/reduce.hpp"

namespace tapegrad {
namespace {

template <class T>
void check_grad_call(const Var<T>& output, const std::vector<Var<T>>& inputs, const Var<T>* seed) {
    Tape<T>& t = output.tape();
    const Node<T>& o = t.node(output, "grad");
    for (const auto& x : inputs) t.node(x, "grad");  // every handle of this tape and step
    if (seed) {
        t.node(*seed, "grad");
        if (seed->shape() != shape_of(o.value))
            throw ShapeError("grad: the seed is " + shape_str(seed->shape()) + ", expected the output's shape " +
                             shape_str(shape_of(o.value)));
    } else if (o.value.size() != 1) {
        throw UsageError("grad: the output (op '" + std::string(t.op_name(o)) + "') is " + shape_str(shape_of(o.value)) +
                         ", not 1x1; pass a seed of its shape: grad(output, inputs, seed)");
    }
}

// Without create_graph: the fast VJPs of backward(), with every leaf's gradient set aside first and put back
// after, so that nothing accumulates; the results are copied into constants.
template <class T>
std::vector<Var<T>> grad_by_backward(const Var<T>& output, const std::vector<Var<T>>& inputs, const Tensor<T>& seed) {
    Tape<T>& t = output.tape();
    struct Kept {
        NodeId id;
        Tensor<T> grad;
        GradState state;
    };
    const auto is_leaf = [&](NodeId id) { return t.node(id).requires_grad && t.node(id).op == nullptr; };
    std::size_t leaves = 0;
    for (std::size_t p = 0; p < t.num_parameters(); ++p) leaves += is_leaf(NodeId(p) | kParameterBit);
    for (std::size_t i = 0; i < t.size(); ++i) leaves += is_leaf(NodeId(i));
    std::vector<Kept> kept;
    kept.reserve(leaves);  // the only allocation before a gradient is moved: nothing below throws until backward
    // However this function leaves, the leaves' gradients and the release flag are put back.
    struct Restore {
        Tape<T>& t;
        std::vector<Kept>& kept;
        bool release;
        ~Restore() {
            t.set_release_intermediate_gradients(release);
            for (auto& k : kept) {
                t.node(k.id).grad = std::move(k.grad);
                t.node(k.id).grad_state = k.state;
            }
        }
    } restore{t, kept, t.release_intermediate_gradients()};
    const auto set_aside = [&](NodeId id) {
        if (!is_leaf(id)) return;  // leaves only: intermediates are recomputed anyway
        Node<T>& n = t.node(id);
        kept.push_back({id, std::move(n.grad), n.grad_state});
        n.grad = Tensor<T>();
        n.grad_state = GradState::none;
    };
    for (std::size_t p = 0; p < t.num_parameters(); ++p) set_aside(NodeId(p) | kParameterBit);
    for (std::size_t i = 0; i < t.size(); ++i) set_aside(NodeId(i));
    t.set_release_intermediate_gradients(false);  // an input may be an intermediate node: keep its gradient
    if (t.node(output.id()).requires_grad) t.backward(output, seed);
    std::vector<Tensor<T>> results;
    for (const auto& x : inputs) {
        const Node<T>& n = t.node(x.id());
        results.push_back(n.requires_grad && n.grad_live() ? n.grad : Tensor<T>(shape_of(n.value), T(0)));
    }
    std::vector<Var<T>> out;
    for (const auto& r : results) out.push_back(t.constant(r));
    return out;
}

// With create_graph: the reverse loop over the nodes that lead from an input to the output, each node's
// graph rule recording its VJP as ops; a node's gradient is the sum (add) of what its uses contribute.
template <class T>
std::vector<Var<T>> grad_by_graph(const Var<T>& output, const std::vector<Var<T>>& inputs, const Var<T>& seed) {
    Tape<T>& t = output.tape();
    if (!t.grad_enabled())
        throw UsageError("grad: create_graph under no-grad (NoGradGuard): nothing would be recorded");
    const NodeId out = output.id();
    // leads[i]: step node i depends on an input (so its gradient is needed); parameters are looked up by id.
    std::vector<NodeId> input_ids;
    for (const auto& x : inputs) input_ids.push_back(x.id());
    const auto is_input = [&](NodeId id) { return std::find(input_ids.begin(), input_ids.end(), id) != input_ids.end(); };
    const std::size_t steps = (out & kParameterBit) ? 0 : std::size_t(out) + 1;
    std::vector<char> leads(steps, 0);
    const auto leads_to_input = [&](NodeId id) { return (id & kParameterBit) ? is_input(id) : bool(leads[id]); };
    for (std::size_t i = 0; i < steps; ++i) {
        const Node<T>& n = t.node(NodeId(i));
        bool l = n.requires_grad && is_input(NodeId(i));
        if (n.requires_grad && n.op != nullptr)
            for (NodeId in : n.inputs) l = l || leads_to_input(in);
        leads[i] = l;
    }
    std::unordered_map<NodeId, Var<T>> g;
    g[out] = seed;
    std::vector<Var<T>> din;
    for (std::size_t i = steps; i-- > 0;) {
        const auto it = g.find(NodeId(i));
        if (it == g.end() || !leads[i]) continue;
        const Node<T>& n = t.node(NodeId(i));
        if (n.op == nullptr) continue;  // a leaf
        const std::size_t k_inputs = n.inputs.size();
        din.assign(k_inputs, Var<T>());
        std::unique_ptr<bool[]> needed(new bool[k_inputs]);
        for (std::size_t k = 0; k < k_inputs; ++k) needed[k] = t.node(n.inputs[k]).requires_grad && leads_to_input(n.inputs[k]);
        // an input of grad() itself, with nothing below it that leads to another input: its rule is not needed
        if (std::none_of(needed.get(), needed.get() + k_inputs, [](bool b) { return b; })) continue;
        if (n.op->vjp_graph == nullptr)
            throw UsageError("grad(create_graph): op '" + std::string(t.op_name(n)) + "' (node " + node_label(NodeId(i)) +
                             ") has no graph rule, so its gradient cannot be differentiated again" +
                             (n.op->without_graph_rule ? std::string("; ") + n.op->without_graph_rule : std::string()));
        const Var<T> dy = it->second;
        n.op->vjp_graph(GraphVjp<T>{t, NodeId(i), dy, std::span<const bool>(needed.get(), k_inputs), std::span<Var<T>>(din)});
        const Node<T>& again = t.node(NodeId(i));  // the rule recorded nodes: read the inputs afresh
        const auto rule_of = [&] {
            return std::string("the graph rule of ") + (again.custom ? "custom op '" : "op '") + t.op_name(again) +
                   "' (node " + node_label(NodeId(i)) + ")";
        };
        for (std::size_t k = 0; k < k_inputs; ++k) {
            if (!needed[k]) continue;
            // a rule that leaves a needed gradient unset would read as a zero gradient: refused, whatever the op
            if (!din[k].valid())
                throw UsageError("grad(create_graph): " + rule_of() + " gave no gradient for input " + std::to_string(k) +
                                 ", whose gradient is needed; a zero gradient is a constant of zeros");
            const NodeId in = again.inputs[k];
            if (din[k].shape() != shape_of(t.node(in).value))
                throw ShapeError("grad(create_graph): " + rule_of() + " gave input " + std::to_string(k) +
                                 " a gradient of " + shape_str(din[k].shape()) + ", the input is " +
                                 shape_str(shape_of(t.node(in).value)));
            auto [slot, fresh] = g.try_emplace(in, din[k]);
            if (!fresh) slot->second = add(slot->second, din[k]);
        }
    }
    std::vector<Var<T>> result;
    for (const auto& x : inputs) {
        const auto it = g.find(x.id());
        result.push_back(it != g.end() && t.node(x.id()).requires_grad ? it->second
                                                                      : t.constant(Tensor<T>(x.shape(), T(0))));
    }
    return result;
}

}  // namespace

template <class T>
std::vector<Var<T>> grad(const Var<T>& output, const std::vector<Var<T>>& inputs, const GradOptions& options) {
    check_grad_call<T>(output, inputs, nullptr);
    Tape<T>& t = output.tape();
    if (!options.create_graph) return grad_by_backward(output, inputs, Tensor<T>({1, 1}, T(1)));
    return grad_by_graph(output, inputs, t.constant(Tensor<T>({1, 1}, T(1))));
}

template <class T>
std::vector<Var<T>> grad(const Var<T>& output, const std::vector<Var<T>>& inputs, const Var<T>& seed,
                         const GradOptions& options) {
    check_grad_call<T>(output, inputs, &seed);
    if (!options.create_graph) return grad_by_backward(output, inputs, Tensor<T>(seed.value()));
    return grad_by_graph(output, inputs, seed);
}

template <class T>
std::vector<Tensor<T>> hvp(const TapeFunction<T>& f, const std::vector<Tensor<T>>& inputs, const std::vector<Tensor<T>>& v) {
    if (v.size() != inputs.size())
        throw ShapeError("hvp: " + std::to_string(v.size()) + " vectors for " + std::to_string(inputs.size()) + " inputs");
    Tape<T> t;
    std::vector<Var<T>> x;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (shape_of(v[i]) != shape_of(inputs[i]))
            throw ShapeError("hvp: vector " + std::to_string(i) + " is " + shape_str(shape_of(v[i])) + ", input " +
                             std::to_string(i) + " is " + shape_str(shape_of(inputs[i])));
        x.push_back(t.variable(inputs[i]));
    }
    const std::vector<Var<T>> g = grad(f(x), x, {.create_graph = true});
    // g·v = Σ_i sum(g_i ⊙ v_i); its gradient is H·v
    Var<T> gv;
    for (std::size_t i = 0; i < x.size(); ++i) {
        Var<T> term = sum(mul(g[i], t.constant(v[i])));
        gv = gv.valid() ? add(gv, term) : term;
    }
    std::vector<Tensor<T>> out;
    if (!gv.requires_grad()) {  // f is at most linear: H = 0
        for (const auto& in : inputs) out.emplace_back(shape_of(in), T(0));
        return out;
    }
    for (const auto& h : grad(gv, x)) out.push_back(h.value());
    return out;
}

template <class T>
Tensor<T> hessian(const TapeFunction<T>& f, const Tensor<T>& x0) {
    Tape<T> t;
    const Var<T> x = t.variable(x0);
    const Var<T> g = grad(f({x}), {x}, {.create_graph = true})[0];
    const std::size_t n = x0.size();
    Tensor<T> h({n, n}, T(0));
    if (!g.requires_grad()) return h;  // f is at most linear
    Tensor<T> seed(shape_of(x0), T(0));
    for (std::size_t i = 0; i < n; ++i) {
        seed.data()[i] = T(1);
        const Tensor<T> row = grad(g, {x}, t.constant(seed))[0].value();
        std::copy(row.begin(), row.end(), h.data() + i * n);
        seed.data()[i] = T(0);
    }
    return h;
}

template <class T>
Tensor<T> jacobian(const TapeFunction<T>& f, const Tensor<T>& x0) {
    Tape<T> t;
    const Var<T> x = t.variable(x0);
    const Var<T> y = f({x});
    const std::size_t m = y.size(), n = x0.size();
    Tensor<T> j({m, n}, T(0));
    if (!y.requires_grad()) return j;
    Tensor<T> seed(y.shape(), T(0));
    for (std::size_t o = 0; o < m; ++o) {
        seed.data()[o] = T(1);
        const Tensor<T> row = grad(y, {x}, t.constant(seed))[0].value();
        std::copy(row.begin(), row.end(), j.data() + o * n);
        seed.data()[o] = T(0);
    }
    return j;
}

template std::vector<Var<float>> grad(const Var<float>&, const std::vector<Var<float>>&, const GradOptions&);
template std::vector<Var<double>> grad(const Var<double>&, const std::vector<Var<double>>&, const GradOptions&);
template std::vector<Var<float>> grad(const Var<float>&, const std::vector<Var<float>>&, const Var<float>&, const GradOptions&);
template std::vector<Var<double>> grad(const Var<double>&, const std::vector<Var<double>>&, const Var<double>&,
                                       const GradOptions&);
template std::vector<Tensor<float>> hvp(const TapeFunction<float>&, const std::vector<Tensor<float>>&,
                                        const std::vector<Tensor<float>>&);
template std::vector<Tensor<double>> hvp(const TapeFunction<double>&, const std::vector<Tensor<double>>&,
                                         const std::vector<Tensor<double>>&);
template Tensor<float> hessian(const TapeFunction<float>&, const Tensor<float>&);
template Tensor<double> hessian(const TapeFunction<double>&, const Tensor<double>&);
template Tensor<float> jacobian(const TapeFunction<float>&, const Tensor<float>&);
template Tensor<double> jacobian(const TapeFunction<double>&, const Tensor<double>&);

}  // namespace tapegrad
