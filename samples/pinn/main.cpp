// A physics-informed network: solves the boundary-value problem
//
//     u''(x) = −π² sin(πx)  on [0, 1],   u(0) = u(1) = 0          (exact solution u(x) = sin(πx))
//
// from the equation alone. A small tanh MLP u_θ(x) is trained with Adam on the loss
//
//     L(θ) = mean_i (u_θ''(x_i) + π² sin(πx_i))²  +  (u_θ(0)² + u_θ(1)²)
//
// over collocation points x_i. u_θ'' is the network differentiated twice with respect to its input, by the
// tape (grad with create_graph, autodiff/grad.hpp): u' = ∂Σu/∂x (each row depends on its own x only),
// u'' = ∂Σu'/∂x, both recorded, so that L's gradient in θ is one more backward through them (third order in
// all). At the end: the maximum error against sin(πx) on a fine grid, and a PNG of u and of the error.
//
//     ./build/samples/pinn/pinn [--steps 4000] [--points 64] [--width 32] [--seed 1] [--out pinn_out]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numbers>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

#include "gnuplot.hpp"
#include "tapegrad/tapegrad.hpp"

using namespace tapegrad;

namespace {

constexpr double kPi = std::numbers::pi;

// u_θ(x) for a column of points: x n×1 → n×1.
Var<double> network(Sequential<double>& net, const Var<double>& x) { return net(x); }

// The column x_i = (i + ½)/n, i = 0 … n−1: n interior points, evenly spaced.
Tensor<double> collocation_points(std::size_t n) {
    Tensor<double> x({n, 1});
    for (std::size_t i = 0; i < n; ++i) x(i, 0) = (double(i) + 0.5) / double(n);
    return x;
}

struct Settings {
    int steps = 4000;
    std::size_t points = 64;
    std::size_t width = 32;
    double lr = 5e-3;
    std::uint64_t seed = 1;
    std::filesystem::path out = "pinn_out";
};

}  // namespace

