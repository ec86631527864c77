#include "test_util.hpp"

using namespace tapegrad;
using test::matmul_ref;
using test::random_matrix;
using test::transpose_ref;

TEST_CASE("matmul forward equals the plain product", "[linalg]") {
    Tape<double> t;
    const Tensor<double> a = random_matrix(3, 5, 1), b = random_matrix(5, 2, 2);
    test::require_close(matmul(t.variable(a), t.variable(b)).value(), matmul_ref(a, b), 1e-14);
}

TEST_CASE("gradcheck of matmul, including edge shapes", "[linalg][gradcheck]") {
    auto f = [](const auto& v) { return matmul(v[0], v[1]); };
    REQUIRE(gradcheck(f, {random_matrix(3, 4, 1), random_matrix(4, 2, 2)}));
    REQUIRE(gradcheck(f, {random_matrix(1, 1, 3), random_matrix(1, 1, 4)}));
    REQUIRE(gradcheck(f, {random_matrix(1, 4, 5), random_matrix(4, 3, 6)}));
    REQUIRE(gradcheck(f, {random_matrix(3, 1, 7), random_matrix(1, 3, 8)}));
    REQUIRE(gradcheck([](const auto& v) { return matmul(v[0], v[0]); }, {random_matrix(3, 3, 9)}));  // same input twice
}

// seed-math 2.3: h3 = E[ids], h2 = h3·W3, h1 = h2·W2, logits = h1·W1, on random matrices; the seven steps of
// the note, written with plain matrix products, against the tape's gradients.
TEST_CASE("the seven backward steps of seed-math 2.3", "[linalg][seed]") {
    const std::size_t n = 4, d = 3, f = 5, w = 6;
    Tape<double> t;
    auto h3 = t.variable(random_matrix(n, d, 1));
    auto W3 = t.parameter(random_matrix(d, f, 2));
    auto W2 = t.parameter(random_matrix(f, d, 3));
    auto W1 = t.parameter(random_matrix(d, w, 4));
    auto h2 = matmul(h3, W3);
    auto h1 = matmul(h2, W2);
    auto logits = matmul(h1, W1);
    const Tensor<double> G = random_matrix(n, w, 5);  // 1. G = dL/dlogits (any upstream gradient)
    logits.backward(G);

    const Tensor<double> dW1 = matmul_ref(transpose_ref(h1.value()), G);     // 2. dW1 = h1ᵀ·G     d×w
    const Tensor<double> dh1 = matmul_ref(G, transpose_ref(W1.value()));     // 3. dh1 = G·W1ᵀ     n×d
    const Tensor<double> dW2 = matmul_ref(transpose_ref(h2.value()), dh1);   // 4. dW2 = h2ᵀ·dh1   f×d
    const Tensor<double> dh2 = matmul_ref(dh1, transpose_ref(W2.value()));   // 5. dh2 = dh1·W2ᵀ   n×f
    const Tensor<double> dW3 = matmul_ref(transpose_ref(h3.value()), dh2);   // 6. dW3 = h3ᵀ·dh2   d×f
    const Tensor<double> dh3 = matmul_ref(dh2, transpose_ref(W3.value()));   // 7. dh3 = dh2·W3ᵀ   n×d
    test::require_close(W1.grad(), dW1, 1e-12);
    test::require_close(h1.grad(), dh1, 1e-12);
    test::require_close(W2.grad(), dW2, 1e-12);
    test::require_close(h2.grad(), dh2, 1e-12);
    test::require_close(W3.grad(), dW3, 1e-12);
    test::require_close(h3.grad(), dh3, 1e-12);
}

