// matmul: every product is one GEMM written straight into a preallocated buffer; the backward passes
// transpose *flags* to BLAS and never materialises a transposed matrix.
#include "tapegrad/autodiff/ops/linalg.hpp"

#include <xtensor-blas/xblas.hpp>

#include "tapegrad/autodiff/ops/reduce.hpp"
#include "tapegrad/autodiff/ops/shape.hpp"

#include <algorithm>

namespace tapegrad {
namespace {

// y = a · b   (n×k · k×m → n×m)
template <class T>
void matmul_forward(Tape<T>& t, Node<T>& n) {
    xt::blas::gemm(t.input(n, 0).value, t.input(n, 1).value, n.value, false, false, T(1), T(0));
}

// da += dy · bᵀ   (n×m · m×k → n×k)
// db += aᵀ · dy   (k×n · n×m → k×m)
// gradient_to_write: on a gradient's first write the GEMM assigns (beta = 0), so no buffer is zero-filled first.
template <class T>
void matmul_vjp(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& a = t.input(n, 0).value;
    const Tensor<T>& b = t.input(n, 1).value;
    if (const GradientOut<T> ga = t.gradient_to_write(n, 0)) xt::blas::gemm(n.grad, b, *ga.tensor, false, true, T(1), ga.beta());
    if (const GradientOut<T> gb = t.gradient_to_write(n, 1)) xt::blas::gemm(a, n.grad, *gb.tensor, true, false, T(1), gb.beta());
}

// Graph rule: da = dy·bᵀ, db = aᵀ·dy (matmul_nt, matmul_tn: no transpose is materialised).
template <class T>
void matmul_vjp_graph(const GraphVjp<T>& c) {
    if (c.needed[0]) c.din[0] = matmul_nt(c.dy, c.input(1));
    if (c.needed[1]) c.din[1] = matmul_tn(c.input(0), c.dy);
}

template <class T>
const OpDef<T> matmul_def{"matmul", matmul_forward<T>, matmul_vjp<T>, matmul_vjp_graph<T>};

// y = a · bᵀ   (n×k · (m×k)ᵀ → n×m)
template <class T>
void matmul_nt_forward(Tape<T>& t, Node<T>& n) {
    xt::blas::gemm(t.input(n, 0).value, t.input(n, 1).value, n.value, false, true, T(1), T(0));
}

// da += dy · b     (n×m · m×k → n×k)
// db += dyᵀ · a    (m×n · n×k → m×k)
template <class T>
void matmul_nt_vjp(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& a = t.input(n, 0).value;
    const Tensor<T>& b = t.input(n, 1).value;
    if (const GradientOut<T> ga = t.gradient_to_write(n, 0)) xt::blas::gemm(n.grad, b, *ga.tensor, false, false, T(1), ga.beta());
    if (const GradientOut<T> gb = t.gradient_to_write(n, 1)) xt::blas::gemm(n.grad, a, *gb.tensor, true, false, T(1), gb.beta());
}

// Graph rule: da = dy·b, db = dyᵀ·a.
template <class T>
void matmul_nt_vjp_graph(const GraphVjp<T>& c) {
    if (c.needed[0]) c.din[0] = matmul(c.dy, c.input(1));
    if (c.needed[1]) c.din[1] = matmul_tn(c.dy, c.input(0));
}

// y = aᵀ · b   ((k×n)ᵀ · k×m → n×m), BLAS reading a transposed.
template <class T>
void matmul_tn_forward(Tape<T>& t, Node<T>& n) {
    xt::blas::gemm(t.input(n, 0).value, t.input(n, 1).value, n.value, true, false, T(1), T(0));
}

// da += b · dyᵀ   (k×m · m×n → k×n)
// db += a · dy    (k×n · n×m → k×m)
template <class T>
void matmul_tn_vjp(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& a = t.input(n, 0).value;
    const Tensor<T>& b = t.input(n, 1).value;
    if (const GradientOut<T> ga = t.gradient_to_write(n, 0)) xt::blas::gemm(b, n.grad, *ga.tensor, false, true, T(1), ga.beta());
    if (const GradientOut<T> gb = t.gradient_to_write(n, 1)) xt::blas::gemm(a, n.grad, *gb.tensor, false, false, T(1), gb.beta());
}

// Graph rule: da = matmul_nt(b, dy), db = matmul(a, dy).
template <class T>
void matmul_tn_vjp_graph(const GraphVjp<T>& c) {
    if (c.needed[0]) c.din[0] = matmul_nt(c.input(1), c.dy);
    if (c.needed[1]) c.din[1] = matmul(c.input(0), c.dy);
}

template <class T>
const OpDef<T> matmul_tn_def{"matmul_tn", matmul_tn_forward<T>, matmul_tn_vjp<T>, matmul_tn_vjp_graph<T>};

template <class T>
const OpDef<T> matmul_nt_def{"matmul_nt", matmul_nt_forward<T>, matmul_nt_vjp<T>, matmul_nt_vjp_graph<T>};

// y = x · W + b   (n×k · k×m + 1×m → n×m): the rows of y start as b, then one GEMM with beta = 1 adds the
// product (the pass that writes b replaces the zero-fill a beta = 0 GEMM does anyway).
template <class T>
void affine_forward(Tape<T>& t, Node<T>& n) {
    const T* b = t.input(n, 2).value.data();
    const std::size_t R = n.rows(), C = n.cols();
    T* y = n.value.data();
    for (std::size_t r = 0; r < R; ++r) std::copy_n(b, C, y + r * C);
    xt::blas::gemm(t.input(n, 0).value, t.input(n, 1).value, n.value, false, false, T(1), T(1));
}

// dx += dy · Wᵀ,  dW += xᵀ · dy  (as matmul),  db += Σ_rows dy  (no copy of dy, as a separate add would make)
template <class T>
void affine_vjp(Tape<T>& t, Node<T>& n) {
    matmul_vjp(t, n);
    if (const GradientOut<T> gb = t.gradient_to_write(n, 2)) {
        const std::size_t R = n.rows(), C = n.cols();
        T* g = gb.data();
        const T* dy = n.grad.data();
        if (!gb.add) std::copy_n(dy, C, g);  // the first row assigns, the others add
        for (std::size_t r = gb.add ? 0 : 1; r < R; ++r)
            for (std::size_t c = 0; c < C; ++c) g[c] += dy[r * C + c];
    }
}

// Graph rule: as matmul's for x and W, db = Σ_rows dy.
template <class T>
void affine_vjp_graph(const GraphVjp<T>& c) {
    matmul_vjp_graph(c);
    if (c.needed[2]) c.din[2] = sum(c.dy, 0);
}

template <class T>
const OpDef<T> affine_def{"affine", affine_forward<T>, affine_vjp<T>, affine_vjp_graph<T>};

// y = c + a · b   (recorded as inputs a, b, c, as matmul's then c): y starts as c, then one GEMM with
// beta = 1 adds the product.
template <class T>
void addmm_forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& c = t.input(n, 2).value;
    std::copy(c.begin(), c.end(), n.value.begin());
    xt::blas::gemm(t.input(n, 0).value, t.input(n, 1).value, n.value, false, false, T(1), T(1));
}

// da += dy · bᵀ,  db += aᵀ · dy  (as matmul),  dc += dy
template <class T>
void addmm_vjp(Tape<T>& t, Node<T>& n) {
    matmul_vjp(t, n);
    t.pass_gradient_through(n, 2);  // last: it may hand n.grad's buffer to c
}

// Graph rule: as matmul's for a and b, dc = dy.
template <class T>
void addmm_vjp_graph(const GraphVjp<T>& c) {
    matmul_vjp_graph(c);
    if (c.needed[2]) c.din[2] = c.dy;
}

template <class T>
const OpDef<T> addmm_def{"addmm", addmm_forward<T>, addmm_vjp<T>, addmm_vjp_graph<T>};

}  // namespace

