/// \file
/// The tape: a flat list of nodes in recording order, and backward as one reverse loop over it.
///
/// Two kinds of nodes live on a tape:
///   - parameters: leaves that persist across training steps (created by Tape::parameter);
///   - step nodes: everything recorded during one step (inputs, constants, op results). Tape::clear()
///     ends the step; the step's nodes are dropped but their buffers stay allocated and are reused by the
///     next step's nodes, so a steady-state training loop does not allocate.
///
/// A Var is a cheap handle (tape pointer, node id, step generation). Using a handle whose step was cleared
/// throws UsageError.
///
/// ### The VJP contract (stated here only; every other page links to it)
/// An op is a pair of functions, forward and vjp (OpDef), written next to each other in autodiff/ops/.
/// ~~~{.unparsed}
///   forward(tape, node): reads the values of node.inputs and node's attributes, writes node.value, whose
///                        shape was set when the node was recorded. It never records nodes.
///   vjp(tape, node):     called once per backward, when node.grad holds dL/d(node.value). For each input k
///                        it asks the tape where dL/d(input k) goes, with ONE of the helpers below, and
///                        contributes its part there. The input's gradient ends as the SUM of what every
///                        use of the input contributed (a value used twice receives both uses).
/// ~~~
/// The reverse loop calls vjp only for nodes that require a gradient and received one. The helpers return a
/// GradientOut: no tensor when input k needs no gradient; otherwise the buffer and whether to add into it
/// or assign (`out.add`; for a GEMM, `beta = out.beta()`):
///   - gradient_to_add(n, k): the buffer, zero-filled on the gradient's first write in this backward: always
///     add (out.add is true). For a VJP that does not write every element (a scatter, a sum over
///     broadcast rows, a custom op).
///   - gradient_to_write(n, k): on the first write the buffer is NOT zeroed and out.add is false: the VJP
///     must assign every element; later writes add. "Set if no gradient yet, else add": no zero-fill.
///   - gradient_to_write_in_place(n, k): the same, for a VJP whose input has as many elements as the output
///     (its shape, or a reshape of it) and which reads each dy element before writing dx there. When the tape releases intermediate gradients
///     (set_release_intermediate_gradients), the first write may hand n's own gradient buffer over to the
///     input: out.handed_over is true, *out.tensor then holds dL/d(n) and n.grad must not be read again
///     (read dy through a pointer taken from n.grad.data() before the call).
///   - pass_gradient_through(n, k): dL/d(input k) += dL/d(n), element by element (an identity, a reshape, a
///     residual's add), through gradient_to_write_in_place: a hand-over of the buffer where it can be.
///   The last two are the VJP's last use of n.grad.
/// gradcheck_nodes (gradcheck.hpp) runs every VJP three ways: onto fresh gradients, onto gradients that
/// already hold values (it must add) and with intermediate gradients released (a hand-over must be right).
///
/// A node's gradient is in one of three states (GradState): none (zero: nothing reached it yet in this
/// backward, or zero_grad forgot it), live (node.grad holds it), released (backward gave its buffer back).
///
/// ### Anomaly mode
/// set_detect_anomaly(true) checks every op's output after its forward, and every gradient an op's VJP
/// produced, for NaN and Inf; the first one found raises AnomalyError naming the op, the node and the pass.
/// Off by default; when off it costs one predictable branch per node.
#pragma once

#include <type_traits>

#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tapegrad/autodiff/errors.hpp"
#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad {

template <class T>
class Tape;
template <class T>
struct Node;
template <class T>
class Var;

/// Node ids: parameters and step nodes share one index space; parameters carry the top bit.
using NodeId = std::uint32_t;
inline constexpr NodeId kParameterBit = 0x80000000u;

/// "p3" for parameter 3, "#5" for step node 5: how nodes are named in listings and reports.
std::string node_label(NodeId id);

/// What an op's graph rule (OpDef::vjp_graph) is given and returns: see autodiff/grad.hpp.
template <class T>
struct GraphVjp {
    Tape<T>& tape;
    NodeId node;                ///< the node whose VJP is recorded
    const Var<T>& dy;           ///< dL/d(node's value), a Var: itself differentiable
    std::span<const bool> needed;  ///< needed[k]: input k's gradient is asked for (it leads to an input of grad())
    std::span<Var<T>> din;      ///< the rule sets din[k] for every needed input (one left unset is a UsageError)
    Var<T> input(std::size_t k) const;  ///< input k of the node, as a handle
    Var<T> output() const;               ///< the node's value, as a handle (softmax's y, exp's y)
};

