// second_order: tapegrad's second-order values for second_order_vs_pytorch.py, which recomputes them with
// torch.autograd.grad(create_graph=True) in float64 and compares. One safetensors file (F64) holding, per case,
// its inputs ("<case>.in.<name>"), the vectors of its Hessian-vector product ("<case>.v.<name>") and tapegrad's
// results ("<case>.out.<name>"), the cases being
//   mlp:     L = cross_entropy(tanh(x·W1 + b1)·W2 + b2, t);            H·v for v over (W1, b1, W2, b2)
//   ln_ce:   L = cross_entropy(gelu(layer_norm(x·W1, γ, β))·W2, t, label smoothing 0.1, one target ignored);
//            H·v over (W1, γ, β, W2)
//   penalty: P = Σ_rows (‖∇ₓD(x)‖ − 1)², D = Σ tanh(x·W1)·W2 (WGAN-GP's penalty); ∇P over (W1, W2)
// Metadata: the targets of mlp and ln_ce (comma-separated).
//
//   second_order --out FILE [--seed 1]
#include <CLI/CLI.hpp>

#include <iostream>
#include <string>
#include <vector>

#include "tapegrad/tapegrad.hpp"

using namespace tapegrad;

namespace {

struct Case {
    std::vector<std::string> names;
    std::vector<Tensor<double>> values;
};

void add_all(SafetensorsWriter& w, const std::string& prefix, const std::vector<std::string>& names,
             const std::vector<Tensor<double>>& values) {
    for (std::size_t i = 0; i < names.size(); ++i) w.add(prefix + names[i], values[i]);
}

std::string join(const std::vector<std::int64_t>& v) {
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    std::string out;
    std::uint64_t seed = 1;
    CLI::App app{"second_order: Hessian-vector products and a gradient penalty, for second_order_vs_pytorch.py"};
    app.add_option("--out", out, "the safetensors file to write")->required();
    app.add_option("--seed", seed, "seed of the inputs");
    CLI11_PARSE(app, argc, argv);
    try {
        Generator gen(seed);
        const auto normal = [&](std::size_t r, std::size_t c) { return normal_tensor<double>(r, c, 0.0, 1.0, gen); };
        SafetensorsWriter w;

        // mlp
        const std::vector<std::int64_t> t_mlp = {0, 2, 1, 1, 0, 2};
        const Tensor<double> x_mlp = normal(6, 5);
        const std::vector<std::string> mlp_names = {"W1", "b1", "W2", "b2"};
        const std::vector<Tensor<double>> mlp = {normal(5, 7), normal(1, 7), normal(7, 3), normal(1, 3)};
        const std::vector<Tensor<double>> mlp_v = {normal(5, 7), normal(1, 7), normal(7, 3), normal(1, 3)};
        const auto mlp_loss = [&](const std::vector<Var<double>>& p) {
            const Var<double> x = p[0].tape().constant(x_mlp);
            return cross_entropy(affine(tanh(affine(x, p[0], p[1])), p[2], p[3]), t_mlp);
        };
        w.add("mlp.in.x", x_mlp);
        add_all(w, "mlp.in.", mlp_names, mlp);
        add_all(w, "mlp.v.", mlp_names, mlp_v);
        add_all(w, "mlp.out.", mlp_names, hvp<double>(mlp_loss, mlp, mlp_v));

        // ln_ce
        const std::vector<std::int64_t> t_ln = {3, -100, 0, 1, 2};
        const Tensor<double> x_ln = normal(5, 4);
        const std::vector<std::string> ln_names = {"W1", "gamma", "beta", "W2"};
        Tensor<double> gamma = normal(1, 6);
        for (auto& g : gamma) g = 1.0 + 0.3 * g;
        const std::vector<Tensor<double>> ln = {normal(4, 6), gamma, normal(1, 6), normal(6, 4)};
        const std::vector<Tensor<double>> ln_v = {normal(4, 6), normal(1, 6), normal(1, 6), normal(6, 4)};
        const auto ln_loss = [&](const std::vector<Var<double>>& p) {
            const Var<double> x = p[0].tape().constant(x_ln);
            const Var<double> h = gelu(layer_norm(matmul(x, p[0]), p[1], p[2]));
            return cross_entropy(matmul(h, p[3]), t_ln, {.label_smoothing = 0.1});
        };
        w.add("ln_ce.in.x", x_ln);
        add_all(w, "ln_ce.in.", ln_names, ln);
        add_all(w, "ln_ce.v.", ln_names, ln_v);
        add_all(w, "ln_ce.out.", ln_names, hvp<double>(ln_loss, ln, ln_v));

        // penalty
        const Tensor<double> x_gp = normal(4, 5);
        const std::vector<std::string> gp_names = {"W1", "W2"};
        const std::vector<Tensor<double>> gp = {normal(5, 6), normal(6, 1)};
        Tape<double> tape;
        const Var<double> x = tape.variable(x_gp), W1 = tape.variable(gp[0]), W2 = tape.variable(gp[1]);
        const Var<double> d = sum(matmul(tanh(matmul(x, W1)), W2));
        const Var<double> gx = grad(d, {x}, {.create_graph = true})[0];
        const Var<double> penalty = sum(square(sqrt(sum(square(gx), 1)) - 1.0));
        std::vector<Tensor<double>> gp_grads;
        for (const auto& g : grad(penalty, {W1, W2})) gp_grads.push_back(g.value());
        w.add("penalty.in.x", x_gp);
        add_all(w, "penalty.in.", gp_names, gp);
        add_all(w, "penalty.out.", gp_names, gp_grads);
        w.add("penalty.out.P", Tensor<double>({1, 1}, penalty.item()));

        w.metadata["mlp.targets"] = join(t_mlp);
        w.metadata["ln_ce.targets"] = join(t_ln);
        w.save(out);
    } catch (const std::exception& e) {
        std::cerr << "second_order: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
