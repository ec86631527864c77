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

#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

#include "tapegrad/autodiff/autodiff.hpp"
#include "tapegrad/nn/nn.hpp"
#include "tapegrad/optim/optim.hpp"

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

using Args = std::vector<std::string>;

Args operator+(Args a, const Args& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// Runs train_lm with an argument vector (posix_spawn, no shell: the arguments reach it as they are),
// stdout discarded, one BLAS thread; throws CliFailure holding the exit status and stderr when it is not
// 0, or when it runs longer than 120 s (then it is killed: a hang is a failure too).
void train_lm(const Args& args) {
    const fs::path err = scratch_dir() / "stderr.txt";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> words = {TAPEGRAD_TRAIN_LM};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    ::setenv("OPENBLAS_NUM_THREADS", "1", 1);  // for the child; this process's OpenBLAS is already set up
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, TAPEGRAD_TRAIN_LM, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (spawned != 0) throw std::runtime_error(std::string("cannot start train_lm: ") + std::strerror(spawned));
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            throw CliFailure("timed out after 120 s (killed): " + read_file(err));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    throw CliFailure(std::string("exit status ").append(std::to_string(code)).append(": ").append(read_file(err)));
}

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
        train_lm({"--data", text_data(), "--model", "embed(4) linear(vocab)", "--steps", "2", "--batch", "4",
                  "--sample-length", "1", "--out", out});
        return out / "checkpoint.safetensors";
    }();
    return p;
}

// A tiny training run on text_data() into a fresh directory; the rows add what they make wrong.
Args tiny_run(const std::string& model = "embed(4) linear(vocab)", const std::string& batch = "4",
              const std::string& steps = "2") {
    static int runs = 0;
    return {"--data", text_data(), "--model", model, "--steps", steps, "--batch", batch, "--sample-length", "1",
            "--out", scratch_dir() / ("run" + std::to_string(++runs))};
}

// Resumes the tiny run from a copy of lm_checkpoint() with one tensor's element (row, col) set to value.
Args resume_edited(const std::string& tensor, std::size_t row, std::size_t col, float value, const std::string& name) {
    const SafetensorsFile file = load_safetensors(lm_checkpoint());
    SafetensorsWriter writer;
    writer.metadata = file.metadata;
    bool found = false;
    for (const auto& entry : file.tensors) {
        Tensor<float> t = entry.to_tensor<float>();
        if (entry.name == tensor) {
            t(row, col) = value;
            found = true;
        }
        writer.add(entry.name, t);
    }
    if (!found) throw std::logic_error("resume_edited: no tensor " + tensor);
    const fs::path p = scratch_dir() / name;
    writer.save(p);
    return tiny_run() + Args{"--resume", p};
}

// A FIFO no process writes to: reading it would block forever.
fs::path fifo() {
    static const fs::path p = [] {
        const fs::path f = scratch_dir() / "fifo";
        if (::mkfifo(f.c_str(), 0644) != 0) throw std::runtime_error("mkfifo failed");
        return f;
    }();
    return p;
}

std::string text_of(std::size_t bytes) {
    std::string text;
    while (text.size() < bytes) text += "the quick brown fox jumps over the lazy dog\n";
    return text;
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
         [] { Tape<T> t; Generator g(1); auto m = build_model<T>(kSpec, 3, t, g); std::vector<std::int64_t> ids; m->forward_tokens(TokenInput{ids, 1}); },
         expect<ShapeError>("empty")},
        {"model forward: token id outside the vocabulary",
         [] { Tape<T> t; Generator g(1); auto m = build_model<T>(kSpec, 3, t, g); std::vector<std::int64_t> ids{5}; m->forward_tokens(TokenInput{ids, 1}); },
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
         [] { Adam<T>(std::vector<NamedParameter<T>>{}); },
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
         expect<CheckpointError>("is a directory, not a regular file")},
        {"checkpoint: a device (/dev/zero) is not read",
         [] { load_into("/dev/zero"); },
         expect<CheckpointError>("is a character device, not a regular file")},
#ifndef __SANITIZE_ADDRESS__  // ASan reports a 4 TB request as an error of its own instead of throwing
        {"tape: an op whose output cannot be allocated",
         [] {
             Tape<T> t;
             matmul(t.constant(Tensor<T>({std::size_t(1) << 20, 1})), t.constant(Tensor<T>({1, std::size_t(1) << 20})));
         },
         expect<ResourceError>("matmul: out of memory for its 1048576x1048576 output")},
