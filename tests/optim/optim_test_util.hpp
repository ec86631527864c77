// Helpers shared by the optim tests: a two-parameter toy whose gradients follow a deterministic formula,
// state-dict comparison, and exception-message checks.
//
// The toy: parameters "layer.w" (3×4) and "layer.b" (1×4). At step s the gradient of element k of a
// parameter with value p is
//     g = p³ − ½·sin(0.37·s + 1.1·k + phase) + 0.2·cos(p·(1 + 0.1·s))
// (nonlinear in p, varying with s), and "layer.b" gets no gradient on steps s with s % 3 == 1.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "tapegrad/autodiff/autodiff.hpp"
#include "tapegrad/optim/optim.hpp"

namespace tapegrad::test {

inline double toy_grad(double p, int step, std::size_t k, double phase) {
    return p * p * p - 0.5 * std::sin(0.37 * step + 1.1 * double(k) + phase) + 0.2 * std::cos(p * (1.0 + 0.1 * step));
}

inline bool toy_b_skipped(int step) { return step % 3 == 1; }

inline constexpr double kPhaseW = 0.0;
inline constexpr double kPhaseB = 2.0;

inline Tensor<double> toy_w_init() {
    return Tensor<double>{{0.5, -0.3, 0.8, -1.1}, {0.2, 0.9, -0.6, 0.4}, {-0.7, 0.1, 0.3, 1.2}};
}
inline Tensor<double> toy_b_init() { return Tensor<double>{{0.05, -0.4, 0.6, -0.2}}; }

template <class T>
Tensor<T> cast(const Tensor<double>& t) {
    Tensor<T> out(t.shape());
    for (std::size_t k = 0; k < t.size(); ++k) out.data()[k] = T(t.data()[k]);
    return out;
}

// Makes g the gradient of parameter p the way a model does: backward of sum(p ⊙ g), whose gradient is
// exactly g (added to whatever p's gradient holds; zero it first).
template <class T>
void backward_with_grad(Tape<T>& tape, const Var<T>& p, const Tensor<T>& g) {
    sum(mul(p, tape.constant(g))).backward();
    tape.clear();
}

template <class T>
struct Toy {
    Tape<T> tape;
    Var<T> w, b;

    Toy() : Toy(toy_w_init(), toy_b_init()) {}
    Toy(const Tensor<double>& w0, const Tensor<double>& b0) {
        w = tape.parameter(cast<T>(w0));
        b = tape.parameter(cast<T>(b0));
    }
    std::vector<NamedParameter<T>> params() const { return {{"layer.w", w}, {"layer.b", b}}; }

    static Tensor<T> grad_of(const Tensor<T>& value, int step, double phase) {
        Tensor<T> g(value.shape());
        for (std::size_t k = 0; k < value.size(); ++k) g.data()[k] = T(toy_grad(double(value.data()[k]), step, k, phase));
        return g;
    }
    // Gradients of step s (after the optimizer's zero_grad).
    void backward(int step) {
        backward_with_grad(tape, w, grad_of(w.value(), step, kPhaseW));
        if (!toy_b_skipped(step)) backward_with_grad(tape, b, grad_of(b.value(), step, kPhaseB));
    }
};

// Runs steps [from, to) of the toy with an optimizer.
template <class T>
void run_toy(Toy<T>& toy, Optimizer<T>& opt, int from, int to, LrSchedule* schedule = nullptr) {
    for (int s = from; s < to; ++s) {
        if (schedule) schedule->apply(opt);
        opt.zero_grad();
        toy.backward(s);
        opt.step();
        if (schedule) schedule->step();
    }
}

// Bit-for-bit equal values.
template <class T>
void require_identical(const Tensor<T>& a, const Tensor<T>& b) {
    REQUIRE(a.shape()[0] == b.shape()[0]);
    REQUIRE(a.shape()[1] == b.shape()[1]);
    for (std::size_t k = 0; k < a.size(); ++k) {
        INFO("element " << k);
        REQUIRE(a.data()[k] == b.data()[k]);
    }
}

// Same metadata, same tensor names in the same order, bit-for-bit equal tensors.
template <class T>
void require_same_state(const StateDict<T>& a, const StateDict<T>& b) {
    REQUIRE(a.metadata == b.metadata);
    REQUIRE(a.tensors.size() == b.tensors.size());
    for (std::size_t i = 0; i < a.tensors.size(); ++i) {
        INFO("tensor " << a.tensors[i].first);
        REQUIRE(a.tensors[i].first == b.tensors[i].first);
        require_identical(a.tensors[i].second, b.tensors[i].second);
    }
}

template <class T>
const Tensor<T>& state_tensor(const StateDict<T>& s, const std::string& key) {
    for (const auto& [name, t] : s.tensors)
        if (name == key) return t;
    FAIL("no tensor " << key);
    throw;
}

// Runs f, which must throw E whose message contains every one of parts.
template <class E>
void require_throws(const std::function<void()>& f, const std::vector<std::string>& parts) {
    try {
        f();
    } catch (const E& e) {
        const std::string what = e.what();
        INFO("message: " << what);
        for (const auto& p : parts) {
            INFO("expected to contain: " << p);
            CHECK(what.find(p) != std::string::npos);
        }
        return;
    } catch (const std::exception& e) {
        FAIL("threw another exception type: " << e.what());
    }
    FAIL("did not throw");
}

inline std::vector<double> values(const Tensor<double>& t) { return {t.begin(), t.end()}; }

// The toy gradients of a whole parameter, as the scalar references see them.
inline std::vector<double> toy_grads(const std::vector<double>& p, int step, double phase) {
    std::vector<double> g(p.size());
    for (std::size_t k = 0; k < p.size(); ++k) g[k] = toy_grad(p[k], step, k, phase);
    return g;
}

// A parameter against its scalar reference.
inline void require_close(const Tensor<double>& actual, const std::vector<double>& expected) {
    REQUIRE(actual.size() == expected.size());
    for (std::size_t k = 0; k < expected.size(); ++k) {
        INFO("element " << k);
        REQUIRE(actual.data()[k] == Approx(expected[k]).epsilon(1e-12).margin(1e-14));
    }
}

// A copy of `state` with element (row, col) of tensor `key` set to x (the tensor must exist).
inline StateDict<double> with_element(const StateDict<double>& state, const std::string& key, std::size_t row,
                                      std::size_t col, double x) {
    StateDict<double> s = state;
    bool found = false;
    for (auto& [name, t] : s.tensors)
        if (name == key) {
            t(row, col) = x;
            found = true;
        }
    REQUIRE(found);
    return s;
}

}  // namespace tapegrad::test
