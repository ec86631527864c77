#include "tapegrad/autodiff/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <ostream>
#include <sstream>

#include "tapegrad/autodiff/grad.hpp"
#include "tapegrad/autodiff/ops/shape.hpp"

namespace tapegrad {
namespace {

// Jacobians of one output with respect to each input: jac[i] is outputs × size(input i), row-major.
using Jacobians = std::vector<std::vector<double>>;

struct InputInfo {
    std::string name;
    Shape shape;
};

// Compares analytic and numeric Jacobians element by element and keeps the worst entries.
GradcheckReport compare(const Jacobians& analytic, const Jacobians& numeric, const std::vector<InputInfo>& inputs,
                        std::size_t outputs, const GradcheckOptions& opt) {
    GradcheckReport report;
    std::vector<std::pair<double, GradcheckEntry>> ranked;  // (share of the tolerance used, entry)
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const std::size_t size = inputs[i].shape[0] * inputs[i].shape[1];
        for (std::size_t o = 0; o < outputs; ++o)
            for (std::size_t j = 0; j < size; ++j) {
                const double a = analytic[i][o * size + j], n = numeric[i][o * size + j];
                const double abs_err = std::abs(a - n);
                const double rel_err = abs_err / std::max(std::abs(n), 1e-300);
                // How much of its tolerance an element uses: above 1 fails (NaN fails too).
                const double used = abs_err / (opt.atol + opt.rtol * std::abs(n));
                const bool failed = !(used <= 1.0);
                ++report.checked;
                report.max_abs_error = std::max(report.max_abs_error, abs_err);
                if (n != 0.0 || a != 0.0) report.max_rel_error = std::max(report.max_rel_error, rel_err);
                if (failed) report.passed = false;
                GradcheckEntry e{i, inputs[i].name, j / inputs[i].shape[1], j % inputs[i].shape[1], o, a, n, abs_err,
                                 rel_err, failed};
                ranked.emplace_back(std::isnan(used) ? INFINITY : used, std::move(e));
            }
    }
    const std::size_t keep = std::min(opt.max_reported, ranked.size());
    std::partial_sort(ranked.begin(), ranked.begin() + std::ptrdiff_t(keep), ranked.end(),
                      [](const auto& x, const auto& y) { return x.first > y.first; });
    for (std::size_t k = 0; k < keep; ++k) report.worst.push_back(ranked[k].second);
    return report;
}

std::vector<double> flat(const Tensor<double>& t) { return std::vector<double>(t.begin(), t.end()); }

}  // namespace

GradcheckReport gradcheck(const GradcheckTarget& target, const GradcheckOptions& opt) {
    std::vector<InputInfo> info;
    for (std::size_t i = 0; i < target.inputs.size(); ++i)
        info.push_back({i < target.names.size() ? target.names[i] : std::string("input ").append(std::to_string(i)),
                        shape_of(*target.inputs[i])});

    // Numeric Jacobian: two evaluations per input element.
    std::vector<double> base = flat(target.evaluate().value());
    const std::size_t outputs = base.size();
    Jacobians numeric(info.size()), analytic(info.size());
    for (std::size_t i = 0; i < info.size(); ++i) {
        Tensor<double>& x = *target.inputs[i];
        const std::size_t size = x.size();
        numeric[i].assign(outputs * size, 0.0);
        for (std::size_t j = 0; j < size; ++j) {
            const double saved = x.data()[j];
            x.data()[j] = saved + opt.eps;
            const std::vector<double> plus = flat(target.evaluate().value());
            x.data()[j] = saved - opt.eps;
            const std::vector<double> minus = flat(target.evaluate().value());
            x.data()[j] = saved;
            for (std::size_t o = 0; o < outputs; ++o) numeric[i][o * size + j] = (plus[o] - minus[o]) / (2 * opt.eps);
        }
    }

    // Analytic Jacobian: one backward per output element, seeded with e_o.
    for (std::size_t i = 0; i < info.size(); ++i) analytic[i].assign(outputs * target.inputs[i]->size(), 0.0);
    for (std::size_t o = 0; o < outputs; ++o) {
        target.reset_gradients();
        Var<double> out = target.evaluate();
        if (!out.requires_grad()) continue;  // constant in every input: the analytic Jacobian is zero
        Tensor<double> seed(out.value().shape(), 0.0);
        seed.data()[o] = 1.0;
        out.backward(seed);
        for (std::size_t i = 0; i < info.size(); ++i) {
            const Tensor<double> g = target.gradient(i);
            std::copy(g.begin(), g.end(), analytic[i].begin() + std::ptrdiff_t(o * g.size()));
        }
    }
    return compare(analytic, numeric, info, outputs, opt);
}

