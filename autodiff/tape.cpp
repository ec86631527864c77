#include "tapegrad/autodiff/tape.hpp"

#include <algorithm>
#include <cstdio>
#include <ostream>
#include <sstream>

#include "tapegrad/autodiff/finite.hpp"
#include "tapegrad/autodiff/parallel.hpp"

namespace tapegrad {

std::string shape_str(const Shape& s) { return std::to_string(s[0]) + "x" + std::to_string(s[1]); }

std::string node_label(NodeId id) {
    std::string s = (id & kParameterBit) ? "p" : "#";  // built by appending: g++ 12 warns on "p" + to_string (PR 105651)
    s += std::to_string(id & ~kParameterBit);
    return s;
}

// ── Var ──────────────────────────────────────────────────────────────────────────────────────────────

template <class T>
Tape<T>& Var<T>::tape() const {
    if (tape_ == nullptr) throw UsageError("Var: empty handle (default-constructed, never assigned a value)");
    return *tape_;
}

template <class T>
const Tensor<T>& Var<T>::value() const {
    return tape().node(*this, "value").value;
}

template <class T>
Tensor<T>& Var<T>::mutable_value() const {
    auto& n = tape().node(*this, "mutable_value");
    if (!n.is_parameter) throw UsageError("mutable_value: only a parameter's value may be changed in place");
    return n.value;
}

template <class T>
const Tensor<T>& Var<T>::grad() const {
    auto& n = tape().node(*this, "grad");
    if (!n.requires_grad)
        throw UsageError(std::string("grad: this value (op '") + n.label +
                         "') does not require a gradient; create it with requires_grad or as a parameter");
    if (n.grad_state == GradState::released)
        throw UsageError(std::string("grad: the gradient of this value (op '") + n.label +
                         "') was released by backward (the tape releases intermediate gradients); turn that off to read it");
    if (n.grad_state == GradState::none)
        throw UsageError(std::string("grad: no gradient reached this value (op '") + n.label +
                         "'): it does not influence the output of the last backward, or zero_grad forgot it; "
                         "has_grad() tells");
    return n.grad;
}

template <class T>
Tensor<T>& Var<T>::mutable_grad() const {
    auto& n = tape().node(*this, "mutable_grad");
    if (!n.is_parameter) throw UsageError("mutable_grad: only a parameter's gradient may be changed in place");
    return *tape().gradient_to_add(id_).tensor;
}

template <class T>
bool Var<T>::has_grad() const {
    return tape().node(*this, "has_grad").grad_live();
}

template <class T>
bool Var<T>::requires_grad() const {
    return tape().node(*this, "requires_grad").requires_grad;
}

template <class T>
bool Var<T>::is_parameter() const {
    return tape().node(*this, "is_parameter").is_parameter;
}

template <class T>
Shape Var<T>::shape() const {
    return shape_of(value());
}

template <class T>
T Var<T>::item() const {
    const auto& v = value();
    if (v.size() != 1) throw ShapeError("item: value is " + shape_str(shape_of(v)) + ", expected 1x1");
    return v(0, 0);
}

template <class T>
void Var<T>::backward() const {
    tape().backward(*this);
}

template <class T>
void Var<T>::backward(const Tensor<T>& seed) const {
    tape().backward(*this, seed);
}

// ── Tape: handles ────────────────────────────────────────────────────────────────────────────────────

template <class T>
void Tape<T>::check_handle(const Var<T>& v, const char* op) const {
    if (v.tape_ != this)
        throw UsageError(std::string(op) + ": handle belongs to " + (v.tape_ ? "another tape" : "no tape (empty handle)"));
    if (v.id_ & kParameterBit) {
        if ((v.id_ & ~kParameterBit) >= params_.size()) throw UsageError(std::string(op) + ": unknown parameter handle");
        return;
    }
    if (v.generation_ != generation_ || v.id_ >= n_step_)
        throw UsageError(std::string(op) + ": handle to node #" + std::to_string(v.id_) + " of step " +
                         std::to_string(v.generation_) + ", but that step was cleared (the tape is at step " +
                         std::to_string(generation_) + "); step values do not outlive Tape::clear()");
}

template <class T>
Node<T>& Tape<T>::node(const Var<T>& v, const char* op) {
    check_handle(v, op);
    return node(v.id_);
}

template <class T>
const Node<T>& Tape<T>::node(const Var<T>& v, const char* op) const {
    check_handle(v, op);
    return node(v.id_);
}

template <class T>
Var<T> Tape<T>::handle(NodeId id) const {
    return Var<T>(const_cast<Tape<T>*>(this), id, (id & kParameterBit) ? 0u : generation_);
}

template <class T>
const char* Tape<T>::op_name(const Node<T>& n) const {
    return n.custom ? n.custom->name.c_str() : n.label;
}

// ── Tape: leaves ─────────────────────────────────────────────────────────────────────────────────────

template <class T>
Node<T>& Tape<T>::next_step_node() {
    if (n_step_ >= kParameterBit) throw UsageError("tape: more than 2^31 nodes in one step");
    if (n_step_ == steps_.size()) steps_.emplace_back();
    Node<T>& n = steps_[n_step_];
    n.self = NodeId(n_step_++);
    // Reset the bookkeeping of a reused node; buffers keep their memory.
    n.op = nullptr;
    n.label = "leaf";
    n.inputs.clear();
    n.requires_grad = false;
    n.grad_state = GradState::none;
    n.is_parameter = false;
    n.clear_attributes();
    n.ids.clear();
    n.custom.reset();
    return n;
}

namespace {

// Resizes a node's value or gradient buffer (kept memory is reused when the size is the same; `op` is a
// const char*: a std::string of a long op name would allocate on every call). A failed
// allocation becomes a ResourceError that says which op needed how much, not a bare std::bad_alloc.
template <class T>
void resize_buffer(Tensor<T>& buffer, std::size_t rows, std::size_t cols, const char* op, const char* what) {
    try {
        buffer.resize({rows, cols});
    } catch (const std::bad_alloc&) {
        const double gb = double(rows) * double(cols) * double(sizeof(T)) / 1e9;
        std::ostringstream msg;
        msg << op << ": out of memory for its " << rows << "x" << cols << " " << what << " (" << gb << " GB)";
        throw ResourceError(msg.str());
    } catch (const std::length_error&) {
        std::ostringstream msg;
        msg << op << ": a " << rows << "x" << cols << " " << what << " is larger than any allocation can be";
        throw ResourceError(msg.str());
    }
}

}  // namespace

template <class T>
void Tape<T>::size_new_node(Node<T>& n, std::size_t rows, std::size_t cols, const char* op, const char* what) {
    try {
        resize_buffer(n.value, rows, cols, op, what);
    } catch (...) {
        --n_step_;  // a failed allocation records nothing
        throw;
    }
}

template <class T>
Var<T> Tape<T>::parameter(Tensor<T> value) {
    if (params_.size() >= kParameterBit) throw UsageError("tape: too many parameters");
    Node<T>& n = params_.emplace_back();
    n.label = "parameter";
    n.value = std::move(value);
    n.requires_grad = true;
    n.is_parameter = true;
    n.self = static_cast<NodeId>(params_.size() - 1) | kParameterBit;
    return handle(static_cast<NodeId>(params_.size() - 1) | kParameterBit);
}

template <class T>
Var<T> Tape<T>::variable(const Tensor<T>& value, bool requires_grad) {
    Node<T>& n = next_step_node();
    n.label = requires_grad ? "variable" : "constant";
    size_new_node(n, value.shape()[0], value.shape()[1], n.label, "value");
    std::copy(value.begin(), value.end(), n.value.begin());
    n.requires_grad = requires_grad && grad_enabled_;
    return handle(static_cast<NodeId>(n_step_ - 1));
}

template <class T>
Var<T> Tape<T>::detach(const Var<T>& v) {
    check_handle(v, "detach");
    Node<T>& n = next_step_node();  // may grow steps_: read v's node only after it
    const Tensor<T>& value = node(v.id_).value;
    n.label = "detach";
    size_new_node(n, value.shape()[0], value.shape()[1], n.label, "value");
    std::copy(value.begin(), value.end(), n.value.begin());
    return handle(static_cast<NodeId>(n_step_ - 1));
}

// ── Tape: recording ──────────────────────────────────────────────────────────────────────────────────

template <class T>
Node<T>& Tape<T>::push(const OpDef<T>& op, std::initializer_list<Var<T>> inputs, Shape out_shape) {
    return push(op, std::span<const Var<T>>(inputs.begin(), inputs.size()), out_shape);
}

template <class T>
Node<T>& Tape<T>::push(const OpDef<T>& op, std::span<const Var<T>> inputs, Shape out_shape) {
    for (const auto& v : inputs) check_handle(v, op.name);
    Node<T>& n = next_step_node();
    n.op = &op;
    n.label = op.name;
    for (const auto& v : inputs) n.inputs.push_back(v.id_);
    size_new_node(n, out_shape[0], out_shape[1], op.name, "output");
    return n;
}

template <class T>
Var<T> Tape<T>::commit(Node<T>& n) {
    try {
        n.op->forward(*this, n);
        if (detect_anomaly_) [[unlikely]]
            check_forward_anomaly(n);
    } catch (...) {
        --n_step_;  // a failed forward records nothing
        throw;
    }
    bool needs = false;
    if (grad_enabled_)
        for (NodeId id : n.inputs) needs = needs || node(id).requires_grad;
    n.requires_grad = needs;
    if (!needs) {
        // Nothing to differentiate: the result is a leaf, no backward is recorded.
        n.op = nullptr;
        n.inputs.clear();
    }
    return handle(n.self);
}

// ── Tape: backward ───────────────────────────────────────────────────────────────────────────────────

template <class T>
void Tape<T>::take_grad_buffer(Node<T>& n) {
    const std::size_t size = n.value.size();
    if (n.grad.size() != size)
        for (std::size_t k = 0; k < grad_pool_.size(); ++k)
            if (grad_pool_[k].size() == size) {
                std::swap(n.grad, grad_pool_[k]);  // n's old buffer (if any) takes its place in the pool
                if (grad_pool_[k].size() == 0) {
                    grad_pool_[k] = std::move(grad_pool_.back());
                    grad_pool_.pop_back();
                }
                break;
            }
    // same size: a reshape, no allocation
    resize_buffer(n.grad, n.value.shape()[0], n.value.shape()[1], n.label, "gradient");
}

// The helpers of the VJP contract (tape.hpp). A gradient that is not live (none, or released by a previous
// backward) is given a buffer on its first write: zero-filled for gradient_to_add, left as it is for the
// two writers, which assign.
template <class T>
GradientOut<T> Tape<T>::gradient_to_add(NodeId id) {
    Node<T>& n = node(id);
    if (!n.requires_grad) return {};
    if (!n.grad_live()) {
        take_grad_buffer(n);
        parallel_fill(n.grad, T(0));
        n.grad_state = GradState::live;
    }
    return {&n.grad, true, false};
}

template <class T>
GradientOut<T> Tape<T>::gradient_to_write(NodeId id) {
    Node<T>& n = node(id);
    if (!n.requires_grad) return {};
    const bool first = !n.grad_live();
    if (first) {
        take_grad_buffer(n);  // same shape as last step: keeps its memory
        n.grad_state = GradState::live;
    }
    return {&n.grad, !first, false};
}

template <class T>
GradientOut<T> Tape<T>::gradient_to_write_in_place(Node<T>& n, std::size_t k) {
    const NodeId id = n.inputs[k];
    Node<T>& in = node(id);
    if (!in.requires_grad) return {};
    if (in.value.size() != n.grad.size())
        throw ShapeError(std::string(op_name(n)) + ": an elementwise gradient for input " + std::to_string(k) + " is " +
                         shape_str(shape_of(n.grad)) + ", the input is " + shape_str(shape_of(in.value)));
    if (!in.grad_live() && release_intermediate_gradients_ && !(id & kParameterBit)) {
        std::swap(in.grad, n.grad);  // n.grad now holds the input's old buffer (if any), released with n
        // a reshape's input has another shape with as many elements: a reshape of the buffer, no allocation
        resize_buffer(in.grad, in.value.shape()[0], in.value.shape()[1], in.label, "gradient");
        in.grad_state = GradState::live;
        return {&in.grad, false, true};
    }
    return gradient_to_write(id);
}

template <class T>
void Tape<T>::pass_gradient_through(Node<T>& n, std::size_t k) {
    const T* dy = n.grad.data();
    const GradientOut<T> g = gradient_to_write_in_place(n, k);
    if (!g || g.handed_over) return;  // handed over: it holds dy already
    T* dx = g.data();
    const std::size_t size = g.tensor->size();
    if (!g.add) std::copy(dy, dy + size, dx);
    else
        for (std::size_t i = 0; i < size; ++i) dx[i] += dy[i];
}

// ── Tape: anomaly mode ───────────────────────────────────────────────────────────────────────────────

namespace {
template <class T>
std::size_t first_nonfinite_of(const Tensor<T>& t) {
    return first_nonfinite(t.data(), t.size());
}
template <class T>
std::string element_str(const Tensor<T>& t, std::size_t k) {
    const std::size_t cols = t.shape()[1];
    std::ostringstream os;
    os << t.data()[k] << " at (" << k / cols << ", " << k % cols << ")";
    return os.str();
}
}  // namespace

template <class T>
void Tape<T>::check_forward_anomaly(const Node<T>& n) const {
    const std::size_t k = first_nonfinite_of(n.value);
    if (k == n.value.size()) return;
    std::string inputs;
    for (NodeId in : n.inputs) inputs.append(inputs.empty() ? "" : ", ").append(node_label(in));
    throw AnomalyError("anomaly: forward of op '" + std::string(op_name(n)) + "' (node " + node_label(n.self) +
                           ", inputs " + inputs + ") produced " + element_str(n.value, k) + " in its " +
                           shape_str(shape_of(n.value)) + " output",
                       n.self, false);
}

template <class T>
void Tape<T>::check_backward_anomaly(const Node<T>& n) const {
    for (NodeId in : n.inputs) {
        const Node<T>& i = node(in);
        if (!i.grad_live()) continue;
        const std::size_t k = first_nonfinite_of(i.grad);
        if (k == i.grad.size()) continue;
        throw AnomalyError("anomaly: backward of op '" + std::string(op_name(n)) + "' (node " + node_label(n.self) +
                               ") produced " + element_str(i.grad, k) + " in the gradient of its input " +
                               node_label(in) + " (" + shape_str(shape_of(i.grad)) + ")",
                           n.self, true);
    }
}

template <class T>
void Tape<T>::backward(const Var<T>& out) {
    const Node<T>& n = node(out, "backward");
    if (n.value.size() != 1)
        throw UsageError("backward: output (op '" + std::string(op_name(n)) + "') is " + shape_str(shape_of(n.value)) +
                         ", not a scalar; pass a seed gradient of that shape: backward(seed)");
    if (unit_seed_.size() != 1) unit_seed_ = Tensor<T>({1, 1}, T(1));
    backward(out, unit_seed_);
}

template <class T>
void Tape<T>::backward(const Var<T>& out, const Tensor<T>& seed) {
    Node<T>& o = node(out, "backward");
    if (shape_of(seed) != shape_of(o.value))
        throw ShapeError("backward: seed gradient is " + shape_str(shape_of(seed)) + ", expected the output's shape " +
                         shape_str(shape_of(o.value)));
    if (!o.requires_grad)
        throw UsageError("backward: output (op '" + std::string(op_name(o)) +
                         "') does not require a gradient: no input of it requires one, or it was computed under no-grad");
    // Gradients of intermediate nodes belong to one backward call; leaves accumulate across calls.
    for (std::size_t i = 0; i < n_step_; ++i)
        if (steps_[i].op != nullptr) steps_[i].grad_state = GradState::none;
    if (detect_anomaly_) [[unlikely]] {
        const std::size_t k = first_nonfinite_of(seed);
        if (k < seed.size())
            throw AnomalyError("anomaly: the seed gradient of backward holds " + element_str(seed, k), out.id_, true);
    }
    Tensor<T>& g = *gradient_to_add(out.id_).tensor;
    std::transform(g.begin(), g.end(), seed.begin(), g.begin(), [](T a, T b) { return a + b; });
    if (out.id_ & kParameterBit) return;
    // The reverse loop: every node after `out` cannot contribute to it.
    for (std::size_t i = out.id_ + 1; i-- > 0;) {
        Node<T>& n = steps_[i];
        if (n.op == nullptr || !n.grad_live()) continue;
        n.op->vjp(*this, n);
        if (detect_anomaly_) [[unlikely]]
            check_backward_anomaly(n);
        if (release_intermediate_gradients_) {
            // n's gradient has reached its inputs: its buffer serves the nodes still to come.
            if (n.grad.size() > 0) grad_pool_.push_back(std::move(n.grad));  // empty if passed through
            n.grad = Tensor<T>();
            n.grad_state = GradState::released;
        }
    }
}

template <class T>
void Tape<T>::clear() {
    n_step_ = 0;
    ++generation_;
    if (generation_ == 0) generation_ = 1;  // 0 marks parameter handles
}

template <class T>
void Tape<T>::zero_grad() {
    for (auto& p : params_) p.grad_state = GradState::none;
}

template <class T>
void Tape<T>::zero_grad(const Var<T>& parameter) {
    Node<T>& n = node(parameter, "zero_grad");
    n.grad_state = GradState::none;
}

// ── Tape: inspection ─────────────────────────────────────────────────────────────────────────────────

template <class T>
void Tape<T>::print(std::ostream& os) const {
    std::size_t total = 0;
    os << "tape: " << params_.size() << " parameters, " << n_step_ << " step nodes (" << sizeof(T) * 8
       << "-bit)\n";
    os << "  node  op               inputs                         output     grad  bytes kept\n";
    auto line = [&](const std::string& id, const Node<T>& n) {
        std::string ins;
        for (NodeId in : n.inputs) {
            if (!ins.empty()) ins += ", ";
            ins += node_label(in) + ":" +
                   shape_str(shape_of(node(in).value));
        }
        char buf[256];
        std::snprintf(buf, sizeof buf, "  %-5s %-16s %-30s %-10s %-5s %zu\n", id.c_str(), op_name(n), ins.c_str(),
                      shape_str(shape_of(n.value)).c_str(), n.requires_grad ? "yes" : "no", n.bytes_kept());
        os << buf;
        total += n.bytes_kept();
    };
    for (std::size_t i = 0; i < params_.size(); ++i) line(node_label(NodeId(i) | kParameterBit), params_[i]);
    for (std::size_t i = 0; i < n_step_; ++i) line(node_label(NodeId(i)), steps_[i]);
    os << "  total bytes kept for backward: " << total << "\n";
}

template <class T>
std::string Tape<T>::to_string() const {
    std::ostringstream os;
    print(os);
    return os.str();
}

template <class T>
std::string Tape<T>::to_dot() const {
    std::ostringstream os;
    os << "digraph tape {\n  rankdir=LR;\n";
    auto name = [](NodeId id) {
        std::string s = node_label(id);
        if (s[0] == '#') s[0] = 'n';
        return s;
    };
    for (std::size_t i = 0; i < params_.size(); ++i)
        os << "  p" << i << " [shape=box, label=\"p" << i << " parameter\\n" << shape_str(shape_of(params_[i].value))
           << "\"];\n";
    for (std::size_t i = 0; i < n_step_; ++i) {
        const Node<T>& n = steps_[i];
        os << "  n" << i << " [shape=" << (n.op ? "ellipse" : "box") << ", label=\"#" << i << " " << op_name(n) << "\\n"
           << shape_str(shape_of(n.value)) << "\"];\n";
        for (NodeId in : n.inputs) os << "  " << name(in) << " -> n" << i << ";\n";
    }
    os << "}\n";
    return os.str();
}

template <class T>
Var<T> GraphVjp<T>::input(std::size_t k) const {
    return tape.handle(tape.node(node).inputs[k]);
}

template <class T>
Var<T> GraphVjp<T>::output() const {
    return tape.handle(node);
}

template struct GraphVjp<float>;
template struct GraphVjp<double>;
template class Tape<float>;
template class Tape<double>;
template class Var<float>;
template class Var<double>;

}  // namespace tapegrad