int main(int argc, char** argv) {
    Settings s;
    CLI::App app{"pinn: a physics-informed network solves u'' = -pi^2 sin(pi x), u(0) = u(1) = 0"};
    app.add_option("--steps", s.steps, "Adam steps")->check(CLI::Range(1, 1000000));
    app.add_option("--points", s.points, "collocation points in (0, 1)")->check(CLI::Range(2, 100000));
    app.add_option("--width", s.width, "width of the two hidden tanh layers")->check(CLI::Range(1, 4096));
    app.add_option("--lr", s.lr, "Adam's peak learning rate (cosine to 1/100 of it)")->check(CLI::PositiveNumber);
    app.add_option("--seed", s.seed, "initialisation seed");
    app.add_option("--out", s.out, "directory for solution.csv and solution.png");
    CLI11_PARSE(app, argc, argv);
    try {

        Tape<double> tape;
        Generator gen(s.seed);
        Sequential<double> net(tape, {std::make_shared<Linear<double>>(tape, 1, s.width, gen), std::make_shared<Tanh<double>>(tape),
                                      std::make_shared<Linear<double>>(tape, s.width, s.width, gen), std::make_shared<Tanh<double>>(tape),
                                      std::make_shared<Linear<double>>(tape, s.width, 1, gen)});
        const auto params = net.named_parameters();
        Adam<double> adam(params, AdamOptions{.lr = s.lr});
        WarmupCosineLR schedule(s.lr, 0, s.steps, s.lr / 100);

        const Tensor<double> X = collocation_points(s.points);
        Tensor<double> forcing({s.points, 1});  // π² sin(πx): u'' + π² sin(πx) = 0 is the equation
        for (std::size_t i = 0; i < s.points; ++i) forcing(i, 0) = kPi * kPi * std::sin(kPi * X(i, 0));
        const Tensor<double> boundary{{0.0}, {1.0}};

        std::cout << "pinn: u'' = -pi^2 sin(pi x) on [0, 1], u(0) = u(1) = 0; MLP 1 -> " << s.width << " -> " << s.width
                  << " -> 1 (tanh), " << net.parameter_count() << " parameters, " << s.points << " collocation points, Adam lr "
                  << s.lr << ", " << s.steps << " steps\n";
        const auto t0 = std::chrono::steady_clock::now();
        double loss_value = 0;
        for (int step = 1; step <= s.steps; ++step) {
            tape.clear();
            schedule.apply(adam);
            adam.zero_grad();
            const Var<double> x = tape.variable(X);
            const Var<double> u = network(net, x);
            const Var<double> du = grad(sum(u), {x}, {.create_graph = true})[0];    // u'(x_i), n×1
            const Var<double> d2u = grad(sum(du), {x}, {.create_graph = true})[0];  // u''(x_i), n×1
            const Var<double> residual = add(d2u, tape.constant(forcing));
            const Var<double> ub = network(net, tape.constant(boundary));
            const Var<double> loss = add(mean(square(residual)), sum(square(ub)));
            loss.backward();
            adam.step();
            schedule.step();
            loss_value = loss.item();
            if (!std::isfinite(loss_value)) {
                std::cerr << "pinn: the loss became " << loss_value << " at step " << step << "; try a smaller --lr\n";
                return 1;
            }
            if (step == 1 || step % 500 == 0 || step == s.steps)
                std::printf("step %5d  loss %.3e  residual² %.3e  boundary² %.3e\n", step, loss_value,
                            mean(square(residual)).item(), sum(square(ub)).item());
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

        // The error against sin(πx) on 1001 points of [0, 1], boundaries included.
        tape.clear();
        const std::size_t m = 1001;
        Tensor<double> grid({m, 1});
        for (std::size_t i = 0; i < m; ++i) grid(i, 0) = double(i) / double(m - 1);
        Tensor<double> u_grid;
        {
            NoGradGuard no_grad(tape);
            u_grid = network(net, tape.constant(grid)).value();
        }
        double max_error = 0;
        for (std::size_t i = 0; i < m; ++i) max_error = std::max(max_error, std::abs(u_grid(i, 0) - std::sin(kPi * grid(i, 0))));
        std::printf("trained in %.1f s: max |u - sin(pi x)| on %zu points = %.2e\n", seconds, m, max_error);

        std::filesystem::create_directories(s.out);
        {
            std::ofstream csv(s.out / "solution.csv");
            csv << "x,u,exact,error\n";
            for (std::size_t i = 0; i < m; ++i) {
                const double exact = std::sin(kPi * grid(i, 0));
                csv << grid(i, 0) << "," << u_grid(i, 0) << "," << exact << "," << u_grid(i, 0) - exact << "\n";
            }
            std::ofstream gp(s.out / "solution.gp");
            gp << "# drawn by pinn; run as: cd <this directory> && gnuplot solution.gp\n"
               << "set terminal pngcairo size 900,700 noenhanced\nset output 'solution.png'\n"
               << "set datafile separator ','\nset multiplot layout 2,1\nset grid\n"
               << "set title " << samples::gnuplot_quoted("u'' = -pi^2 sin(pi x), u(0) = u(1) = 0: the network and sin(pi x)") << "\n"
               << "plot 'solution.csv' using 1:3 every ::1 with lines lw 3 title 'exact sin(pi x)', '' using 1:2 every ::1 with lines dashtype 2 lw 2 title 'network u(x)'\n"
               << "set title 'error u(x) - sin(pi x)'\nset xlabel 'x'\n"
               << "plot 'solution.csv' using 1:4 every ::1 with lines title 'error'\nunset multiplot\n";
            csv.close();
            gp.close();
            if (!csv || !gp) throw std::runtime_error("cannot write " + (s.out / "solution.csv").string() + " and solution.gp");
        }
        const samples::PlotResult plot = samples::run_gnuplot(s.out, "solution.gp");
        if (plot.ok) std::cout << "plot: " << (s.out / "solution.png").string() << "\n";
        else std::cout << "warning: no solution.png (" << plot.message << "); " << (s.out / "solution.csv").string() << " has the data\n";
        return 0;
    } catch (const std::exception& e) {  // a bad --out, memory, a tapegrad Error: a message, not a crash
        std::cerr << "pinn: error: " << e.what() << "\n";
        return 1;
    }
}
