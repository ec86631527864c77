#include "tapegrad/autodiff/ops/shape.hpp"

#include "tapegrad/autodiff/ops/linalg.hpp"
#include "tapegrad/autodiff/ops/reduce.hpp"

#include <algorithm>

namespace tapegrad {
namespace {

// reshape: y = x in row-major order;  dx += dy (same order)
template <class T>
void reshape_forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& x = t.input(n, 0).value;
    std::copy(x.begin(), x.end(), n.value.begin());
}
template <class T>
void reshape_vjp(Tape<T>& t, Node<T>& n) {
    t.pass_gradient_through(n, 0);  // the same elements in the same order: dx += dy
}
template <class T>
void reshape_vjp_graph(const GraphVjp<T>& c) {
    if (c.needed[0]) c.din[0] = reshape(c.dy, c.input(0).shape());
}
template <class T>
const OpDef<T> reshape_def{"reshape", reshape_forward<T>, reshape_vjp<T>, reshape_vjp_graph<T>};

// transpose: y[c,r] = x[r,c];  dx[r,c] += dy[c,r]
template <class T>
void transpose_forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& x = t.input(n, 0).value;
    const std::size_t R = x.shape()[0], C = x.shape()[1];
    for (std::size_t r = 0; r < R; ++r)
        for (std::size_t c = 0; c < C; ++c) n.value.data()[c * R + r] = x.data()[r * C + c];
}
template <class T>
void transpose_vjp(Tape<T>& t, Node<T>& n) {
    const GradientOut<T> gx = t.gradient_to_write(n, 0);
    if (!gx) return;
    const std::size_t R = gx.tensor->shape()[0], C = gx.tensor->shape()[1];
    for (std::size_t r = 0; r < R; ++r)
        for (std::size_t c = 0; c < C; ++c) {
            const T v = n.grad.data()[c * R + r];
            T& out = gx.data()[r * C + c];
            out = gx.add ? out + v : v;
        }
}
template <class T>
void transpose_vjp_graph(const GraphVjp<T>& c) {
    if (c.needed[0]) c.din[0] = transpose(c.dy);
}
template <class T>
const OpDef<T> transpose_def{"transpose", transpose_forward<T>, transpose_vjp<T>, transpose_vjp_graph<T>};

// concat_cols: y[r, off_k + c] = x_k[r, c];  dx_k[r, c] += dy[r, off_k + c]
template <class T>
void concat_forward(Tape<T>& t, Node<T>& n) {
    const std::size_t R = n.rows(), C = n.cols();
    std::size_t off = 0;
    for (std::size_t k = 0; k < n.inputs.size(); ++k) {
        const Tensor<T>& x = t.input(n, k).value;
        const std::size_t ck = x.shape()[1];
        for (std::size_t r = 0; r < R; ++r) std::copy_n(x.data() + r * ck, ck, n.value.data() + r * C + off);
        off += ck;
    }
}
template <class T>
void concat_vjp(Tape<T>& t, Node<T>& n) {
    const std::size_t R = n.rows(), C = n.cols();
    std::size_t off = 0;
    for (std::size_t k = 0; k < n.inputs.size(); ++k) {
        const std::size_t ck = t.input(n, k).cols();
        if (const GradientOut<T> gx = t.gradient_to_add(n, k))  // x | x: both parts add into one gradient
            for (std::size_t r = 0; r < R; ++r)
                for (std::size_t c = 0; c < ck; ++c) gx.data()[r * ck + c] += n.grad.data()[r * C + off + c];
        off += ck;
    }
}
// Graph rule: dx_k = slice_cols(dy, off_k, c_k), whose own rule is a concat with zero blocks.
template <class T>
void concat_vjp_graph(const GraphVjp<T>& c) {
    std::size_t off = 0;
    for (std::size_t k = 0; k < c.din.size(); ++k) {
        const std::size_t ck = c.input(k).cols();
        if (c.needed[k]) c.din[k] = slice_cols(c.dy, off, ck);
        off += ck;
    }
}
template <class T>
const OpDef<T> concat_def{"concat_cols", concat_forward<T>, concat_vjp<T>, concat_vjp_graph<T>};

