#include <filesystem>
#include <fstream>
#include <limits>

#include "test_util.hpp"

#include "tapegrad/nn/checkpoint.hpp"
#include "tapegrad/nn/model_file.hpp"
#include "tapegrad/nn/language_model.hpp"
#include "tapegrad/nn/spec.hpp"
#include "tapegrad/optim/optim.hpp"
#include "tapegrad/autodiff/autodiff.hpp"

using namespace tapegrad;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() : path(fs::temp_directory_path() / ("tapegrad_ckpt_" + std::to_string(::getpid()) + "_" + std::to_string(counter++))) {
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
    static inline int counter = 0;
};

using test::bitwise_equal;

template <class T>
std::vector<Tensor<T>> values_of(const Module<T>& m) {
    std::vector<Tensor<T>> out;
    for (const auto& p : m.named_parameters()) out.push_back(p.var.value());
    return out;
}

const char* const kSpec = "context(2, 3) linear(8) gelu layernorm linear(vocab)";

}  // namespace

TEST_CASE("checkpoint round trip is bit-exact and rebuilds the model from its spec", "[nn][checkpoint]") {
    TempDir dir;
    Tape<float> tape;
    Generator gen(7);
    auto model = build_model<float>(kSpec, 11, tape, gen);
    StateDict<float> extra;
    extra.tensors.emplace_back("m.0.weight", Tensor<float>({2, 2}, 0.5f));
    extra.metadata["t"] = "12";
    save_checkpoint<float>(dir.path / "a.safetensors", *model, {{"optim.", extra}}, {{"run", "test"}});

    Tape<float> fresh;
    auto rebuilt = load_model<float>(dir.path / "a.safetensors", fresh);
    CHECK(rebuilt->spec() == kSpec);
    CHECK(rebuilt->vocab() == 11);
    const auto before = values_of(*model), after = values_of(*rebuilt);
    REQUIRE(before.size() == after.size());
    for (std::size_t i = 0; i < before.size(); ++i) CHECK(bitwise_equal(before[i], after[i]));
    const std::vector<std::int64_t> ctx = {11, 3, 3, 4};
    CHECK(bitwise_equal(model->forward_tokens(TokenInput{ctx, 2}).value(), rebuilt->forward_tokens(TokenInput{ctx, 2}).value()));

    SafetensorsFile file = load_checkpoint(dir.path / "a.safetensors", *rebuilt);
    CHECK(file.metadata.at("run") == "test");
    CHECK(file.metadata.at("model.spec") == kSpec);
    StateDict<float> opt = extract_state<float>(file, "optim.");
    REQUIRE(opt.tensors.size() == 1);
    CHECK(opt.tensors[0].first == "m.0.weight");
    CHECK(opt.metadata.at("t") == "12");
}

TEST_CASE("a checkpoint written by independent code loads", "[nn][checkpoint]") {
    TempDir dir;
    Tape<double> tape;
    Generator gen(1);
    SeedLanguageModel<double> lm(tape, 3, 2, 2, gen);
    // Written with the writer's low-level API, the way another program would lay the file out.
    SafetensorsWriter w;
    w.add("model.E", Tensor<double>{{1, 2}, {3, 4}, {5, 6}});
    w.add("model.W3", Tensor<double>{{1, 0}, {0, 1}});
    w.add("model.W2", Tensor<double>{{2, 0}, {0, 2}});
    w.add("model.W1", Tensor<double>{{1, 1, 1}, {0, 0, 0}});
    w.metadata["format"] = kCheckpointFormat;
    w.save(dir.path / "b.safetensors");
    load_checkpoint(dir.path / "b.safetensors", lm);
    CHECK(lm.E.value()(2, 1) == 6.0);
    // logits for id 1: [3,4]·I·2I·W1 = [6, 6, 6]
    auto logits = lm(TokenInput{std::vector<std::int64_t>{1}});
    CHECK(logits.value()(0, 2) == 6.0);
}