GradcheckReport gradcheck(const GradcheckFunction& f, const std::vector<Tensor<double>>& inputs,
                          const GradcheckOptions& opt) {
    Tape<double> tape;
    std::vector<Tensor<double>> values = inputs;
    std::vector<Var<double>> vars;
    GradcheckTarget target;
    for (auto& v : values) target.inputs.push_back(&v);
    target.evaluate = [&]() {
        tape.clear();
        vars.clear();
        for (const auto& v : values) vars.push_back(tape.variable(v));
        return f(vars);
    };
    target.reset_gradients = [] {};  // evaluate() starts a new step, whose leaves have no gradient yet
    target.gradient = [&](std::size_t i) { return gradient_or_zeros(vars[i]); };
    return gradcheck(target, opt);
}

Tensor<double> gradient_or_zeros(const Var<double>& v) {
    return v.has_grad() ? Tensor<double>(v.grad()) : Tensor<double>(v.shape(), 0.0);
}

GradcheckReport gradcheck_nodes(const GradcheckFunction& f, const std::vector<Tensor<double>>& inputs,
                                const GradcheckOptions& opt) {
    Tape<double> tape;
    std::vector<Var<double>> vars;
    for (const auto& v : inputs) vars.push_back(tape.variable(v));
    f(vars);

    GradcheckReport total;
    for (std::size_t idx = 0; idx < tape.size(); ++idx) {
        Node<double>& node = tape.node(NodeId(idx));
        if (node.op == nullptr) continue;  // leaves and results that need no gradient
        // Distinct inputs that need a gradient (x·x lists x twice: its VJP adds both uses into one buffer).
        std::vector<NodeId> ins;
        for (NodeId id : node.inputs)
            if (tape.node(id).requires_grad && std::find(ins.begin(), ins.end(), id) == ins.end()) ins.push_back(id);
        std::vector<InputInfo> info;
        for (NodeId id : ins) {
            info.push_back({node_label(id).append(" (").append(tape.op_name(tape.node(id))).append(")"),
                            shape_of(tape.node(id).value)});
        }
        const std::size_t outputs = node.value.size();
        Jacobians analytic(ins.size()), numeric(ins.size());

        // Analytic: this node's VJP alone, seeded with e_o, run the three ways of the VJP contract (tape.hpp).
        const auto seed = [&](std::size_t o) {
            node.grad.resize(node.value.shape());
            std::fill(node.grad.begin(), node.grad.end(), 0.0);
            node.grad.data()[o] = 1.0;
            node.grad_state = GradState::live;
        };
        // Compares what the VJP left in each input's gradient, minus `before`, with the fresh run's result.
        const auto check_path = [&](std::size_t o, const std::function<double(std::size_t)>& before, const char* path,
                                    const char* hint) -> GradcheckReport {
            for (std::size_t i = 0; i < ins.size(); ++i) {
                const Node<double>& in = tape.node(ins[i]);
                const std::size_t size = in.value.size();
                for (std::size_t j = 0; j < size; ++j) {
                    const double left = in.grad_live() && in.grad.size() == size ? in.grad.data()[j] : 0.0;
                    const double added = left - before(j);
                    const double alone = analytic[i][o * size + j];
                    if (std::abs(added - alone) > 1e-9 * (1.0 + std::abs(alone)) || std::isnan(added)) {
                        GradcheckReport r;
                        r.passed = false;
                        r.has_failed_node = true;
                        r.failed_node = idx;
                        r.failed_op = tape.op_name(node);
                        std::ostringstream msg;
                        msg << path << ", at element " << j << " of " << info[i].name << " (seed at output " << o
                            << ") the VJP contributed " << added << " where onto fresh gradients it gives " << alone
                            << " (" << hint << ")";
                        r.path_error = msg.str();
                        return r;
                    }
                }
            }
            return {};
        };
        const auto pattern = [](std::size_t j) { return 0.25 + double(j) / 1024.0; };
        for (std::size_t i = 0; i < ins.size(); ++i) analytic[i].assign(outputs * tape.node(ins[i]).value.size(), 0.0);
        for (std::size_t o = 0; o < outputs; ++o) {
            // 1. Onto fresh gradients (no gradient yet: a writer assigns).
            for (NodeId id : ins) tape.node(id).grad_state = GradState::none;
            seed(o);
            node.op->vjp(tape, node);
            for (std::size_t i = 0; i < ins.size(); ++i) {
                const Node<double>& in = tape.node(ins[i]);
                if (in.grad_live()) std::copy(in.grad.begin(), in.grad.end(), analytic[i].begin() + std::ptrdiff_t(o * in.value.size()));
            }
            // 2. Onto gradients that already hold a value (a pattern p_j = 0.25 + j/1024): it must add.
            for (NodeId id : ins) {
                Node<double>& in = tape.node(id);
                in.grad.resize(in.value.shape());
                for (std::size_t j = 0; j < in.grad.size(); ++j) in.grad.data()[j] = pattern(j);
                in.grad_state = GradState::live;
            }
            seed(o);
            node.op->vjp(tape, node);
            if (GradcheckReport r = check_path(o, pattern, "onto a gradient already holding 0.25 + j/1024",
                                               "it must add, not overwrite");
                !r)
                return r;
            // 3. With intermediate gradients released, as in a training step: the first write may take the
            // node's own gradient buffer (a hand-over), whose old contents are NaN here, as are the inputs'.
            for (NodeId id : ins) {
                Node<double>& in = tape.node(id);
                std::fill(in.grad.begin(), in.grad.end(), std::nan(""));
                in.grad_state = GradState::none;
            }
            seed(o);
            tape.set_release_intermediate_gradients(true);
            try {
                node.op->vjp(tape, node);
            } catch (...) {
                tape.set_release_intermediate_gradients(false);
                throw;
            }
            tape.set_release_intermediate_gradients(false);
            if (GradcheckReport r = check_path(o, [](std::size_t) { return 0.0; }, "with intermediate gradients released",
                                               "after a hand-over, n.grad holds another buffer: read dy through a "
                                               "pointer taken before, and each element before writing it");
                !r)
                return r;
        }
        // Numeric: this node's forward alone, on perturbed inputs.
        for (std::size_t i = 0; i < ins.size(); ++i) {
            Tensor<double>& x = tape.node(ins[i]).value;
            numeric[i].assign(outputs * x.size(), 0.0);
            for (std::size_t j = 0; j < x.size(); ++j) {
                const double saved = x.data()[j];
                x.data()[j] = saved + opt.eps;
                node.op->forward(tape, node);
                const std::vector<double> plus = flat(node.value);
                x.data()[j] = saved - opt.eps;
                node.op->forward(tape, node);
                const std::vector<double> minus = flat(node.value);
                x.data()[j] = saved;
                for (std::size_t o = 0; o < outputs; ++o) numeric[i][o * x.size() + j] = (plus[o] - minus[o]) / (2 * opt.eps);
            }
        }
        node.op->forward(tape, node);  // restore the value and whatever the op saved

        GradcheckReport r = compare(analytic, numeric, info, outputs, opt);
        total.checked += r.checked;
        total.max_abs_error = std::max(total.max_abs_error, r.max_abs_error);
        total.max_rel_error = std::max(total.max_rel_error, r.max_rel_error);
        if (!r.passed) {
            r.checked = total.checked;
            r.has_failed_node = true;
            r.failed_node = idx;
            r.failed_op = tape.op_name(node);
            return r;
        }
    }
    return total;
}