template <class T>
Var<T> affine(const Var<T>& x, const Var<T>& w, const Var<T>& b) {
    Tape<T>& t = x.tape();
    const Shape sx = t.shape(x, "affine"), sw = t.shape(w, "affine"), sb = t.shape(b, "affine");
    if (sx[1] != sw[0])
        throw ShapeError("affine: inner dimensions differ: x is " + shape_str(sx) + ", W is " + shape_str(sw) +
                         " (expected W to have " + std::to_string(sx[1]) + " rows)");
    if (sb[0] != 1 || sb[1] != sw[1])
        throw ShapeError("affine: bias is " + shape_str(sb) + ", expected 1x" + std::to_string(sw[1]));
    if (sx[0] * sx[1] == 0 || sw[1] == 0)
        throw ShapeError("affine: empty operand: x is " + shape_str(sx) + ", W is " + shape_str(sw));
    return t.commit(t.push(affine_def<T>, {x, w, b}, Shape{sx[0], sw[1]}));
}

template <class T>
Var<T> matmul(const Var<T>& a, const Var<T>& b) {
    Tape<T>& t = a.tape();
    const Shape sa = t.shape(a, "matmul"), sb = t.shape(b, "matmul");
    if (sa[1] != sb[0])
        throw ShapeError("matmul: inner dimensions differ: a is " + shape_str(sa) + ", b is " + shape_str(sb) +
                         " (expected b to have " + std::to_string(sa[1]) + " rows)");
    if (sa[0] * sa[1] == 0 || sb[1] == 0)
        throw ShapeError("matmul: empty operand: a is " + shape_str(sa) + ", b is " + shape_str(sb));
    return t.commit(t.push(matmul_def<T>, {a, b}, Shape{sa[0], sb[1]}));
}