template <class T>
struct OpDef {
    const char* name;
    void (*forward)(Tape<T>&, Node<T>&);
    void (*vjp)(Tape<T>&, Node<T>&);
    /// The same VJP written with tape ops, so that it is recorded and can be differentiated again
    /// (grad(..., {.create_graph = true}), autodiff/grad.hpp). nullptr: the op has none, and asking for a
    /// gradient graph through it is a UsageError that says what to use instead (`without_graph_rule`).
    void (*vjp_graph)(const GraphVjp<T>&) = nullptr;
    const char* without_graph_rule = nullptr;
};

/// A user-supplied primitive op (see autodiff/ops/custom.hpp).
template <class T>
struct CustomOpFns {
    std::string name;
    /// out has its shape already; fill it from the inputs.
    std::function<void(std::span<const Tensor<T>* const> inputs, Tensor<T>& out)> forward;
    /// Add dL/d(input k) into grads[k] (nullptr where input k needs no gradient).
    std::function<void(std::span<const Tensor<T>* const> inputs, const Tensor<T>& out, const Tensor<T>& dout,
                       std::span<Tensor<T>* const> grads)>
        vjp;
    /// Optional, for second and higher order (create_graph): the VJP written with tape ops. Given the inputs
    /// and the output as handles and dy = dL/d(output) as a Var, return dL/d(input k) as Vars (an invalid Var
    /// only where input k needs none, a constant input: for a needed input it is a UsageError, never read as a
    /// zero gradient). Without it, a gradient graph through this op is a UsageError naming it.
    std::function<std::vector<Var<T>>(std::span<const Var<T>> inputs, const Var<T>& output, const Var<T>& dy)> vjp_graph;
};

/// Where a VJP writes dL/d(input): see "The VJP contract" above.
template <class T>
struct GradientOut {
    Tensor<T>* tensor = nullptr;  ///< nullptr: the input needs no gradient
    bool add = false;             ///< true: add into *tensor; false: *tensor is uninitialised, assign every element
    bool handed_over = false;     ///< *tensor is the node's own gradient buffer, holding dL/d(output)
    explicit operator bool() const { return tensor != nullptr; }
    T* data() const { return tensor->data(); }
    /// GEMM's beta for this write: 1 when adding, 0 when assigning.
    T beta() const { return add ? T(1) : T(0); }
};

/// The state of a node's gradient in the current backward (see the VJP contract).
enum class GradState : std::uint8_t {
    none,      ///< no gradient: it is zero
    live,      ///< node.grad holds dL/d(value)
    released,  ///< backward gave grad's buffer back (Tape::set_release_intermediate_gradients)
};

template <class T>
struct Node {
    const OpDef<T>* op = nullptr;  ///< nullptr: a leaf (parameter, input, constant or no-grad result)
    const char* label = "leaf";    ///< op name, kept for the listing even when no backward is recorded
    std::vector<NodeId> inputs;
    Tensor<T> value;
    Tensor<T> grad;
    bool requires_grad = false;
    GradState grad_state = GradState::none;
    bool grad_live() const { return grad_state == GradState::live; }
    bool is_parameter = false;
    NodeId self = 0;  ///< this node's id
    /// Token ids an op reads (embedding's ids, cross-entropy's targets); a buffer kept across steps.
    std::vector<std::int64_t> ids;
    /// What an op keeps from its forward for its VJP (softmax's probabilities, attention's, LayerNorm's
    /// statistics); a buffer kept across steps.
    Tensor<T> saved;
    std::shared_ptr<const CustomOpFns<T>> custom;

    /// An op's own attributes, typed and named: each op declares a small trivially copyable struct (e.g.
    /// `struct AttentionAttributes { std::size_t batch, heads; };`), stores it when it records the node
    /// and reads it back in its forward and VJP. It lives inside the node: no allocation.
    template <class A>
    void set_attributes(const A& a) {
        check_attributes<A>();
        std::memcpy(attributes_, &a, sizeof(A));
    }
    template <class A>
    A attributes() const {
        check_attributes<A>();
        A a;
        std::memcpy(&a, attributes_, sizeof(A));
        return a;
    }
    void clear_attributes() { std::memset(attributes_, 0, kAttributeBytes); }
    static constexpr std::size_t kAttributeBytes = 48;

    std::size_t rows() const { return value.shape()[0]; }
    std::size_t cols() const { return value.shape()[1]; }
    /// Bytes this node keeps alive until backward: its value and what the op saved.
    std::size_t bytes_kept() const { return (value.size() + saved.size()) * sizeof(T) + ids.size() * sizeof(std::int64_t); }

private:
    template <class A>
    static constexpr void check_attributes() {
        static_assert(std::is_trivially_copyable_v<A>, "an op's attributes are a trivially copyable struct");
        static_assert(sizeof(A) <= kAttributeBytes, "an op's attributes must fit in Node::kAttributeBytes");
    }
    alignas(8) unsigned char attributes_[kAttributeBytes] = {};
};

