// hvp_cost: what a Hessian-vector product costs against a gradient of the same function, measured in one run
// (pairs back to back, the order alternating, medians): the gradient is one backward (the fast VJPs); the
// HVP records the gradient with create_graph, forms g·v and runs one backward through it.
//
//   ./build/bench/second_order/hvp_cost [--repeats 41] [--threads 1] [--float]
//
// Models: an MLP (batch 256, 64 → 256 → 256 → 10, tanh, cross-entropy) and a LayerNorm network (batch 256,
// 64 → 256, LayerNorm, GELU, → 10, cross-entropy with label smoothing).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "tapegrad/tapegrad.hpp"
#include "timing.hpp"

using namespace tapegrad;

namespace {

template <class T>
struct Model {
    std::string name;
    Tape<T> tape;
    std::vector<Var<T>> params;
    std::vector<Tensor<T>> v_values;
    Tensor<T> x;
    std::vector<std::int64_t> targets;
    bool with_layer_norm = false;

    Var<T> loss() {
        const Var<T> in = tape.constant(x);
        if (!with_layer_norm)
            return cross_entropy(affine(tanh(affine(tanh(affine(in, params[0], params[1])), params[2], params[3])), params[4], params[5]),
                                 targets);
        const Var<T> h = gelu(layer_norm(matmul(in, params[0]), params[1], params[2]));
        return cross_entropy(matmul(h, params[3]), targets, {.label_smoothing = 0.1});
    }
    void gradient() {
        tape.clear();
        loss().backward();
    }
    void hessian_vector() {
        tape.clear();
        const std::vector<Var<T>> g = grad(loss(), params, {.create_graph = true});
        Var<T> gv;
        for (std::size_t i = 0; i < g.size(); ++i) {
            const Var<T> term = sum(mul(g[i], tape.constant(v_values[i])));
            gv = gv.valid() ? add(gv, term) : term;
        }
        gv.backward();
    }
};

template <class T>
void run(int repeats, const char* type) {
    Generator gen(1);
    const std::size_t n = 256, d = 64, h = 256, c = 10;
    std::vector<std::unique_ptr<Model<T>>> models;
    for (bool ln : {false, true}) {
        auto m = std::make_unique<Model<T>>();
        m->with_layer_norm = ln;
        m->name = ln ? "LayerNorm net: 256 x (64 -> 256, LayerNorm, GELU, -> 10)" : "MLP: 256 x (64 -> 256 -> 256 -> 10, tanh)";
        const std::vector<std::pair<std::size_t, std::size_t>> shapes =
            ln ? std::vector<std::pair<std::size_t, std::size_t>>{{d, h}, {1, h}, {1, h}, {h, c}}
               : std::vector<std::pair<std::size_t, std::size_t>>{{d, h}, {1, h}, {h, h}, {1, h}, {h, c}, {1, c}};
        for (auto [r, k] : shapes) {
            m->params.push_back(m->tape.parameter(normal_tensor<T>(r, k, 0.0, 1.0 / std::sqrt(double(r)), gen)));
            m->v_values.push_back(normal_tensor<T>(r, k, 0.0, 1.0, gen));
        }
        m->x = normal_tensor<T>(n, d, 0.0, 1.0, gen);
        for (std::size_t i = 0; i < n; ++i) m->targets.push_back(std::int64_t(i % c));
        models.push_back(std::move(m));
    }
    for (auto& m : models) {
        const bench::PairTimes t = bench::time_pairs(repeats, [&] { m->hessian_vector(); }, [&] { m->gradient(); });
        std::printf("%s, %s: gradient %.3f ms, Hessian-vector product %.3f ms: %.2fx a gradient\n", m->name.c_str(), type,
                    t.floor_ms, t.ours_ms, t.ratio);
    }
}

}  // namespace

int main(int argc, char** argv) {
    int repeats = 41, threads = 1;
    bool single = false;
    CLI::App app{"hvp_cost: a Hessian-vector product against a gradient of the same function"};
    app.add_option("--repeats", repeats, "timed pairs")->check(CLI::Range(1, 100000));
    app.add_option("--threads", threads, "threads for OpenBLAS and OpenMP")->check(CLI::Range(1, 256));
    app.add_flag("--float", single, "float32 instead of float64");
    CLI11_PARSE(app, argc, argv);
    set_num_threads(threads);
    std::printf("hvp_cost: %d thread(s), %d pairs, medians of the per-pair ratios\n", threads, repeats);
    if (single) run<float>(repeats, "float32");
    else run<double>(repeats, "float64");
    return 0;
}
