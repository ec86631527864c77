// The bad-input list: one row per kind of bad input, across the public API (autodiff, nn, optim) and the
// train_lm command line. Each row runs the input and names the error it must raise: the documented
// exception type and a fragment of its message. CLI rows run the train_lm binary; a non-zero exit counts
// as the error "CliFailure" and the fragment is looked for in its stderr.
//
// To add a kind: append a row to api_rows() or cli_rows(). The count is checked below (the issue asks
// for at least 30).
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <typeinfo>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "autodiff/autodiff.hpp"
#include "nn/nn.hpp"
#include "optim/optim.hpp"

using namespace tapegrad;
namespace fs = std::filesystem;

namespace {

// ── the expectation of a row ──────────────────────────────────────────────────────────────────────────

struct Expect {
    const char* type;                                // for the report
    std::function<bool(const std::exception&)> is;  // the documented type?
    std::string fragment;                            // must appear in what()
};

template <class E>
Expect expect(std::string fragment) {
    return {typeid(E).name(), [](const std::exception& e) { return dynamic_cast<const E*>(&e) != nullptr; },
            std::move(fragment)};
}

struct Row {
    std::string kind;
    std::function<void()> run;  // must throw
    Expect expected;
};

// ── fixtures ──────────────────────────────────────────────────────────────────────────────────────────

fs::path scratch_dir() {
    static const fs::path dir = [] {
        auto p = fs::temp_directory_path() / std::string("tapegrad_bad_input_").append(std::to_string(::getpid()));
        fs::create_directories(p);
        return p;
    }();
    // Removed at exit (destroyed before `dir`, which was constructed first).
    static const struct Cleanup {
        const fs::path& path;
        ~Cleanup() {
            std::error_code ec;
            fs::remove_all(path, ec);
        }
    } cleanup{dir};
    return dir;
}

fs::path write_file(const std::string& name, const std::string& bytes) {
    const fs::path p = scratch_dir() / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const char* const kSpec = "embed(4) linear(vocab)";

// A valid checkpoint of kSpec (vocab 3) in T, saved once per type.
template <class T>
fs::path valid_checkpoint() {
    static const fs::path path = [] {
        Tape<T> tape;
        Generator gen(1);
        auto model = build_model<T>(kSpec, 3, tape, gen);
        const fs::path p = scratch_dir() / (std::is_same_v<T, float> ? "f32.safetensors" : "f64.safetensors");
        save_checkpoint<T>(p, *model);
        return p;
    }();
    return path;
}

// A copy of a float checkpoint with one metadata value replaced, saved as `name`.
fs::path with_metadata(const fs::path& source, const std::string& key, const std::string& value, const std::string& name) {
    const SafetensorsFile file = load_safetensors(source);
    SafetensorsWriter writer;
    writer.metadata = file.metadata;
    writer.metadata[key] = value;
    for (const auto& entry : file.tensors) writer.add(entry.name, entry.to_tensor<float>());
    const fs::path p = scratch_dir() / name;
    writer.save(p);
    return p;
}

// Rebuilds the model a checkpoint file describes.
void rebuild_from(const fs::path& file) {
    Tape<float> tape;
    load_model<float>(file, tape);
}

// Loads a checkpoint file into a fresh float model of `spec`.
void load_into(const fs::path& file, const std::string& spec = kSpec) {
    Tape<float> tape;
    Generator gen(2);
    auto model = build_model<float>(spec, 3, tape, gen);
    load_checkpoint<float>(file, *model);
}

// A one-parameter float setup for the optimizer rows.
struct OneParameter {
    Tape<float> tape;
    Var<float> w = tape.parameter(Tensor<float>{{1.0f, 2.0f}});
    std::vector<NamedParameter<float>> params() { return {{"w", w}}; }
};

// ── the train_lm command line ─────────────────────────────────────────────────────────────────────────

struct CliFailure : std::runtime_error {
    using std::runtime_error::runtime_error;  // what(): exit status and stderr
};

// Runs train_lm with `args` (a shell word list), stdout discarded; throws CliFailure holding stderr when
// the exit status is not 0.
void train_lm(const std::string& args) {
    const fs::path err = scratch_dir() / "stderr.txt";
    const std::string cmd = std::string("OPENBLAS_NUM_THREADS=1 '").append(TAPEGRAD_TRAIN_LM).append("' ").append(args)
                                .append(" >/dev/null 2>'").append(err.string()).append("'");
    const int status = std::system(cmd.c_str());
    if (status == 0) return;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    throw CliFailure(std::string("exit status ").append(std::to_string(code)).append(": ").append(read_file(err)));
}

std::string quoted(const fs::path& p) { return std::string("'").append(p.string()).append("'"); }

// A small text corpus that trains (two splits of at least a few hundred bytes).
fs::path text_data() {
    static const fs::path p = [] {
        std::string text;
        for (int i = 0; i < 60; ++i) text += "the quick brown fox jumps over the lazy dog\n";
        return write_file("text.txt", text);
    }();
    return p;
}

// A train_lm checkpoint of the tiny model on text_data(), written once.
fs::path lm_checkpoint() {
    static const fs::path p = [] {
        const fs::path out = scratch_dir() / "lm";
        train_lm(std::string("--data ").append(quoted(text_data())).append(" --model 'embed(4) linear(vocab)' --steps 2 --batch 4 ")
                     .append("--sample-length 1 --out ").append(quoted(out)));
        return out / "checkpoint.safetensors";
    }();
    return p;
}

// A tiny training run on text_data(); the rows add what they make wrong.
std::string tiny_run(const std::string& model = "embed(4) linear(vocab)", const std::string& batch = "4",
                     const std::string& steps = "2") {
    return std::string("--data ").append(quoted(text_data())).append(" --model '").append(model).append("' --steps ")
        .append(steps).append(" --batch ").append(batch).append(" --sample-length 1 --out ").append(quoted(scratch_dir() / "run"));
}

// ── the rows ──────────────────────────────────────────────────────────────────────────────────────────

std::vector<Row> api_rows() {
    using T = float;
    return {
        {"matmul: shapes that do not chain",
         [] { Tape<T> t; matmul(t.constant(Tensor<T>({2, 3})), t.constant(Tensor<T>({4, 5}))); },
         expect<ShapeError>("matmul")},
        {"add: shapes that do not broadcast",
         [] { Tape<T> t; add(t.constant(Tensor<T>({2, 3})), t.constant(Tensor<T>({3, 2}))); },
         expect<ShapeError>("add")},
        {"reshape to another element count",
         [] { Tape<T> t; reshape(t.constant(Tensor<T>({2, 3})), Shape{4, 2}); },
         expect<ShapeError>("reshape")},
        {"sum along axis 2",
         [] { Tape<T> t; sum(t.constant(Tensor<T>({2, 3})), 2); },
         expect<IndexError>("axis")},
        {"embedding: id equal to the vocabulary size",
         [] { Tape<T> t; std::vector<std::int64_t> ids{0, 3}; embedding(t.parameter(Tensor<T>({3, 2})), ids); },
         expect<IndexError>("3")},
        {"embedding: negative id",
         [] { Tape<T> t; std::vector<std::int64_t> ids{-1}; embedding(t.parameter(Tensor<T>({3, 2})), ids); },
         expect<IndexError>("-1")},
        {"cross_entropy: target out of range",
         [] { Tape<T> t; std::vector<std::int64_t> y{0, 7}; cross_entropy(t.variable(Tensor<T>({2, 3})), y); },
         expect<IndexError>("7")},
        {"cross_entropy: negative target",
         [] { Tape<T> t; std::vector<std::int64_t> y{-2, 0}; cross_entropy(t.variable(Tensor<T>({2, 3})), y); },
         expect<IndexError>("-2")},
        {"cross_entropy: fewer targets than rows",
         [] { Tape<T> t; std::vector<std::int64_t> y{0}; cross_entropy(t.variable(Tensor<T>({2, 3})), y); },
         expect<ShapeError>("cross_entropy")},
        {"cross_entropy: empty batch",
         [] { Tape<T> t; std::vector<std::int64_t> y; cross_entropy(t.variable(Tensor<T>({0, 3})), y); },
         expect<ShapeError>("empty")},
        {"model forward: empty batch of token ids",
         [] { Tape<T> t; Generator g(1); auto m = build_model<T>(kSpec, 3, t, g); std::vector<std::int64_t> ids; m->forward(TokenInput{ids, 1}); },
         expect<ShapeError>("empty")},
        {"model forward: token id outside the vocabulary",
         [] { Tape<T> t; Generator g(1); auto m = build_model<T>(kSpec, 3, t, g); std::vector<std::int64_t> ids{5}; m->forward(TokenInput{ids, 1}); },
         expect<IndexError>("5")},
        {"Linear: input of the wrong width",
         [] { Tape<T> t; Generator g(1); Linear<T> l(t, 3, 2, g); l(t.constant(Tensor<T>({1, 4}))); },
         expect<ShapeError>("expected 3 columns")},
        {"log of a negative number",
         [] { Tape<T> t; log(t.constant(Tensor<T>{{-1.0f}})); },
         expect<DomainError>("log")},
        {"division by the scalar zero",
         [] { Tape<T> t; div(t.constant(Tensor<T>{{1.0f}}), 0.0); },
         expect<DomainError>("div")},
        {"a handle from a cleared step",
         [] { Tape<T> t; auto x = t.variable(Tensor<T>{{1.0f}}); t.clear(); exp(x); },
         expect<UsageError>("exp")},
        {"backward of a non-scalar without a seed",
         [] { Tape<T> t; t.variable(Tensor<T>({2, 2})).backward(); },
         expect<UsageError>("backward")},
        {"backward with a seed of the wrong shape",
         [] { Tape<T> t; t.variable(Tensor<T>({2, 2})).backward(Tensor<T>({3, 1})); },
         expect<ShapeError>("seed")},
        {"gradient of a constant",
         [] { Tape<T> t; t.constant(Tensor<T>{{1.0f}}).grad(); },
         expect<UsageError>("grad")},
        {"SGD: NaN learning rate",
         [] { OneParameter p; SGD<T>(p.params(), {.lr = std::nan("")}); },
         expect<DomainError>("lr")},
        {"SGD: negative learning rate",
         [] { OneParameter p; SGD<T>(p.params(), {.lr = -0.1}); },
         expect<DomainError>("lr")},
        {"Adam: NaN learning rate",
         [] { OneParameter p; Adam<T>(p.params(), {.lr = std::nan("")}); },
         expect<DomainError>("lr")},
        {"Adam: negative learning rate",
         [] { OneParameter p; Adam<T>(p.params(), {.lr = -1e-3}); },
         expect<DomainError>("lr")},
        {"Adam: learning rate set to NaN later",
         [] { OneParameter p; Adam<T> a(p.params()); a.set_lr(std::nan("")); },
         expect<DomainError>("lr")},
        {"Adam: beta1 of 1",
         [] { OneParameter p; Adam<T>(p.params(), {.beta1 = 1.0}); },
         expect<DomainError>("beta1")},
        {"optimizer with no parameters",
         [] { Adam<T>({}); },
         expect<UsageError>("empty parameter list")},
        {"optimizer step on a NaN gradient",
         [] { OneParameter p; Adam<T> a(p.params()); (p.w * std::nan("")).backward(Tensor<T>({1, 2}, 1.0f)); a.step(); },
         expect<DomainError>("nan")},
        {"clip_grad_norm with a negative max norm",
         [] { OneParameter p; clip_grad_norm(p.params(), -1.0); },
         expect<DomainError>("max_norm")},
        {"schedule: warm-up longer than the run",
         [] { WarmupCosineLR(1e-3, 10, 5, 0.0); },
         expect<DomainError>("warmup")},
        {"spec: unknown layer",
         [] { parse_spec("embed(4)"); Tape<T> t; Generator g(1); build_model<T>("embed(4) conv(3) linear(vocab)", 3, t, g); },
         expect<SpecError>("unknown layer")},
        {"spec: unbalanced parenthesis",
         [] { parse_spec("embed(4 linear(vocab)"); },
         expect<SpecError>("column")},
        {"spec: widths that do not chain",
         [] { Tape<T> t; Generator g(1); build_model<T>("embed(4) linear(5, 7) linear(vocab)", 3, t, g); },
         expect<SpecError>("does not chain")},
        {"spec: an absurd width",
         [] { Tape<T> t; Generator g(1); build_model<T>("embed(4) linear(99999999999) linear(vocab)", 3, t, g); },
         expect<SpecError>("too large")},
        {"spec: empty",
         [] { parse_spec("   "); },
         expect<SpecError>("empty spec")},
        {"checkpoint: unreadable path",
         [] { load_into(scratch_dir() / "missing.safetensors"); },
         expect<CheckpointError>("cannot open")},
        {"checkpoint: unwritable path",
         [] { Tape<T> t; Generator g(1); save_checkpoint<T>("/proc/tapegrad/x.safetensors", *build_model<T>(kSpec, 3, t, g)); },
         expect<CheckpointError>("cannot save")},
        {"checkpoint: truncated",
         [] { const auto b = read_file(valid_checkpoint<T>()); load_into(write_file("trunc.safetensors", b.substr(0, b.size() - 7))); },
         expect<CheckpointError>("trunc.safetensors")},
        {"checkpoint: corrupted header",
         [] { auto b = read_file(valid_checkpoint<T>()); b[8] = '#'; load_into(write_file("corrupt.safetensors", b)); },
         expect<CheckpointError>("not valid JSON")},
        {"checkpoint: wrong dtype (F64 file, float model)",
         [] { load_into(valid_checkpoint<double>()); },
         expect<CheckpointError>("F64")},
        {"checkpoint: another model",
         [] { load_into(valid_checkpoint<T>(), "embed(6) linear(vocab)"); },
         expect<CheckpointError>("in the checkpoint but")},
        {"checkpoint: negative vocabulary in its metadata",
         [] { rebuild_from(with_metadata(valid_checkpoint<T>(), "model.vocab", "-1", "neg_vocab.safetensors")); },
         expect<CheckpointError>("model.vocab is '-1', not a positive integer")},
        {"checkpoint: malformed spec in its metadata",
         [] { rebuild_from(with_metadata(valid_checkpoint<T>(), "model.spec", "embed(4) linear(", "bad_spec.safetensors")); },
         expect<CheckpointError>("model.spec does not build a model")},
        {"checkpoint: not a tapegrad checkpoint (format metadata)",
         [] { load_into(with_metadata(valid_checkpoint<T>(), "format", "something-else", "format.safetensors")); },
         expect<CheckpointError>("not a tapegrad checkpoint")},
        {"checkpoint: not a file at all (a directory)",
         [] { load_into(scratch_dir()); },
         expect<CheckpointError>("cannot read")},
    };
}

std::vector<Row> cli_rows() {
    const auto fails = [](std::string fragment) { return expect<CliFailure>(std::move(fragment)); };
    return {
        {"cli: zero steps", [] { train_lm("--steps 0"); }, fails("--steps: Value 0 not in range")},
        {"cli: negative steps", [] { train_lm("--steps -5"); }, fails("--steps")},
        {"cli: zero batch", [] { train_lm("--batch 0"); }, fails("--batch")},
        {"cli: NaN learning rate", [] { train_lm("--lr nan"); }, fails("lr = nan")},
        {"cli: negative learning rate", [] { train_lm("--lr -1"); }, fails("--lr")},
        {"cli: a learning rate so large that training diverges to NaN",
         [] { train_lm(tiny_run("embed(4) linear(vocab)", "8", "20").append(" --lr 1e30 --clip 0")); }, fails("Adam.step: gradient of parameter")},
        {"cli: the same divergence under --detect-anomaly names the first op that produced NaN/Inf",
         [] { train_lm(tiny_run("embed(4) linear(vocab)", "8", "20").append(" --lr 1e30 --clip 0 --detect-anomaly")); }, fails("anomaly: ")},
        {"cli: zero temperature", [] { train_lm("--temperature 0"); }, fails("--temperature")},
        {"cli: batch larger than the data",
         [] { train_lm(tiny_run("embed(4) linear(vocab)", "100000")); }, fails("larger than")},
        {"cli: empty data", [] { train_lm(std::string("--data ").append(quoted(write_file("empty.txt", "")))); },
         fails("the data is empty")},
        {"cli: binary data",
         [] { train_lm(std::string("--data ").append(quoted(write_file("binary.bin", std::string("ab\0cd\x01\xff", 7))))); },
         fails("NUL bytes")},
        {"cli: single-character data",
         [] { train_lm(std::string("--data ").append(quoted(write_file("one.txt", std::string(5000, 'a'))))); },
         fails("single character")},
        {"cli: data too short to split", [] { train_lm(std::string("--data ").append(quoted(write_file("short.txt", "abcab")))); },
         fails("too short")},
        {"cli: unreadable data path", [] { train_lm("--data /nonexistent/text"); }, fails("not a readable file")},
        {"cli: data path is a directory", [] { train_lm("--data /tmp"); }, fails("not a readable file")},
        {"cli: unwritable output directory",
         [] { train_lm(std::string("--data ").append(quoted(text_data())).append(" --out /proc/tapegrad_out")); },
         fails("train_lm: error: ")},
        {"cli: missing checkpoint to resume", [] { train_lm("--resume /nonexistent.safetensors"); },
         fails("File does not exist")},
        {"cli: resume a truncated checkpoint",
         [] {
             const auto b = read_file(lm_checkpoint());
             train_lm(tiny_run().append(" --resume ").append(quoted(write_file("lm_trunc.safetensors", b.substr(0, b.size() / 2)))));
         },
         fails("lm_trunc.safetensors")},
        {"cli: resume a corrupted checkpoint",
         [] {
             auto b = read_file(lm_checkpoint());
             b[9] = '[';
             train_lm(tiny_run().append(" --resume ").append(quoted(write_file("lm_corrupt.safetensors", b))));
         },
         fails("lm_corrupt.safetensors")},
        {"cli: resume a checkpoint of another model",
         [] { train_lm(tiny_run("embed(8) linear(vocab)").append(" --resume ").append(quoted(lm_checkpoint()))); },
         fails("the checkpoint is of the model")},
        {"cli: resume on other data",
         [] {
             train_lm(std::string("--data ").append(quoted(write_file("other.txt", std::string(3000, 'x') + std::string(3000, 'y'))))
                          .append(" --steps 3 --resume ").append(quoted(lm_checkpoint())));
         },
         fails("another vocabulary")},
        {"cli: resume a checkpoint whose step is not a number",
         [] { train_lm(tiny_run().append(" --resume ").append(quoted(with_metadata(lm_checkpoint(), "train.step", "12x", "step.safetensors")))); },
         fails("metadata 'train.step' is '12x'")},
        {"cli: resume a checkpoint whose batch is zero",
         [] { train_lm(tiny_run().append(" --resume ").append(quoted(with_metadata(lm_checkpoint(), "train.batch", "0", "batch0.safetensors")))); },
         fails("metadata 'train.batch' is '0'")},
        {"cli: resume a F64 checkpoint", [] { train_lm(tiny_run().append(" --resume ").append(quoted(valid_checkpoint<double>()))); },
         fails("F64")},
        {"cli: malformed --model spec", [] { train_lm(tiny_run("embed(4) linear(vocab")); },
         fails("spec: column")},
        {"cli: generate from a checkpoint that is not train_lm's",
         [] { train_lm(std::string("generate --checkpoint ").append(quoted(valid_checkpoint<float>()))); },
         fails("data.alphabet")},
        {"cli: generate with a prompt outside the vocabulary",
         [] { train_lm(std::string("generate --prompt Q --checkpoint ").append(quoted(lm_checkpoint()))); },
         fails("not in the model's vocabulary")},
    };
}

void check_row(const Row& row) {
    try {
        row.run();
    } catch (const std::exception& e) {
        INFO("threw " << typeid(e).name() << ": " << e.what());
        CHECK(row.expected.is(e));
        CHECK_THAT(std::string(e.what()), Catch::Matchers::Contains(row.expected.fragment));
        return;
    }
    FAIL("no error; expected " << row.expected.type << " containing '" << row.expected.fragment << "'");
}

}  // namespace

TEST_CASE("bad input through the public API raises its documented error", "[reliability][bad_input]") {
    for (const Row& row : api_rows()) {
        DYNAMIC_SECTION(row.kind) { check_row(row); }
    }
}

TEST_CASE("bad input through the train_lm command line fails with its message", "[reliability][bad_input][cli]") {
    for (const Row& row : cli_rows()) {
        DYNAMIC_SECTION(row.kind) { check_row(row); }
    }
}

TEST_CASE("the bad-input list has at least 30 kinds", "[reliability][bad_input]") {
    const std::size_t kinds = api_rows().size() + cli_rows().size();
    std::printf("bad-input kinds: %zu (API %zu, CLI %zu)\n", kinds, api_rows().size(), cli_rows().size());
    CHECK(kinds >= 30);
}
