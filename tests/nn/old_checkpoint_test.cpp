// Checkpoints written before the generic Module base (tests/nn/data/old_checkpoints/README.md) still load:
// the same names, shapes and values as the same spec built today from the same seed, and the same outputs.
#include "test_util.hpp"
#include "tapegrad/nn/nn.hpp"

#include <filesystem>

using namespace tapegrad;

namespace {

struct OldCheckpoint {
    const char* file;
    const char* spec;
    std::uint64_t seed;
};

std::filesystem::path fixture(const char* file) {
    return std::filesystem::path(TAPEGRAD_TEST_DATA_DIR) / "old_checkpoints" / file;
}

}  // namespace

TEST_CASE("checkpoints written before the generic Module base load, name for name and bit for bit", "[nn][checkpoint]") {
    const OldCheckpoint cases[] = {
        {"context_model.safetensors", "context(3, 4) linear(16) tanh linear(vocab)", 7},
        {"gpt_model.safetensors",
         "embed(8) position(4) repeat(2, residual(layernorm attention(2)) residual(layernorm linear(16) gelu linear(8))) "
         "layernorm tied",
         8},
        {"embed_model.safetensors", "embed(6) linear(5, bias=false) relu linear(vocab, bias=false)", 9},
    };
    for (const auto& c : cases) {
        DYNAMIC_SECTION(c.file) {
            Tape<float> tape;
            SafetensorsFile file;
            auto loaded = load_model<float>(fixture(c.file), tape, &file);
            CHECK(loaded->spec() == c.spec);
            CHECK(loaded->vocab() == 11);
            // The file's tensors are exactly the model's parameters, under the same names.
            const auto params = loaded->named_parameters();
            std::size_t model_tensors = 0;
            for (const auto& entry : file.tensors)
                if (entry.name.rfind(kModelPrefix, 0) == 0) ++model_tensors;
            CHECK(model_tensors == params.size());
            // The same spec built today from the same seed draws the same values into the same names.
            Tape<float> fresh_tape;
            Generator gen(c.seed);
            auto fresh = build_model<float>(c.spec, 11, fresh_tape, gen);
            const auto fresh_params = fresh->named_parameters();
            REQUIRE(fresh_params.size() == params.size());
            for (std::size_t i = 0; i < params.size(); ++i) {
                INFO(params[i].name);
                CHECK(params[i].name == fresh_params[i].name);
                const Tensor<float> stored = file.at(kModelPrefix + params[i].name).to_tensor<float>();
                CHECK(test::bitwise_equal(stored, params[i].var.value()));
                CHECK(test::bitwise_equal(stored, fresh_params[i].var.value()));
            }
            // And both run the same forward (a context model through the fused context_linear op).
            const std::size_t k = loaded->context_size(), T = loaded->window_size();
            CHECK(k == fresh->context_size());
            CHECK(T == fresh->window_size());
            std::vector<std::int64_t> ids(4 * k);
            for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = std::int64_t((3 * i + 1) % 11);
            const TokenInput in{ids, k};
            CHECK(test::bitwise_equal((*loaded)(in).value(), (*fresh)(in).value()));
            if (k > 1) CHECK_THAT(tape.to_string(), Catch::Matchers::Contains("context_linear"));  // the fused op ran
        }
    }
}
