// Uses the installed library: a gradient by hand and a gradcheck. Exit code 0 when both agree.
#include <tapegrad/autodiff/autodiff.hpp>

#include <cstdio>

int main() {
    using namespace tapegrad;
    Tape<double> tape;
    auto w = tape.parameter(Tensor<double>{{0.5, -1.0}, {2.0, 0.25}});
    auto x = tape.constant(Tensor<double>{{1.0, 2.0}});
    auto loss = sum(tanh(matmul(x, w)));
    loss.backward();
    auto report = gradcheck([](const auto& v) { return sum(tanh(matmul(v[0], v[1]))); },
                            {Tensor<double>{{1.0, 2.0}}, w.value()});
    std::printf("loss %.6f, dw[0,0] %.6f, %s", loss.item(), w.grad()(0, 0), report.to_string().c_str());
    return report ? 0 : 1;
}
