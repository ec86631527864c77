// custom_layer: defines a gated feed-forward block declaratively (gated_ffn.hpp), trains a model built
// around it on a small real text, and verifies the block's gradients with the module gradcheck.
#include <cstdio>
#include <iostream>

#include "gated_ffn.hpp"
#include "tapegrad/nn/file_read.hpp"
#include "tapegrad/optim/optim.hpp"

using namespace tapegrad;

int main(int argc, char** argv) {
    try {
        const std::string path = argc > 1 ? argv[1] : "/usr/share/common-licenses/GPL-3";
        // a regular file of at most 64 MiB: not /dev/zero, not a FIFO that never ends
        const std::string text = read_regular_text(path, "text", std::uint64_t(64) << 20);
        if (text.size() < 1000) throw std::runtime_error(path + ": too short, need at least 1000 bytes");
        // bytes → ids over the bytes that occur
        std::vector<int> id_of(256, -1);
        std::size_t vocab = 0;
        for (unsigned char c : text)
            if (id_of[c] < 0) id_of[c] = int(vocab++);
        std::vector<std::int64_t> ids;
        for (unsigned char c : text) ids.push_back(id_of[c]);

        const std::size_t k = 4, d = 12, f = 48, batch = 128;
        Tape<float> tape;
        Generator gen(1);
        auto model = gated_model<float>(tape, vocab, k, d, f, gen);
        std::cout << model->summary();
        Adam<float> adam(model->named_parameters(), {.lr = 3e-3});
        std::vector<std::int64_t> contexts(batch * k), targets(batch);
        for (int step = 1; step <= 400; ++step) {
            for (std::size_t i = 0; i < batch; ++i) {
                const std::size_t p = std::size_t(gen.below(ids.size() - 1));
                for (std::size_t j = 0; j < k; ++j) {
                    const std::size_t back = k - 1 - j;
                    contexts[i * k + j] = p >= back ? ids[p - back] : std::int64_t(vocab);  // vocab pads
                }
                targets[i] = ids[p + 1];
            }
            adam.zero_grad();
            auto loss = cross_entropy(model->forward_tokens(TokenInput{contexts, k}), targets);
            loss.backward();
            adam.step();
            if (step % 50 == 0) std::printf("step %3d  loss %.4f\n", step, double(loss.item()));
            tape.clear();
        }

        // The block's gradients, checked in double on a small copy of the model.
        Tape<double> dtape;
        Generator dgen(2);
        auto small = gated_model<double>(dtape, 5, 2, 3, 4, dgen);
        const std::vector<std::int64_t> c = {5, 1, 1, 1, 1, 3, 3, 0}, t = {1, 3, 0, 2};  // repeated ids, padding
        const GradcheckReport report =
            gradcheck_module(*small, [&](auto& m) { return cross_entropy(m(TokenInput{c, 2}), t); });
        std::cout << "module gradcheck of a model with a GatedFFN block:\n" << report;
        return report ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "custom_layer: " << e.what() << "\n";
        return 1;
    }
}