// seed-math 5: for any chain h(i) = h(i-1)·p(i), dp(i) = h(i-1)ᵀ·dh(i) and dh(i-1) = dh(i)·p(i)ᵀ.
TEST_CASE("chains of 1 to 6 matrices follow the general rule", "[linalg][seed]") {
    for (std::size_t x = 1; x <= 6; ++x) {
        INFO("chain of " << x << " matrices");
        Tape<double> t;
        std::vector<std::size_t> dims = {3};  // width of a (n = 4 rows), then the width after each p(i)
        for (std::size_t i = 0; i < x; ++i) dims.push_back(2 + (i * 3) % 5);
        std::vector<Var<double>> h = {t.variable(random_matrix(4, dims[0], 10))};
        std::vector<Var<double>> p;
        for (std::size_t i = 0; i < x; ++i) {
            p.push_back(t.parameter(random_matrix(dims[i], dims[i + 1], unsigned(20 + i))));
            h.push_back(matmul(h.back(), p.back()));
        }
        const Tensor<double> dz = random_matrix(4, dims[x], 99);
        h.back().backward(dz);
        // Walk back from z with the rule, exactly as the note's summary does.
        Tensor<double> dh = dz;
        for (std::size_t i = x; i-- > 0;) {
            test::require_close(p[i].grad(), matmul_ref(transpose_ref(h[i].value()), dh), 1e-12);
            dh = matmul_ref(dh, transpose_ref(p[i].value()));
            test::require_close(h[i].grad(), dh, 1e-12);
        }
    }
}

TEST_CASE("matmul errors name the shapes", "[linalg][errors]") {
    Tape<double> t;
    auto a = t.variable(random_matrix(2, 3, 1));
    auto b = t.variable(random_matrix(4, 5, 2));
    REQUIRE_THROWS_MATCHES(matmul(a, b), ShapeError,
                           Catch::Matchers::Message("matmul: inner dimensions differ: a is 2x3, b is 4x5 (expected b to have 3 rows)"));
}

TEST_CASE("matmul in float", "[linalg][float]") {
    Tape<float> t;
    auto a = t.variable(Tensor<float>{{1.f, 2.f}, {3.f, 4.f}});
    auto b = t.parameter(Tensor<float>{{5.f, 6.f}, {7.f, 8.f}});
    auto y = matmul(a, b);
    CHECK(y.value()(1, 0) == 3.f * 5.f + 4.f * 7.f);
    sum(y).backward();
    // d sum(a·b)/db[k,j] = Σ_i a[i,k]
    CHECK(b.grad()(0, 0) == 4.f);
    CHECK(b.grad()(1, 1) == 6.f);
}

TEST_CASE("affine is x·W + b in one op: value, gradients against matmul + add, gradcheck, errors", "[linalg][gradcheck]") {
    const Tensor<double> x0 = random_matrix(5, 3, 1), w0 = random_matrix(3, 4, 2), b0 = random_matrix(1, 4, 3);
    const Tensor<double> seed = random_matrix(5, 4, 4);
    Tape<double> a, r;
    auto x = a.parameter(x0), w = a.parameter(w0), b = a.parameter(b0);
    auto xr = r.parameter(x0), wr = r.parameter(w0), br = r.parameter(b0);
    auto y = affine(x, w, b);
    auto yr = matmul(xr, wr) + br;
    test::require_close(y.value(), yr.value(), 1e-14);
    y.backward(seed);
    yr.backward(seed);
    test::require_close(x.grad(), xr.grad(), 1e-14);
    test::require_close(w.grad(), wr.grad(), 1e-14);
    test::require_close(b.grad(), br.grad(), 1e-14);
    REQUIRE(gradcheck([](const auto& v) { return affine(v[0], v[1], v[2]); }, {x0, w0, b0}));
    REQUIRE(gradcheck([](const auto& v) { return affine(v[0], v[1], v[2]); },
                      {random_matrix(1, 1, 5), random_matrix(1, 1, 6), random_matrix(1, 1, 7)}));
    // the bias used twice: its gradient adds (the accumulate path)
    REQUIRE(gradcheck([](const auto& v) { return affine(v[0], v[1], v[2]) + v[2]; }, {x0, w0, b0}));
    REQUIRE_THROWS_WITH(affine(x, w, a.parameter(random_matrix(4, 1, 8))), "affine: bias is 4x1, expected 1x4");
    REQUIRE_THROWS_WITH(affine(w, w, b), Catch::Matchers::Contains("affine: inner dimensions differ"));
}

