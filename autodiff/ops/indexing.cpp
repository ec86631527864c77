#include "tapegrad/autodiff/ops/indexing.hpp"

#include <algorithm>

#include "tapegrad/autodiff/parallel.hpp"

namespace tapegrad {
namespace {

// Node attributes: ids = token ids.
// y[k] = table[ids[k]]
template <class T>
void embedding_forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& table = t.input(n, 0).value;
    const std::size_t d = table.shape()[1];
    parallel_for(n.ids.size(), n.ids.size() * d, [&](std::size_t begin, std::size_t end) {
        for (std::size_t k = begin; k < end; ++k)
            std::copy_n(table.data() + std::size_t(n.ids[k]) * d, d, n.value.data() + k * d);
    });
}

// dtable[ids[k]] += dy[k], in the order of k (a repeated id sums its rows, always in the same order).
// Threads split the columns, not the rows: two positions with the same id never race.
template <class T>
void embedding_vjp(Tape<T>& t, Node<T>& n) {
    const GradientOut<T> gt = t.gradient_to_add(n, 0);  // a scatter: rows no id names keep their zeros
    if (!gt) return;
    const std::size_t d = n.cols();
    parallel_for(d, n.ids.size() * d, [&](std::size_t c0, std::size_t c1) {
        for (std::size_t k = 0; k < n.ids.size(); ++k) {
            T* row = gt.data() + std::size_t(n.ids[k]) * d;
            const T* dy = n.grad.data() + k * d;
            for (std::size_t j = c0; j < c1; ++j) row[j] += dy[j];
        }
    });
}

// ── embedding_scatter: embedding's VJP as an op of its own, for the graph rule (second order):
// y = S(dy), V×d, with y[v] = Σ_{k: ids[k] = v} dy[k]; its VJP is the gather again, d(dy)[k] += dY[ids[k]].
template <class T>
void scatter_forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& dy = t.input(n, 0).value;
    const std::size_t d = n.cols();
    std::fill(n.value.begin(), n.value.end(), T(0));
    for (std::size_t k = 0; k < n.ids.size(); ++k) {
        T* row = n.value.data() + std::size_t(n.ids[k]) * d;
        const T* src = dy.data() + k * d;
        for (std::size_t j = 0; j < d; ++j) row[j] += src[j];
    }
}

template <class T>
void scatter_vjp(Tape<T>& t, Node<T>& n) {
    const GradientOut<T> g = t.gradient_to_write(n, 0);
    if (!g) return;
    const std::size_t d = n.cols();
    for (std::size_t k = 0; k < n.ids.size(); ++k) {
        const T* src = n.grad.data() + std::size_t(n.ids[k]) * d;
        T* dst = g.data() + k * d;
        for (std::size_t j = 0; j < d; ++j) dst[j] = g.add ? dst[j] + src[j] : src[j];
    }
}

template <class T>
void scatter_vjp_graph(const GraphVjp<T>& c);

template <class T>
const OpDef<T> scatter_def{"embedding_scatter", scatter_forward<T>, scatter_vjp<T>, scatter_vjp_graph<T>};

template <class T>
Var<T> record_scatter(const Var<T>& dy, std::span<const std::int64_t> ids, std::size_t rows) {
    Tape<T>& t = dy.tape();
    Node<T>& n = t.push(scatter_def<T>, {dy}, Shape{rows, t.shape(dy, "embedding_scatter")[1]});
    n.ids.assign(ids.begin(), ids.end());
    return t.commit(n);
}

// Graph rules: embedding's dtable = scatter(dy); the scatter's d(dy) = embedding(dY) (the gather).
template <class T>
void embedding_vjp_graph(const GraphVjp<T>& c) {
    if (!c.needed[0]) return;
    const Node<T>& n = c.tape.node(c.node);
    c.din[0] = record_scatter(c.dy, std::span<const std::int64_t>(n.ids), c.input(0).rows());
}

template <class T>
void scatter_vjp_graph(const GraphVjp<T>& c) {
    if (c.needed[0]) c.din[0] = embedding(c.dy, std::span<const std::int64_t>(c.tape.node(c.node).ids));
}

template <class T>
const OpDef<T> embedding_def{"embedding", embedding_forward<T>, embedding_vjp<T>, embedding_vjp_graph<T>};

}  // namespace

template <class T>
Var<T> embedding(const Var<T>& table, std::span<const std::int64_t> ids) {
    Tape<T>& t = table.tape();
    const Shape s = t.shape(table, "embedding");
    for (std::size_t k = 0; k < ids.size(); ++k)
        if (ids[k] < 0 || std::size_t(ids[k]) >= s[0])
            throw IndexError("embedding: token id " + std::to_string(ids[k]) + " at position " + std::to_string(k) +
                             " is outside the vocabulary of size " + std::to_string(s[0]) + " (table is " +
                             shape_str(s) + ")");
    Node<T>& n = t.push(embedding_def<T>, {table}, Shape{ids.size(), s[1]});
    n.ids.assign(ids.begin(), ids.end());
    return t.commit(n);
}

template Var<float> embedding(const Var<float>&, std::span<const std::int64_t>);
template Var<double> embedding(const Var<double>&, std::span<const std::int64_t>);

}  // namespace tapegrad
