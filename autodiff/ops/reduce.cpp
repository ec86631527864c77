// sum and mean share one forward and one VJP: y = scale · Σ x over the reduced dimension(s), with
// scale = 1 (sum) or 1/count (mean). VJP: dx[r,c] += scale · dy[broadcast back to (r,c)].
// Node attributes: ReduceAttributes.
#include "tapegrad/autodiff/ops/reduce.hpp"

#include "tapegrad/autodiff/ops/elementwise.hpp"
#include "tapegrad/autodiff/ops/shape.hpp"

namespace tapegrad {
namespace {

struct ReduceAttributes {
    int axis;      // -1: all elements
    double scale;  // 1 (sum) or 1/count (mean)
};

template <class T>
void reduce_forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& x = t.input(n, 0).value;
    const std::size_t R = x.shape()[0], C = x.shape()[1];
    const auto [axis, scale_d] = n.template attributes<ReduceAttributes>();
    T* y = n.value.data();
    std::fill(n.value.begin(), n.value.end(), T(0));
    for (std::size_t r = 0; r < R; ++r)
        for (std::size_t c = 0; c < C; ++c) y[axis == -1 ? 0 : axis == 0 ? c : r] += x.data()[r * C + c];
    const T scale = T(scale_d);
    for (auto& v : n.value) v *= scale;
}

template <class T>
void reduce_vjp(Tape<T>& t, Node<T>& n) {
    const GradientOut<T> gx = t.gradient_to_add(n, 0);
    if (!gx) return;
    const std::size_t R = gx.tensor->shape()[0], C = gx.tensor->shape()[1];
    const auto [axis, scale_d] = n.template attributes<ReduceAttributes>();
    const T scale = T(scale_d);
    const T* dy = n.grad.data();
    for (std::size_t r = 0; r < R; ++r)
        for (std::size_t c = 0; c < C; ++c) gx.data()[r * C + c] += scale * dy[axis == -1 ? 0 : axis == 0 ? c : r];
}

// Graph rule: dx = broadcast_to(scale · dy, x's shape) (scaled before it is spread: one product per output).
template <class T>
void reduce_vjp_graph(const GraphVjp<T>& c) {
    if (!c.needed[0]) return;
    const double scale = c.tape.node(c.node).template attributes<ReduceAttributes>().scale;
    c.din[0] = broadcast_to(scale == 1.0 ? c.dy : mul(c.dy, scale), c.input(0).shape());
}

template <class T>
const OpDef<T> sum_def{"sum", reduce_forward<T>, reduce_vjp<T>, reduce_vjp_graph<T>};
template <class T>
const OpDef<T> mean_def{"mean", reduce_forward<T>, reduce_vjp<T>, reduce_vjp_graph<T>};

template <class T>
Var<T> record_reduce(const OpDef<T>& def, const Var<T>& x, int axis, bool is_mean) {
    Tape<T>& t = x.tape();
    const Shape s = t.shape(x, def.name);
    if (axis < -1 || axis > 1)
        throw IndexError(std::string(def.name) + ": axis " + std::to_string(axis) + " of a " + shape_str(s) +
                         " tensor; expected 0 (over rows) or 1 (over columns)");
    if (is_mean && s[0] * s[1] == 0) throw ShapeError(std::string(def.name) + ": mean of an empty " + shape_str(s) + " tensor");
    const Shape out = axis == -1 ? Shape{1, 1} : axis == 0 ? Shape{1, s[1]} : Shape{s[0], 1};
    const std::size_t count = axis == -1 ? s[0] * s[1] : s[std::size_t(axis)];
    Node<T>& n = t.push(def, {x}, out);
    n.set_attributes(ReduceAttributes{axis, is_mean ? 1.0 / double(count) : 1.0});
    return t.commit(n);
}

}  // namespace

template <class T> Var<T> sum(const Var<T>& x) { return record_reduce(sum_def<T>, x, -1, false); }
template <class T> Var<T> mean(const Var<T>& x) { return record_reduce(mean_def<T>, x, -1, true); }
template <class T> Var<T> sum(const Var<T>& x, int axis) {
    if (axis == -1) throw IndexError("sum: axis -1; expected 0 or 1 (sum(x) reduces all elements)");
    return record_reduce(sum_def<T>, x, axis, false);
}
template <class T> Var<T> mean(const Var<T>& x, int axis) {
    if (axis == -1) throw IndexError("mean: axis -1; expected 0 or 1 (mean(x) reduces all elements)");
    return record_reduce(mean_def<T>, x, axis, true);
}

template <class T> Var<T> sum_to_shape(const Var<T>& g, Shape shape) {
    const Shape gs = g.shape();
    for (int a = 0; a < 2; ++a)
        if (shape[a] != 1 && shape[a] != gs[a])
            throw ShapeError("sum_to_shape: cannot sum " + shape_str(gs) + " to " + shape_str(shape) +
                             "; each size must be 1 or the input's");
    Var<T> out = g;
    if (shape[0] == 1 && gs[0] != 1) out = sum(out, 0);
    if (shape[1] == 1 && gs[1] != 1) out = sum(out, 1);
    return out;
}

template Var<float> sum(const Var<float>&);
template Var<double> sum(const Var<double>&);
template Var<float> sum(const Var<float>&, int);
template Var<double> sum(const Var<double>&, int);
template Var<float> mean(const Var<float>&);
template Var<double> mean(const Var<double>&);
template Var<float> mean(const Var<float>&, int);
template Var<double> mean(const Var<double>&, int);
template Var<float> sum_to_shape(const Var<float>&, Shape);
template Var<double> sum_to_shape(const Var<double>&, Shape);

}  // namespace tapegrad