// slice_cols: y[r, j] = x[r, begin + j];  dx[r, begin + j] += dy[r, j] (the other columns get nothing).
// Graph rule: dx = [0 | dy | 0], a concat with constant zero blocks (concat's rule is slice_cols again).
struct SliceAttributes {
    std::size_t begin;
};
template <class T>
void slice_forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& x = t.input(n, 0).value;
    const std::size_t R = n.rows(), C = n.cols(), X = x.shape()[1], begin = n.template attributes<SliceAttributes>().begin;
    for (std::size_t r = 0; r < R; ++r) std::copy_n(x.data() + r * X + begin, C, n.value.data() + r * C);
}
template <class T>
void slice_vjp(Tape<T>& t, Node<T>& n) {
    const GradientOut<T> gx = t.gradient_to_add(n, 0);
    if (!gx) return;
    const std::size_t R = n.rows(), C = n.cols(), X = gx.tensor->shape()[1], begin = n.template attributes<SliceAttributes>().begin;
    for (std::size_t r = 0; r < R; ++r)
        for (std::size_t j = 0; j < C; ++j) gx.data()[r * X + begin + j] += n.grad.data()[r * C + j];
}
template <class T>
void slice_vjp_graph(const GraphVjp<T>& c) {
    if (!c.needed[0]) return;
    const std::size_t begin = c.tape.node(c.node).template attributes<SliceAttributes>().begin;
    const Shape xs = c.input(0).shape();
    const std::size_t R = xs[0], width = c.dy.cols(), after = xs[1] - begin - width;
    std::vector<Var<T>> blocks;
    if (begin > 0) blocks.push_back(c.tape.constant(Tensor<T>({R, begin}, T(0))));
    blocks.push_back(c.dy);
    if (after > 0) blocks.push_back(c.tape.constant(Tensor<T>({R, after}, T(0))));
    c.din[0] = blocks.size() == 1 ? c.dy : concat_cols(blocks);
}
template <class T>
const OpDef<T> slice_def{"slice_cols", slice_forward<T>, slice_vjp<T>, slice_vjp_graph<T>};

// broadcast_to: y[r, c] = x[r or 0, c or 0] (a dimension of x is the output's or 1); dx = dy summed over the
// broadcast dimensions, in row order. Graph rule: sum(dy, 0) and/or sum(dy, 1).
template <class T>
void broadcast_forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& x = t.input(n, 0).value;
    const std::size_t R = n.rows(), C = n.cols(), xr = x.shape()[0], xc = x.shape()[1];
    T* y = n.value.data();
    for (std::size_t r = 0; r < R; ++r) {
        const T* row = x.data() + (xr == 1 ? 0 : r * xc);
        if (xc == 1) std::fill(y + r * C, y + (r + 1) * C, row[0]);
        else std::copy(row, row + C, y + r * C);
    }
}
template <class T>
void broadcast_vjp(Tape<T>& t, Node<T>& n) {
    const GradientOut<T> gx = t.gradient_to_add(n, 0);
    if (!gx) return;
    const Shape xs = shape_of(*gx.tensor);
    const std::size_t R = n.rows(), C = n.cols();
    const T* dy = n.grad.data();
    for (std::size_t r = 0; r < R; ++r) {
        T* row = gx.data() + (xs[0] == 1 ? 0 : r * xs[1]);
        if (xs[1] == 1) {
            T s = 0;
            for (std::size_t c = 0; c < C; ++c) s += dy[r * C + c];
            row[0] += s;
        } else {
            for (std::size_t c = 0; c < C; ++c) row[c] += dy[r * C + c];
        }
    }
}
template <class T>
void broadcast_vjp_graph(const GraphVjp<T>& c) {
    if (!c.needed[0]) return;
    c.din[0] = sum_to_shape(c.dy, c.input(0).shape());
}
template <class T>
const OpDef<T> broadcast_def{"broadcast_to", broadcast_forward<T>, broadcast_vjp<T>, broadcast_vjp_graph<T>};

}  // namespace

