// matmul: every product is one GEMM written straight into a preallocated buffer; the backward passes
// transpose *flags* to BLAS and never materialises a transposed matrix.
#include "autodiff/ops/linalg.hpp"

#include <xtensor-blas/xblas.hpp>

namespace tapegrad {
namespace {

// y = a · b   (n×k · k×m → n×m)
template <class T>
void matmul_forward(Tape<T>& t, Node<T>& n) {
    xt::blas::gemm(t.input(n, 0).value, t.input(n, 1).value, n.value, false, false, T(1), T(0));
}

// da += dy · bᵀ   (n×m · m×k → n×k)
// db += aᵀ · dy   (k×n · n×m → k×m)
// On a gradient's first write the GEMM assigns (beta = 0), so no buffer is ever zero-filled first.
template <class T>
void matmul_vjp(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& a = t.input(n, 0).value;
    const Tensor<T>& b = t.input(n, 1).value;
    bool overwrite = false;
    if (Tensor<T>* ga = t.grad_sink(n, 0, &overwrite))
        xt::blas::gemm(n.grad, b, *ga, false, true, T(1), overwrite ? T(0) : T(1));
    if (Tensor<T>* gb = t.grad_sink(n, 1, &overwrite))
        xt::blas::gemm(a, n.grad, *gb, true, false, T(1), overwrite ? T(0) : T(1));
}

template <class T>
const OpDef<T> matmul_def{"matmul", matmul_forward<T>, matmul_vjp<T>};

}  // namespace

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

template Var<float> matmul(const Var<float>&, const Var<float>&);
template Var<double> matmul(const Var<double>&, const Var<double>&);

}  // namespace tapegrad