TEST_CASE("truncated, corrupted and mismatched checkpoints fail cleanly and leave the parameters unchanged", "[nn][checkpoint][errors]") {
    TempDir dir;
    Tape<float> tape;
    Generator gen(3);
    auto model = build_model<float>(kSpec, 11, tape, gen);
    const fs::path good = dir.path / "good.safetensors";
    save_checkpoint<float>(good, *model);

    Generator gen2(4);
    auto target = build_model<float>(kSpec, 11, tape, gen2);
    const auto original = values_of(*target);
    auto unchanged = [&] {
        const auto now = values_of(*target);
        for (std::size_t i = 0; i < now.size(); ++i) REQUIRE(bitwise_equal(now[i], original[i]));
    };

    std::ifstream in(good, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto write = [&](const std::string& name, const std::string& content) {
        std::ofstream(dir.path / name, std::ios::binary) << content;
        return dir.path / name;
    };
    SECTION("truncated") {
        REQUIRE_THROWS_AS(load_checkpoint(write("t.safetensors", bytes.substr(0, bytes.size() - 5)), *target), CheckpointError);
        unchanged();
    }
    SECTION("corrupted header") {
        std::string bad = bytes;
        bad[10] = '#';
        REQUIRE_THROWS_AS(load_checkpoint(write("c.safetensors", bad), *target), CheckpointError);
        unchanged();
    }
    SECTION("a checkpoint of a different model") {
        Generator gen3(5);
        auto other = build_model<float>("embed(4) linear(vocab)", 11, tape, gen3);
        save_checkpoint<float>(dir.path / "other.safetensors", *other);
        REQUIRE_THROWS_WITH(load_checkpoint(dir.path / "other.safetensors", *target),
                            Catch::Matchers::Contains("parameter '0.weight' is 11x4 in the checkpoint but 12x3 in the model"));
        unchanged();
    }
    SECTION("a double checkpoint into a float model") {
        Tape<double> dtape;
        Generator gen4(6);
        auto dmodel = build_model<double>(kSpec, 11, dtape, gen4);
        save_checkpoint<double>(dir.path / "d.safetensors", *dmodel);
        REQUIRE_THROWS_WITH(load_checkpoint(dir.path / "d.safetensors", *target),
                            Catch::Matchers::Contains("the model was saved in F64, but this model is F32"));
        unchanged();
    }
    SECTION("a missing file") {
        REQUIRE_THROWS_AS(load_checkpoint(dir.path / "nope.safetensors", *target), CheckpointError);
        unchanged();
    }
}

// Found by fuzz/fuzz_checkpoint (fuzz/corpus/checkpoint/huge_spec.safetensors): a 1 KB file whose
// model.spec declares a large model made load_model allocate and initialise all of it (256 MB per
// tensor) before finding that the file holds none of its parameters. The spec's size is now compared
// with the tensors the file holds first.
TEST_CASE("load_model rejects a spec larger than the tensors the file holds, before building it", "[nn][checkpoint][errors][fuzz]") {
    TempDir dir;
    Tape<float> tape;
    Generator gen(3);
    auto small = build_model<float>("embed(2) linear(vocab)", 3, tape, gen);
    SafetensorsWriter writer;
    add_state(writer, module_state(*small), "model.");
    writer.metadata["format"] = kCheckpointFormat;
    writer.metadata["model.spec"] = "embed(8000) linear(vocab)";
    writer.metadata["model.vocab"] = "8000";
    const fs::path path = dir.path / "huge_spec.safetensors";
    writer.save(path);
    Tape<float> fresh;
    REQUIRE_THROWS_WITH(load_model<float>(path, fresh),
                        Catch::Matchers::Contains("metadata model.spec 'embed(8000) linear(vocab)' has 128008000 parameters, "
                                                  "but the file holds 15 under 'model.'"));
    CHECK(fresh.num_parameters() == 0);
}

// A checkpoint whose weights hold NaN or Inf used to load, and training resumed into NaN losses. Every
// parameter is checked before any is assigned: a bad value in the last parameter leaves the first ones
// unchanged too. Parameters of kSpec with vocab 11: 0.weight 12x3, 1.weight 6x8, 1.bias 1x8, 3.weight 1x8,
// 3.bias 1x8, 4.weight 8x11, 4.bias 1x11 (element k of an r x c tensor is at row k / c, col k % c).
TEST_CASE("checkpoints with NaN or Inf parameters are rejected, naming the tensor, element and value, and change nothing",
          "[nn][checkpoint][errors]") {
    TempDir dir;
    Tape<float> tape;
    Generator gen(3);
    auto source = build_model<float>(kSpec, 11, tape, gen);
    Generator gen2(4);
    auto target = build_model<float>(kSpec, 11, tape, gen2);
    const auto original = values_of(*target);
    auto unchanged = [&] {
        const auto now = values_of(*target);
        for (std::size_t i = 0; i < now.size(); ++i) REQUIRE(bitwise_equal(now[i], original[i]));
    };
    auto set = [&](const std::string& name, std::size_t row, std::size_t col, float x) {
        for (const auto& p : source->named_parameters())
            if (p.name == name) p.var.mutable_value()(row, col) = x;
    };
    const fs::path path = dir.path / "bad.safetensors";
    auto expect = [&](const std::string& problem) {
        save_checkpoint<float>(path, *source);
        REQUIRE_THROWS_WITH(load_checkpoint(path, *target), path.string() + ": " + problem);
        unchanged();
        REQUIRE_THROWS_WITH(load_module_state(*target, module_state(*source)), "state: " + problem);
        unchanged();
        Tape<float> fresh;
        REQUIRE_THROWS_WITH(load_model<float>(path, fresh), path.string() + ": " + problem);
    };
    SECTION("NaN in a weight") {
        set("1.weight", 2, 5, std::numeric_limits<float>::quiet_NaN());
        expect("parameter '1.weight' holds nan at element 21 (row 2, col 5); parameters must be finite");
    }
    SECTION("+Inf in the last parameter") {
        set("4.bias", 0, 3, std::numeric_limits<float>::infinity());
        expect("parameter '4.bias' holds inf at element 3 (row 0, col 3); parameters must be finite");
    }
    SECTION("-Inf in the first parameter") {
        set("0.weight", 11, 2, -std::numeric_limits<float>::infinity());
        expect("parameter '0.weight' holds -inf at element 35 (row 11, col 2); parameters must be finite");
    }
    SECTION("the largest finite values load") {
        set("1.weight", 0, 0, std::numeric_limits<float>::max());
        set("4.bias", 0, 0, -std::numeric_limits<float>::max());
        save_checkpoint<float>(path, *source);
        load_checkpoint(path, *target);
        const auto want = values_of(*source), got = values_of(*target);
        for (std::size_t i = 0; i < want.size(); ++i) CHECK(bitwise_equal(want[i], got[i]));
    }
}

// A StateDict built in memory can name a tensor twice; the second copy used to be ignored silently.
TEST_CASE("load_module_state rejects a tensor given twice, and changes nothing", "[nn][checkpoint][errors]") {
    Tape<double> tape;
    Generator gen(1);
    SeedLanguageModel<double> lm(tape, 3, 2, 2, gen);
    const auto original = values_of(lm);
    StateDict<double> state = module_state(lm);
    state.tensors.emplace_back("W2", Tensor<double>({2, 2}, 0.5));
    REQUIRE_THROWS_WITH(load_module_state(lm, state, "mine"), "mine: tensor 'W2' appears more than once");
    const auto now = values_of(lm);
    for (std::size_t i = 0; i < now.size(); ++i) CHECK(bitwise_equal(now[i], original[i]));
}

TEST_CASE("one statement loads a model with its optimizer and schedule; load_model reads the file once", "[nn][checkpoint]") {
    TempDir dir;
    const fs::path path = dir.path / "run.safetensors";
    const std::vector<std::int64_t> ids = {1, 2, 0, 3}, targets = {2, 0, 3, 1};
    auto train_steps = [&](LanguageModel<float>& model, AdamW<float>& opt, WarmupCosineLR& schedule, int steps) {
        for (int k = 0; k < steps; ++k) {
            schedule.apply(opt);
            opt.zero_grad();
            cross_entropy(model(TokenInput{ids}), targets).backward();
            opt.step();
            schedule.step();
            model.tape().clear();
        }
    };
    Tape<float> tape;
    Generator gen(4);
    auto model = build_model<float>("embed(3) linear(5) tanh linear(vocab)", 4, tape, gen);
    AdamW<float> opt(model->named_parameters(), {.lr = 0.01});
    WarmupCosineLR schedule(0.01, 2, 10, 0.001);
    train_steps(*model, opt, schedule, 3);
    save_checkpoint<float>(path, *model, {{"", opt.state_dict()}, {"", schedule.state_dict<float>()}});

    Tape<float> tape2;
    Generator gen2(99);  // other initial values: all overwritten
    auto again = build_model<float>("embed(3) linear(5) tanh linear(vocab)", 4, tape2, gen2);
    AdamW<float> opt2(again->named_parameters(), {.lr = 0.5});
    WarmupCosineLR schedule2(0.01, 2, 10, 0.001);
    load_checkpoint(path, *again, opt2, schedule2);
    CHECK(opt2.step_count() == 3);
    CHECK(schedule2.position() == 3);
    CHECK(opt2.lr() == opt.lr());
    // both continue identically
    train_steps(*model, opt, schedule, 2);
    train_steps(*again, opt2, schedule2, 2);
    const auto a = model->named_parameters(), b = again->named_parameters();
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(bitwise_equal(a[i].var.value(), b[i].var.value()));

    SafetensorsFile file;
    Tape<float> tape3;
    auto rebuilt = load_model<float>(path, tape3, &file);
    CHECK(file.metadata.count("optim.step_count") == 1);  // the whole file, for the caller's extra state
    CHECK(rebuilt->parameter_count() == model->parameter_count());
}