template <class T>
class Var {
public:
    Var() = default;

    Tape<T>& tape() const;
    NodeId id() const { return id_; }
    bool valid() const { return tape_ != nullptr; }

    const Tensor<T>& value() const;
    /// Values of parameters may be changed in place (optimizers, checkpoint loading).
    Tensor<T>& mutable_value() const;
    /// dL/d(this), read without side effects. UsageError when it does not require a gradient, when no
    /// gradient reached it (has_grad() is false: it does not influence the last backward's output, or
    /// zero_grad forgot it), or when backward released it (Tape::set_release_intermediate_gradients).
    const Tensor<T>& grad() const;
    /// A parameter's gradient, writable in place: what an optimizer, gradient clipping or an all-reduce
    /// changes. After the call the gradient is live (zeros if none had reached the parameter). UsageError
    /// unless this is a parameter.
    Tensor<T>& mutable_grad() const;
    bool has_grad() const;
    bool requires_grad() const;
    bool is_parameter() const;

    Shape shape() const;
    std::size_t rows() const { return shape()[0]; }
    std::size_t cols() const { return shape()[1]; }
    std::size_t size() const { return rows() * cols(); }
    /// The value of a 1×1 variable.
    T item() const;

    void backward() const;
    void backward(const Tensor<T>& seed) const;

private:
    friend class Tape<T>;
    Var(Tape<T>* tape, NodeId id, std::uint32_t generation) : tape_(tape), id_(id), generation_(generation) {}
    Tape<T>* tape_ = nullptr;
    NodeId id_ = 0;
    std::uint32_t generation_ = 0;  ///< 0 for parameters, which outlive steps
};

template <class T>
class Tape {
public:
    Tape() = default;
    Tape(const Tape&) = delete;
    Tape& operator=(const Tape&) = delete;

    // ── Leaves ──
    /// A parameter: persists across steps, requires a gradient, accumulates it until zero_grad.
    Var<T> parameter(Tensor<T> value);
    /// A step leaf: an input of this step, with or without a gradient.
    Var<T> variable(const Tensor<T>& value, bool requires_grad = true);
    Var<T> constant(const Tensor<T>& value) { return variable(value, false); }
    /// A tensor of another element type (Tape<float>::parameter(Tensor<double>)) does not convert silently:
    /// convert it explicitly, e.g.\ parameter(Tensor<float>(x)).
    template <class U>
        requires(!std::is_same_v<U, T>)
    Var<T> parameter(const Tensor<U>&) = delete;
    template <class U>
        requires(!std::is_same_v<U, T>)
    Var<T> variable(const Tensor<U>&, bool = true) = delete;
    template <class U>
        requires(!std::is_same_v<U, T>)
    Var<T> constant(const Tensor<U>&) = delete;
    /// A step leaf holding a copy of v's value, cut off from v's graph.
    Var<T> detach(const Var<T>& v);

    // ── Backward ──
    /// Reverse loop from out to the first node. Gradients of leaves (parameters, step variables) add up
    /// across calls; gradients of intermediate nodes are recomputed by each call.
    void backward(const Var<T>& out);
    void backward(const Var<T>& out, const Tensor<T>& seed);

    // ── Steps ──
    /// Ends the step: every step handle becomes invalid; buffers are kept for the next step.
    void clear();
    /// Forget the gradients of all parameters (or of one).
    void zero_grad();
    void zero_grad(const Var<T>& parameter);

    // ── Memory of backward ──
    /// When on, backward gives an intermediate node's gradient buffer back as soon as that node's VJP has
    /// run, and later nodes of the same (and the next) backward reuse it: a step then keeps about one
    /// gradient buffer per size alive instead of one per node. Leaves (parameters, step variables) keep
    /// theirs. Reading a released gradient is a UsageError. Off by default (every gradient stays readable).
    void set_release_intermediate_gradients(bool on) { release_intermediate_gradients_ = on; }
    bool release_intermediate_gradients() const { return release_intermediate_gradients_; }

    // ── No-grad ──
    bool grad_enabled() const { return grad_enabled_; }
    void set_grad_enabled(bool on) { grad_enabled_ = on; }

    // ── Anomaly mode (see the top of this file) ──
    bool detect_anomaly() const { return detect_anomaly_; }
    void set_detect_anomaly(bool on) { detect_anomaly_ = on; }