template <class T>
Var<T> slice_cols(const Var<T>& x, std::size_t begin, std::size_t count) {
    Tape<T>& t = x.tape();
    const Shape s = t.shape(x, "slice_cols");
    if (count == 0 || begin > s[1] || count > s[1] - begin)
        throw IndexError("slice_cols: columns [" + std::to_string(begin) + ", " + std::to_string(begin) + " + " +
                         std::to_string(count) + ") of a " + shape_str(s) + " tensor; expected 0 < count and begin + count <= " +
                         std::to_string(s[1]));
    Node<T>& n = t.push(slice_def<T>, {x}, Shape{s[0], count});
    n.set_attributes(SliceAttributes{begin});
    return t.commit(n);
}

template <class T>
Var<T> broadcast_to(const Var<T>& x, Shape shape) {
    Tape<T>& t = x.tape();
    const Shape s = t.shape(x, "broadcast_to");
    for (int k = 0; k < 2; ++k)
        if (s[k] != shape[k] && s[k] != 1)
            throw ShapeError("broadcast_to: cannot broadcast " + shape_str(s) + " to " + shape_str(shape) +
                             " (each dimension must be equal or 1)");
    if (s == shape) return x;
    return t.commit(t.push(broadcast_def<T>, {x}, shape));
}

template <class T>
Var<T> reshape(const Var<T>& x, Shape shape) {
    Tape<T>& t = x.tape();
    const Shape s = t.shape(x, "reshape");
    if (shape[0] * shape[1] != s[0] * s[1])
        throw ShapeError("reshape: cannot reshape " + shape_str(s) + " (" + std::to_string(s[0] * s[1]) +
                         " elements) to " + shape_str(shape) + " (" + std::to_string(shape[0] * shape[1]) + " elements)");
    return t.commit(t.push(reshape_def<T>, {x}, shape));
}

template <class T>
Var<T> transpose(const Var<T>& x) {
    Tape<T>& t = x.tape();
    const Shape s = t.shape(x, "transpose");
    return t.commit(t.push(transpose_def<T>, {x}, Shape{s[1], s[0]}));
}

template <class T>
Var<T> concat_cols(const std::vector<Var<T>>& xs) {
    if (xs.empty()) throw ShapeError("concat_cols: no tensors to concatenate");
    Tape<T>& t = xs[0].tape();
    const Shape s0 = t.shape(xs[0], "concat_cols");
    std::size_t C = 0;
    for (std::size_t k = 0; k < xs.size(); ++k) {
        const Shape sk = t.shape(xs[k], "concat_cols");
        if (sk[0] != s0[0])
            throw ShapeError("concat_cols: tensor " + std::to_string(k) + " is " + shape_str(sk) + ", expected " +
                             std::to_string(s0[0]) + " rows like tensor 0 (" + shape_str(s0) + ")");
        C += sk[1];
    }
    const std::size_t R = s0[0];
    return t.commit(t.push(concat_def<T>, std::span<const Var<T>>(xs), Shape{R, C}));
}

template Var<float> reshape(const Var<float>&, Shape);
template Var<double> reshape(const Var<double>&, Shape);
template Var<float> transpose(const Var<float>&);
template Var<float> slice_cols(const Var<float>&, std::size_t, std::size_t);
template Var<double> slice_cols(const Var<double>&, std::size_t, std::size_t);
template Var<float> broadcast_to(const Var<float>&, Shape);
template Var<double> broadcast_to(const Var<double>&, Shape);
template Var<double> transpose(const Var<double>&);
template Var<float> concat_cols(const std::vector<Var<float>>&);
template Var<double> concat_cols(const std::vector<Var<double>>&);

}  // namespace tapegrad