GradcheckReport gradgradcheck(const GradcheckFunction& f, const std::vector<Tensor<double>>& inputs,
                              const GradcheckOptions& opt) {
    Tape<double> tape;
    // The seed: f's output shape, a fixed pattern of values in [0.5, 1.5) (no zeros, no symmetry).
    Shape out_shape{};
    {
        std::vector<Var<double>> x;
        for (const auto& v : inputs) x.push_back(tape.variable(v));
        out_shape = f(x).shape();
        tape.clear();
    }
    Tensor<double> seed(out_shape);
    for (std::size_t j = 0; j < seed.size(); ++j) seed.data()[j] = 0.5 + std::fmod(0.618033988749895 * double(j + 1), 1.0);

    std::vector<Tensor<double>> values = inputs;
    values.push_back(seed);
    std::vector<Var<double>> vars;
    // h(x, v): each input's gradient (seeded with v, through the graph rules), flattened, side by side.
    const auto gradients = [&](bool create_graph) {
        tape.clear();
        vars.clear();
        for (const auto& v : values) vars.push_back(tape.variable(v));
        const std::vector<Var<double>> x(vars.begin(), vars.end() - 1);
        const Var<double> y = f(x);
        if (!y.requires_grad()) {  // constant in every input: every gradient is zero
            std::vector<Var<double>> zeros;
            for (const auto& xi : x) zeros.push_back(tape.constant(Tensor<double>(xi.shape(), 0.0)));
            return zeros;
        }
        return grad(y, x, vars.back(), {.create_graph = create_graph});
    };
    const auto flat_side_by_side = [&](const std::vector<Var<double>>& gs) {
        std::vector<Var<double>> rows;
        for (const auto& g : gs) rows.push_back(reshape(g, Shape{1, g.size()}));
        return concat_cols(rows);
    };

    // First order: the graph rules' gradient equals the fast VJPs'.
    std::vector<Tensor<double>> fast;
    for (const auto& g : gradients(false)) fast.push_back(g.value());
    const std::vector<Var<double>> graph = gradients(true);
    for (std::size_t i = 0; i < graph.size(); ++i)
        for (std::size_t j = 0; j < fast[i].size(); ++j) {
            const double a = graph[i].value().data()[j], b = fast[i].data()[j];
            if (!(std::abs(a - b) <= 1e-10 * (1.0 + std::abs(b)))) {
                GradcheckReport r;
                r.passed = false;
                std::ostringstream msg;
                msg << "the gradient graph (create_graph) of input " << i << " gives " << a << " at element " << j
                    << ", the first-order VJPs " << b << ": a graph rule disagrees with its op's VJP";
                r.path_error = msg.str();
                return r;
            }
        }

    GradcheckTarget target;
    for (auto& v : values) target.inputs.push_back(&v);
    for (std::size_t i = 0; i < inputs.size(); ++i) target.names.push_back("input " + std::to_string(i));
    target.names.push_back("seed");
    target.evaluate = [&]() { return flat_side_by_side(gradients(true)); };
    target.reset_gradients = [] {};
    target.gradient = [&](std::size_t i) { return gradient_or_zeros(vars[i]); };
    return gradcheck(target, opt);
}

std::string GradcheckReport::to_string() const {
    std::ostringstream os;
    os << "gradcheck " << (passed ? "passed" : "FAILED") << ": " << checked << " gradient elements checked, max abs error "
       << max_abs_error << ", max rel error " << max_rel_error << "\n";
    if (has_failed_node) os << "  first wrong node: #" << failed_node << " '" << failed_op << "'\n";
    if (!path_error.empty()) os << "  " << path_error << "\n";
    if (!worst.empty()) os << "  worst elements:\n";
    for (const auto& e : worst) {
        char buf[320];
        std::snprintf(buf, sizeof buf, "    %-4s %s[%zu,%zu] (output %zu): analytic %.10g, numeric %.10g, abs err %.3g, rel err %.3g\n",
                      e.failed ? "FAIL" : "ok", e.input_name.c_str(), e.row, e.col, e.output, e.analytic, e.numeric,
                      e.abs_error, e.rel_error);
        os << buf;
    }
    return os.str();
}

std::ostream& operator<<(std::ostream& os, const GradcheckReport& r) { return os << r.to_string(); }

}  // namespace tapegrad