TEST_CASE("matmul_nt is a·bᵀ without a transpose, and its gradcheck", "[linalg][gradcheck]") {
    Tape<double> t;
    const Tensor<double> a = random_matrix(3, 5, 11), b = random_matrix(4, 5, 12);
    test::require_close(matmul_nt(t.variable(a), t.variable(b)).value(), matmul_ref(a, transpose_ref(b)), 1e-14);
    auto f = [](const auto& v) { return matmul_nt(v[0], v[1]); };
    REQUIRE(gradcheck(f, {random_matrix(3, 4, 13), random_matrix(2, 4, 14)}));
    REQUIRE(gradcheck(f, {random_matrix(1, 1, 15), random_matrix(1, 1, 16)}));
    REQUIRE(gradcheck(f, {random_matrix(1, 3, 17), random_matrix(5, 3, 18)}));
    // the same matrix on both sides (x·xᵀ): both VJPs add into one gradient
    REQUIRE(gradcheck([](const auto& v) { return matmul_nt(v[0], v[0]); }, {random_matrix(3, 2, 19)}));
    REQUIRE_THROWS_WITH(matmul_nt(t.variable(a), t.variable(random_matrix(4, 3, 20))),
                        "matmul_nt: a·bᵀ needs as many columns in b as in a: a is 3x5, b is 4x3 (expected b to have 5 columns)");
}

TEST_CASE("addmm is c + a·b, and its gradcheck", "[linalg][gradcheck]") {
    Tape<double> t;
    const Tensor<double> c = random_matrix(3, 2, 21), a = random_matrix(3, 4, 22), b = random_matrix(4, 2, 23);
    Tensor<double> want = matmul_ref(a, b);
    for (std::size_t i = 0; i < want.size(); ++i) want.data()[i] += c.data()[i];
    test::require_close(addmm(t.variable(c), t.variable(a), t.variable(b)).value(), want, 1e-14);
    auto f = [](const auto& v) { return addmm(v[0], v[1], v[2]); };
    REQUIRE(gradcheck(f, {c, a, b}));
    REQUIRE(gradcheck_nodes(f, {c, a, b}));
    REQUIRE(gradcheck(f, {random_matrix(1, 1, 24), random_matrix(1, 1, 25), random_matrix(1, 1, 26)}));
    // c and a·b of the same variable (x + x·W): both uses reach x's gradient
    REQUIRE(gradcheck([](const auto& v) { return addmm(v[0], v[0], v[1]); }, {random_matrix(3, 3, 27), random_matrix(3, 3, 28)}));
    REQUIRE_THROWS_WITH(addmm(t.variable(random_matrix(3, 3, 1)), t.variable(a), t.variable(b)),
                        "addmm: c is 3x3, expected the product's shape 3x2");
}

TEST_CASE("matmul_tn is aᵀ·b: its value, gradcheck, the three VJP paths, errors", "[linalg][gradcheck]") {
    Tape<double> t;
    const Tensor<double> a = random_matrix(5, 3, 1), b = random_matrix(5, 2, 2);
    test::require_close(matmul_tn(t.variable(a), t.variable(b)).value(), matmul_ref(transpose_ref(a), b), 1e-14);
    auto f = [](const auto& v) { return matmul_tn(v[0], v[1]); };
    REQUIRE(gradcheck(f, {a, b}));
    REQUIRE(gradcheck(f, {random_matrix(1, 1, 3), random_matrix(1, 1, 4)}));
    REQUIRE(gradcheck([](const auto& v) { return matmul_tn(v[0], v[0]); }, {random_matrix(3, 3, 5)}));  // aᵀ·a
    REQUIRE(gradcheck_nodes([](const auto& v) { return tanh(matmul_tn(v[0], v[1])); }, {a, b}));
    REQUIRE_THROWS_WITH(matmul_tn(t.variable(a), t.variable(random_matrix(4, 2, 6))),
                        Catch::Matchers::Contains("matmul_tn: aᵀ·b needs as many rows in b as in a: a is 5x3, b is 4x2"));
}