template <class T>
Var<T> addmm(const Var<T>& c, const Var<T>& a, const Var<T>& b) {
    Tape<T>& t = a.tape();
    const Shape sc = t.shape(c, "addmm"), sa = t.shape(a, "addmm"), sb = t.shape(b, "addmm");
    if (sa[1] != sb[0])
        throw ShapeError("addmm: inner dimensions differ: a is " + shape_str(sa) + ", b is " + shape_str(sb) +
                         " (expected b to have " + std::to_string(sa[1]) + " rows)");
    if (sc != Shape{sa[0], sb[1]})
        throw ShapeError("addmm: c is " + shape_str(sc) + ", expected the product's shape " + std::to_string(sa[0]) + "x" +
                         std::to_string(sb[1]));
    if (sa[0] * sa[1] == 0 || sb[1] == 0)
        throw ShapeError("addmm: empty operand: a is " + shape_str(sa) + ", b is " + shape_str(sb));
    return t.commit(t.push(addmm_def<T>, {a, b, c}, sc));
}

template Var<float> addmm(const Var<float>&, const Var<float>&, const Var<float>&);
template Var<double> addmm(const Var<double>&, const Var<double>&, const Var<double>&);

template <class T>
Var<T> matmul_nt(const Var<T>& a, const Var<T>& b) {
    Tape<T>& t = a.tape();
    const Shape sa = t.shape(a, "matmul_nt"), sb = t.shape(b, "matmul_nt");
    if (sa[1] != sb[1])
        throw ShapeError("matmul_nt: a·bᵀ needs as many columns in b as in a: a is " + shape_str(sa) + ", b is " +
                         shape_str(sb) + " (expected b to have " + std::to_string(sa[1]) + " columns)");
    if (sa[0] * sa[1] == 0 || sb[0] == 0)
        throw ShapeError("matmul_nt: empty operand: a is " + shape_str(sa) + ", b is " + shape_str(sb));
    return t.commit(t.push(matmul_nt_def<T>, {a, b}, Shape{sa[0], sb[0]}));
}

template <class T>
Var<T> matmul_tn(const Var<T>& a, const Var<T>& b) {
    Tape<T>& t = a.tape();
    const Shape sa = t.shape(a, "matmul_tn"), sb = t.shape(b, "matmul_tn");
    if (sa[0] != sb[0])
        throw ShapeError("matmul_tn: aᵀ·b needs as many rows in b as in a: a is " + shape_str(sa) + ", b is " +
                         shape_str(sb) + " (expected b to have " + std::to_string(sa[0]) + " rows)");
    if (sa[0] * sa[1] == 0 || sb[1] == 0)
        throw ShapeError("matmul_tn: empty operand: a is " + shape_str(sa) + ", b is " + shape_str(sb));
    return t.commit(t.push(matmul_tn_def<T>, {a, b}, Shape{sa[1], sb[1]}));
}

template Var<float> matmul_tn(const Var<float>&, const Var<float>&);
template Var<double> matmul_tn(const Var<double>&, const Var<double>&);
template Var<float> matmul_nt(const Var<float>&, const Var<float>&);
template Var<double> matmul_nt(const Var<double>&, const Var<double>&);
template Var<float> matmul(const Var<float>&, const Var<float>&);
template Var<double> matmul(const Var<double>&, const Var<double>&);
template Var<float> affine(const Var<float>&, const Var<float>&, const Var<float>&);
template Var<double> affine(const Var<double>&, const Var<double>&, const Var<double>&);

}  // namespace tapegrad
