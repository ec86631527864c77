// Writes checkpoints with tapegrad at 93a648c (before the generic Module base): fixtures for
// tests/nn/old_checkpoint_test.cpp.
#include <tapegrad/tapegrad.hpp>
using namespace tapegrad;
int main() {
    {
        Tape<float> tape;
        Generator gen(7);
        auto m = build_model<float>("context(3, 4) linear(16) tanh linear(vocab)", 11, tape, gen);
        save_checkpoint<float>("context_model.safetensors", *m);
    }
    {
        Tape<float> tape;
        Generator gen(8);
        auto m = build_model<float>("embed(8) position(4) repeat(2, residual(layernorm attention(2)) residual(layernorm linear(16) gelu linear(8))) layernorm tied", 11, tape, gen);
        save_checkpoint<float>("gpt_model.safetensors", *m);
    }
    {
        Tape<float> tape;
        Generator gen(9);
        auto m = build_model<float>("embed(6) linear(5, bias=false) relu linear(vocab, bias=false)", 11, tape, gen);
        save_checkpoint<float>("embed_model.safetensors", *m);
    }
}