    // ── Inspection ──
    std::size_t size() const { return n_step_; }              ///< step nodes recorded
    std::size_t num_parameters() const { return params_.size(); }
    std::uint32_t generation() const { return generation_; }
    /// Index, op, input and output shapes, bytes kept for backward, and the total.
    void print(std::ostream& os) const;
    std::string to_string() const;
    /// Graphviz DOT of the current step (parameters drawn as boxes).
    std::string to_dot() const;

    // ── For op implementers ──
    /// Validated access to the node behind a handle (throws UsageError for a cleared step's handle).
    Node<T>& node(const Var<T>& v, const char* op = "tape");
    const Node<T>& node(const Var<T>& v, const char* op = "tape") const;
    Node<T>& node(NodeId id) { return (id & kParameterBit) ? params_[id & ~kParameterBit] : steps_[id]; }
    const Node<T>& node(NodeId id) const {
        return (id & kParameterBit) ? params_[id & ~kParameterBit] : steps_[id];
    }
    Node<T>& input(const Node<T>& n, std::size_t k) { return node(n.inputs[k]); }
    /// The shape behind a handle, checked on behalf of `op` (errors name that op).
    Shape shape(const Var<T>& v, const char* op) const { return shape_of(node(v, op).value); }
    /// Starts a node: checks the handles, sets op, inputs and output shape; the caller then sets the
    /// node's attributes and calls commit(), which runs forward.
    Node<T>& push(const OpDef<T>& op, std::initializer_list<Var<T>> inputs, Shape out_shape);
    Node<T>& push(const OpDef<T>& op, std::span<const Var<T>> inputs, Shape out_shape);
    Var<T> commit(Node<T>& n);
    /// Where input k of n receives its gradient: the helpers of the VJP contract (top of this file).
    GradientOut<T> gradient_to_add(const Node<T>& n, std::size_t k) { return gradient_to_add(n.inputs[k]); }
    GradientOut<T> gradient_to_write(const Node<T>& n, std::size_t k) { return gradient_to_write(n.inputs[k]); }
    GradientOut<T> gradient_to_write_in_place(Node<T>& n, std::size_t k);
    void pass_gradient_through(Node<T>& n, std::size_t k);
    Var<T> handle(NodeId id) const;
    const char* op_name(const Node<T>& n) const;

private:
    Node<T>& next_step_node();
    /// Sizes the value buffer of the step node just taken by next_step_node; on a failed allocation
    /// (ResourceError naming `op`) the node is given back, so that nothing is recorded.
    void size_new_node(Node<T>& n, std::size_t rows, std::size_t cols, const char* op, const char* what);
    void check_handle(const Var<T>& v, const char* op) const;
    void check_forward_anomaly(const Node<T>& n) const;
    void check_backward_anomaly(const Node<T>& n) const;

    /// Deques: recording a node never moves the others, so references returned by Var::value() and
    /// Var::grad() stay valid until the step is cleared.
    std::deque<Node<T>> params_;
    std::deque<Node<T>> steps_;  ///< steps_.size() >= n_step_: nodes past n_step_ are spare buffers
    std::size_t n_step_ = 0;
    std::uint32_t generation_ = 1;
    bool grad_enabled_ = true;
    bool detect_anomaly_ = false;
    Tensor<T> unit_seed_;  ///< backward()'s 1×1 seed of 1, made on first use and kept: a step allocates nothing
    bool release_intermediate_gradients_ = false;
    std::vector<Tensor<T>> grad_pool_;  ///< released gradient buffers, reused by size
    /// Gives n a gradient buffer of its value's shape: its own, or one of the pool's of that size.
    void take_grad_buffer(Node<T>& n);
    GradientOut<T> gradient_to_add(NodeId id);
    GradientOut<T> gradient_to_write(NodeId id);
    friend class Var<T>;  // mutable_grad: a parameter's gradient, made live
};

/// Scoped no-grad: nothing recorded inside is differentiable (results are leaves without a gradient).
template <class T>
class NoGradGuard {
public:
    explicit NoGradGuard(Tape<T>& tape) : tape_(tape), previous_(tape.grad_enabled()) { tape.set_grad_enabled(false); }
    ~NoGradGuard() { tape_.set_grad_enabled(previous_); }
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    Tape<T>& tape_;
    bool previous_;
};

template <class T>
Var<T> detach(const Var<T>& v) {
    return v.tape().detach(v);
}

extern template class Tape<float>;
extern template class Tape<double>;
extern template class Var<float>;
extern template class Var<double>;
extern template struct GraphVjp<float>;
extern template struct GraphVjp<double>;

}  // namespace tapegrad