#endif
    };
}

std::vector<Row> cli_rows() {
    const auto fails = [](std::string fragment) { return expect<CliFailure>(std::move(fragment)); };
    const auto gen = [](const Args& more) { return Args{"generate", "--checkpoint", lm_checkpoint()} + more; };
    const std::string cores_plus_one = std::to_string(std::thread::hardware_concurrency() + 1);
    return {
        {"cli: zero steps", [] { train_lm({"--steps", "0"}); }, fails("--steps: must be an integer from 1 to")},
        {"cli: negative steps", [] { train_lm({"--steps", "-5"}); }, fails("--steps")},
        {"cli: zero batch", [] { train_lm({"--batch", "0"}); }, fails("--batch")},
        {"cli: NaN learning rate", [] { train_lm({"--lr", "nan"}); }, fails("--lr: must be a finite number > 0, got 'nan'")},
        {"cli: negative learning rate", [] { train_lm({"--lr", "-1"}); }, fails("--lr")},
        {"cli: a learning rate so large that training diverges to NaN",
         [] { train_lm(tiny_run("embed(4) linear(vocab)", "8", "20") + Args{"--lr", "1e30", "--clip", "0"}); },
         fails("Adam.step: gradient of parameter")},
        {"cli: the same divergence under --detect-anomaly names the first op that produced NaN/Inf",
         [] { train_lm(tiny_run("embed(4) linear(vocab)", "8", "20") + Args{"--lr", "1e30", "--clip", "0", "--detect-anomaly"}); },
         fails("anomaly: ")},
        {"cli: zero temperature", [] { train_lm({"--temperature", "0"}); }, fails("--temperature")},
        {"cli: batch larger than the data", [] { train_lm(tiny_run("embed(4) linear(vocab)", "100000")); }, fails("larger than")},
        {"cli: empty data", [] { train_lm({"--data", write_file("empty.txt", "")}); }, fails("the data is empty")},
        {"cli: binary data", [] { train_lm({"--data", write_file("binary.bin", std::string("ab\0cd\x01\xff", 7))}); },
         fails("NUL bytes")},
        {"cli: single-character data", [] { train_lm({"--data", write_file("one.txt", std::string(5000, 'a'))}); },
         fails("single character")},
        {"cli: data too short to split", [] { train_lm({"--data", write_file("short.txt", "abcab")}); }, fails("too short")},
        {"cli: unreadable data path", [] { train_lm({"--data", "/nonexistent/text"}); }, fails("not a readable file")},
        {"cli: data path is a directory", [] { train_lm({"--data", "/tmp"}); }, fails("not a readable file")},
        {"cli: unwritable output directory", [] { train_lm({"--data", text_data(), "--out", "/proc/tapegrad_out"}); },
         fails("train_lm: error: ")},
        {"cli: missing checkpoint to resume", [] { train_lm({"--resume", "/nonexistent.safetensors"}); },
         fails("--resume: no such file: /nonexistent.safetensors")},
        {"cli: resume a truncated checkpoint",
         [] {
             const auto b = read_file(lm_checkpoint());
             train_lm(tiny_run() + Args{"--resume", write_file("lm_trunc.safetensors", b.substr(0, b.size() / 2))});
         },
         fails("lm_trunc.safetensors")},
        {"cli: resume a corrupted checkpoint",
         [] {
             auto b = read_file(lm_checkpoint());
             b[9] = '[';
             train_lm(tiny_run() + Args{"--resume", write_file("lm_corrupt.safetensors", b)});
         },
         fails("lm_corrupt.safetensors")},
        {"cli: resume a checkpoint of another model",
         [] { train_lm(tiny_run("embed(8) linear(vocab)") + Args{"--resume", lm_checkpoint()}); },
         fails("the checkpoint is of the model")},
        {"cli: resume on other data",
         [] {
             train_lm({"--data", write_file("other.txt", std::string(3000, 'x') + std::string(3000, 'y')), "--steps", "3",
                       "--resume", lm_checkpoint(), "--out", scratch_dir() / "other_data"});
         },
         fails("another vocabulary")},
        {"cli: resume on other data with an alphabet of the same size says which symbol differs",
         [] {
             // text_data()'s alphabet with 'Y' in place of 'y': 28 symbols both, token 2 differs ('Y' < 'a')
             std::string text = read_file(text_data());
             for (char& c : text)
                 if (c == 'y') c = 'Y';
             train_lm({"--data", write_file("same_size.txt", text), "--steps", "3", "--resume", lm_checkpoint(), "--out",
                       scratch_dir() / "same_size"});
         },
         fails("same size (28 symbols), but token 2 is 'a' (0x61) in the checkpoint and 'Y' (0x59) in the data")},
        {"cli: resume a checkpoint whose step is not a number",
         [] { train_lm(tiny_run() + Args{"--resume", with_metadata(lm_checkpoint(), "train.step", "12x", "step.safetensors")}); },
         fails("metadata 'train.step' is '12x'")},
        {"cli: resume a checkpoint whose batch is zero",
         [] { train_lm(tiny_run() + Args{"--resume", with_metadata(lm_checkpoint(), "train.batch", "0", "batch0.safetensors")}); },
         fails("metadata 'train.batch' is '0'")},
        {"cli: resume a F64 checkpoint", [] { train_lm(tiny_run() + Args{"--resume", valid_checkpoint<double>()}); }, fails("F64")},
        {"cli: malformed --model spec", [] { train_lm(tiny_run("embed(4) linear(vocab")); }, fails("spec: column")},
        {"cli: generate from a checkpoint that is not train_lm's",
         [] { train_lm({"generate", "--checkpoint", valid_checkpoint<float>()}); }, fails("data.alphabet")},
        {"cli: generate with a prompt outside the vocabulary", [gen] { train_lm(gen({"--prompt", "Q"})); },
         fails("not in the model's vocabulary")},

        // ── issue 12: what a careless or hostile user still broke ──
        // 2. the checkpoint's alphabet is checked against the model before generate uses it
        {"cli: generate from a checkpoint whose alphabet is empty",
         [] { train_lm({"generate", "--checkpoint", with_metadata(lm_checkpoint(), "data.alphabet", "", "alpha0.safetensors")}); },
         fails("data.alphabet has 0 symbols, but the model's vocabulary is")},
        {"cli: generate from a checkpoint whose alphabet is shorter than the vocabulary",
         [] { train_lm({"generate", "--checkpoint", with_metadata(lm_checkpoint(), "data.alphabet", "0a2061", "alpha3.safetensors")}); },
         fails("data.alphabet has 3 symbols")},
        {"cli: generate from a checkpoint whose alphabet is longer than the vocabulary",
         [] {
             const std::string hex = load_safetensors(lm_checkpoint()).metadata.at("data.alphabet") + "7e";
             train_lm({"generate", "--checkpoint", with_metadata(lm_checkpoint(), "data.alphabet", hex, "alpha_long.safetensors")});
         },
         fails("but the model's vocabulary is")},
        {"cli: generate from a checkpoint whose alphabet repeats a symbol",
         [] {
             std::string hex = load_safetensors(lm_checkpoint()).metadata.at("data.alphabet");
             hex.replace(2, 2, hex.substr(0, 2));  // token 1 = token 0
             train_lm({"generate", "--checkpoint", with_metadata(lm_checkpoint(), "data.alphabet", hex, "alpha_dup.safetensors")});
         },
         fails("twice (again at token 1)")},
        // 3. non-finite or inconsistent state is rejected when loading, naming the tensor and the element
        {"cli: resume a checkpoint whose weights hold NaN",
         [] { train_lm(resume_edited("model.0.weight", 1, 2, std::numeric_limits<float>::quiet_NaN(), "w_nan.safetensors")); },
         fails("parameter '0.weight' holds nan at element 6 (row 1, col 2)")},
        {"cli: generate from a checkpoint whose weights hold Inf",
         [] {
             const Args a = resume_edited("model.1.weight", 0, 0, std::numeric_limits<float>::infinity(), "w_inf.safetensors");
             train_lm({"generate", "--checkpoint", a.back()});
         },
         fails("parameter '1.weight' holds inf")},
        {"cli: resume a checkpoint whose Adam first moment holds NaN",
         [] { train_lm(resume_edited("optim.m.0.weight", 0, 1, std::numeric_limits<float>::quiet_NaN(), "m_nan.safetensors")); },
         fails("'optim.m.0.weight' holds nan")},
        {"cli: resume a checkpoint whose Adam second moment is negative",
         [] { train_lm(resume_edited("optim.v.0.weight", 0, 0, -1.0f, "v_neg.safetensors")); },
         fails("'optim.v.0.weight' holds -1")},
        {"cli: resume a checkpoint whose Adam second moment is infinite",
         [] { train_lm(resume_edited("optim.v.1.weight", 0, 0, std::numeric_limits<float>::infinity(), "v_inf.safetensors")); },
         fails("'optim.v.1.weight' holds inf")},
        {"cli: resume a checkpoint whose step counters disagree",
         [] { train_lm(tiny_run() + Args{"--resume", with_metadata(lm_checkpoint(), "train.step", "1", "step1.safetensors")}); },
         fails("the step counters disagree: train.step 1, the optimizer's step count 2, the schedule's position 2")},
        {"cli: resume a checkpoint whose step is past --steps",
         [] { train_lm(tiny_run("embed(4) linear(vocab)", "4", "1") + Args{"--resume", lm_checkpoint()}); },
         fails("the checkpoint is at step 2, past --steps 1")},
        // 5. negative values for unsigned options are rejected, not wrapped to 2^64 − 1
        {"cli: negative --sample-length", [] { train_lm({"--sample-length", "-1"}); },
         fails("--sample-length: must be an integer from 0 to")},
        {"cli: generate with a negative --length", [gen] { train_lm(gen({"--length", "-1"})); },
         fails("--length: must be an integer from 0 to")},
        {"cli: negative --seed", [] { train_lm({"--seed", "-1"}); }, fails("--seed: must be an integer from 0 to")},
        {"cli: negative --context", [] { train_lm({"--context", "-1"}); }, fails("--context: must be an integer from 1 to 256")},
        // 6. every floating-point option rejects NaN and Inf at parse time, naming the flag
        {"cli: NaN --clip", [] { train_lm({"--clip", "nan"}); }, fails("--clip: must be a finite number >= 0, got 'nan'")},
        {"cli: NaN --temperature", [] { train_lm({"--temperature", "nan"}); }, fails("--temperature: must be a finite number > 0, got 'nan'")},
        {"cli: infinite --lr", [] { train_lm({"--lr", "inf"}); }, fails("--lr: must be a finite number > 0, got 'inf'")},
        {"cli: generate with a NaN --temperature", [gen] { train_lm(gen({"--temperature", "nan"})); },
         fails("--temperature: must be a finite number > 0")},
        {"cli: a zero --lr says 'must be a finite number > 0', not the type's range",
         [] { train_lm({"--lr", "0"}); }, fails("--lr: must be a finite number > 0, got '0'")},
        // 7. only regular files are read; memory needs are said, not std::bad_alloc
        {"cli: generate from /dev/zero", [] { train_lm({"generate", "--checkpoint", "/dev/zero"}); },
         fails("--checkpoint: /dev/zero is not a regular file")},
        {"cli: generate from /dev/urandom", [] { train_lm({"generate", "--checkpoint", "/dev/urandom"}); },
         fails("is not a regular file")},
        {"cli: resume from /dev/zero", [] { train_lm({"--resume", "/dev/zero"}); }, fails("--resume: /dev/zero is not a regular file")},
        {"cli: generate from a FIFO with no writer (no hang)", [] { train_lm({"generate", "--checkpoint", fifo()}); },
         fails("is not a regular file")},
        {"cli: train on a FIFO with no writer (no hang)", [] { train_lm({"--data", fifo()}); }, fails("not a readable file")},
        {"cli: train on /dev/zero", [] { train_lm({"--data", "/dev/zero"}); }, fails("not a readable file")},
        {"cli: empty --out", [] { train_lm({"--out", ""}); }, fails("--out: is empty")},
        {"cli: empty --data", [] { train_lm({"--data", ""}); }, fails("--data: is empty")},
        {"cli: a training step that needs more memory than the machine has",
         [] {
             train_lm({"--data", write_file("long.txt", text_of(80000)), "--model", "context(1000000, 1) linear(vocab)",
                       "--batch", "65536", "--steps", "1", "--out", scratch_dir() / "oom"});
         },
         fails("out of memory: a training step of 'context(1000000, 1) linear(vocab)' with --batch 65536 needs about")},
        // 8. a fresh run does not destroy the checkpoint of an earlier one
        {"cli: a fresh run into a directory that holds a checkpoint",
         [] {
             train_lm({"--data", text_data(), "--model", "embed(4) linear(vocab)", "--steps", "1", "--batch", "4",
                       "--out", lm_checkpoint().parent_path()});
         },
         fails("already holds a checkpoint of an earlier run")},
        // 9. more threads than cores
        {"cli: more threads than cores", [cores_plus_one] { train_lm({"--threads", cores_plus_one}); },
         fails("--threads: must be an integer from 0 to")},
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
