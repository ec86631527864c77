// train_lm's pieces: reference entropies on texts small enough to count by hand, corpus errors, batches,
// and exact resume.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>
#include <unistd.h>

#include "test_util.hpp"

#include "batches.hpp"
#include "corpus.hpp"
#include "entropy.hpp"
#include "loss_plot.hpp"
#include "memory_plan.hpp"
#include "run_checkpoint.hpp"
#include "stop_signals.hpp"
#include "inference.hpp"
#include "presets.hpp"
#include "trainer.hpp"

using namespace train_lm;

TEST_CASE("unigram and bigram entropies of tiny texts, by hand", "[samples][train_lm]") {
    // "abab": p(a) = p(b) = 1/2 → ln 2; every next character is determined by the previous → 0.
    const std::vector<std::int64_t> abab = {0, 1, 0, 1};
    CHECK(unigram_entropy(abab, 2) == Approx(std::log(2.0)));
    CHECK(bigram_entropy(abab, 2) == Approx(0.0).margin(1e-15));
    // "aab": p(a) = 2/3, p(b) = 1/3; pairs (a,a), (a,b): p(·|a) = 1/2 each → ln 2.
    const std::vector<std::int64_t> aab = {0, 0, 1};
    CHECK(unigram_entropy(aab, 2) == Approx(-(2.0 / 3 * std::log(2.0 / 3) + 1.0 / 3 * std::log(1.0 / 3))));
    CHECK(bigram_entropy(aab, 2) == Approx(std::log(2.0)));
    // "abcab": pairs ab, bc, ca, ab: after a always b, after b always c, after c always a → 0.
    CHECK(bigram_entropy(std::vector<std::int64_t>{0, 1, 2, 0, 1}, 3) == Approx(0.0).margin(1e-15));
}

TEST_CASE("make_corpus maps bytes to ids and splits the text", "[samples][train_lm]") {
    std::string text;
    for (int i = 0; i < 100; ++i) text += "ba";
    const Corpus c = make_corpus(text, "test", 0.1, 8);
    CHECK(c.vocab() == 2);
    CHECK(c.alphabet == std::vector<unsigned char>{'a', 'b'});
    CHECK(c.train.size() == 180);
    CHECK(c.val.size() == 20);
    CHECK(c.train[0] == 1);
    CHECK(c.decode({0, 1, 1}) == "abb");
}

TEST_CASE("make_corpus rejects empty, binary, single-character and too-short data", "[samples][train_lm][errors]") {
    REQUIRE_THROWS_WITH(make_corpus("", "x"), "x: the data is empty");
    REQUIRE_THROWS_WITH(make_corpus(std::string("ab\0cd", 5), "x"), Catch::Matchers::Contains("holds NUL bytes"));
    REQUIRE_THROWS_WITH(make_corpus(std::string(1000, 'z'), "x"), Catch::Matchers::Contains("single character"));
    REQUIRE_THROWS_WITH(make_corpus("abcabc", "x"), Catch::Matchers::Contains("too short"));
    REQUIRE_THROWS_WITH(read_text({"/nonexistent/file"}), Catch::Matchers::StartsWith("cannot read /nonexistent/file"));
}

TEST_CASE("batches: contexts end at the position, padded before the start, targets are the next token", "[samples][train_lm]") {
    const std::vector<std::int64_t> ids = {3, 1, 4, 1, 5};
    Batch b;
    const std::vector<std::size_t> positions = {0, 3};
    fill_batch(ids, positions, 3, 9, b);
    CHECK(b.contexts == std::vector<std::int64_t>{9, 9, 3, 1, 4, 1});
    CHECK(b.targets == std::vector<std::int64_t>{1, 5});
    std::vector<std::size_t> p1, p2, p3;
    sample_positions(5, 7, 11, 100, p1);
    sample_positions(5, 7, 11, 100, p2);
    sample_positions(5, 7, 12, 100, p3);
    CHECK(p1 == p2);
    CHECK(p1 != p3);
    for (std::size_t p : p1) CHECK(p < 4);
}

TEST_CASE("windows: T consecutive ids and the T ids after them, starts leave room for the last target", "[samples][train_lm]") {
    const std::vector<std::int64_t> ids = {3, 1, 4, 1, 5, 9, 2};
    Batch b;
    const std::vector<std::size_t> starts = {0, 3};
    fill_windows(ids, starts, 3, b);
    CHECK(b.contexts == std::vector<std::int64_t>{3, 1, 4, 1, 5, 9});
    CHECK(b.targets == std::vector<std::int64_t>{1, 4, 1, 5, 9, 2});
    const std::vector<std::size_t> too_late = {4};  // its last token (index 6) has no next token
    CHECK_THROWS_AS(fill_windows(ids, too_late, 3, b), std::out_of_range);
    std::vector<std::size_t> s1, s2;
    sample_window_starts(7, 3, 5, 1, 200, s1);
    sample_window_starts(7, 3, 5, 1, 200, s2);
    CHECK(s1 == s2);
    std::set<std::size_t> seen(s1.begin(), s1.end());
    CHECK(seen == std::set<std::size_t>{0, 1, 2, 3});  // uniform over [0, 7 − 3 − 1]
    CHECK_THROWS_AS(sample_window_starts(3, 3, 5, 1, 1, s1), std::invalid_argument);
}

namespace {
// A GPT small enough for tests: 2 blocks of width 16, 2 heads, windows of 8.
const char* const kSmallGpt =
    "embed(16, std=0.02) position(8, std=0.02) repeat(2, residual(layernorm attention(2, std=0.02, proj_std=0.01)) "
    "residual(layernorm linear(64, bias=false, std=0.02) gelu linear(16, bias=false, std=0.01))) layernorm tied";
}  // namespace

TEST_CASE("a windowed model is evaluated over non-overlapping windows, the last one shorter", "[samples][train_lm]") {
    const Corpus corpus = make_corpus(read_text({"/usr/share/common-licenses/GPL-3"}), "GPL-3");
    tapegrad::Tape<float> tape;
    tapegrad::Generator gen(3);
    auto model = tapegrad::build_model<float>(kSmallGpt, corpus.vocab(), tape, gen);
    // 8·601 + 5 positions: chunks of whole windows (4096 positions each) and a last window of 5
    const std::size_t total = 8 * 601 + 5;
    REQUIRE(corpus.train.size() > total + 1);
    const double mean = evaluate(*model, corpus.train, corpus.vocab(), total);
    // The same sum, window by window, in double.
    double sum = 0;
    for (std::size_t start = 0; start < total; start += 8) {
        const std::size_t n = std::min<std::size_t>(8, total - start);
        const std::vector<std::int64_t> in(corpus.train.begin() + std::ptrdiff_t(start), corpus.train.begin() + std::ptrdiff_t(start + n));
        const std::vector<std::int64_t> next(corpus.train.begin() + std::ptrdiff_t(start + 1),
                                             corpus.train.begin() + std::ptrdiff_t(start + n + 1));
        tapegrad::NoGradGuard<float> no_grad(tape);
        const tapegrad::TokenInput window{in};
        sum += double(tapegrad::cross_entropy((*model)(window), next, {.reduction = tapegrad::Reduction::sum}).item());
        tape.clear();
    }
    CHECK(mean == Approx(sum / double(total)).epsilon(1e-6));
    // Sampling slides the window: more tokens than T, each a token of the vocabulary, the same for a seed.
    const auto a = sample(*model, {1, 2, 3}, 30, 1.0, 9, 0), b = sample(*model, {1, 2, 3}, 30, 1.0, 9, 0);
    CHECK(a == b);
    CHECK(a.size() == 30);
    for (auto id : a) CHECK((id >= 0 && std::size_t(id) < corpus.vocab()));
    // Near temperature 0 sampling is greedy decoding: each token the argmax of the model's last row on the
    // window of the last T tokens, written out here.
    const std::size_t T = model->window_size();
    std::vector<std::int64_t> seq = {1, 2, 3}, greedy;
    for (int i = 0; i < 12; ++i) {
        tapegrad::NoGradGuard<float> no_grad(tape);
        const std::vector<std::int64_t> window(seq.end() - std::ptrdiff_t(std::min(T, seq.size())), seq.end());
        const tapegrad::Tensor<float>& logits = (*model)(tapegrad::TokenInput{window}).value();
        const std::size_t V = logits.shape()[1];
        const float* last = logits.data() + (logits.shape()[0] - 1) * V;
        const auto best = std::int64_t(std::max_element(last, last + V) - last);
        greedy.push_back(best);
        seq.push_back(best);
        tape.clear();
    }
    CHECK(sample(*model, {1, 2, 3}, 12, 1e-4, 5, 0) == greedy);
}

namespace {

std::vector<std::vector<float>> parameters_of(const std::filesystem::path& checkpoint) {
    tapegrad::Tape<float> tape;
    auto model = tapegrad::load_model<float>(checkpoint, tape);
    std::vector<std::vector<float>> out;
    for (const auto& p : model->named_parameters()) out.emplace_back(p.var.value().begin(), p.var.value().end());
    return out;
}

}  // namespace

TEST_CASE("a resumed run ends bit for bit where the uninterrupted run ends", "[samples][train_lm]") {
    const Corpus corpus = make_corpus(read_text({"/usr/share/common-licenses/GPL-3"}), "GPL-3");
    const auto dir = std::filesystem::temp_directory_path() / ("train_lm_resume_" + std::to_string(::getpid()));
    TrainOptions opt;
    const bool gpt = GENERATE(false, true);
    INFO((gpt ? "a small GPT, AdamW" : "a context model, Adam"));
    opt.model = gpt ? kSmallGpt : "context(3, 4) linear(16) tanh linear(vocab)";
    if (gpt) use_gpt_defaults(opt, [](const char*) { return false; });
    opt.steps = 40;
    opt.batch = gpt ? 4 : 32;
    opt.warmup = 10;
    opt.eval_every = 20;
    opt.eval_positions = 200;
    opt.checkpoint_every = 20;
    opt.sample_length = 20;
    std::ostringstream log;

    opt.out_dir = dir / "straight";
    const TrainSummary straight = train(corpus, opt, log);
    CHECK(straight.steps == 40);

    opt.steps = 40;
    opt.out_dir = dir / "interrupted";
    {
        TrainOptions o = opt;
        o.checkpoint_every = 20;
        struct Stop {
            ~Stop() { clear_stop(); }
        } reset;
        // Interrupt right away: the loop finishes the current step, saves and stops.
        request_stop();
        const TrainSummary s = train(corpus, o, log);
        CHECK(s.interrupted);
        CHECK(s.steps == 1);
    }
    opt.resume = dir / "interrupted" / "checkpoint.safetensors";
    const TrainSummary resumed = train(corpus, opt, log);
    CHECK(resumed.steps == 40);
    CHECK(parameters_of(dir / "straight" / "checkpoint.safetensors") == parameters_of(dir / "interrupted" / "checkpoint.safetensors"));
    CHECK(resumed.val_loss == straight.val_loss);
    std::filesystem::remove_all(dir);
}

TEST_CASE("resuming with data of another vocabulary, or as another model, is refused", "[samples][train_lm][errors]") {
    const auto dir = std::filesystem::temp_directory_path() / ("train_lm_vocab_" + std::to_string(::getpid()));
    const Corpus gpl = make_corpus(read_text({"/usr/share/common-licenses/GPL-3"}), "GPL-3");
    TrainOptions opt;
    opt.model = "embed(4) linear(vocab)";
    opt.steps = 2;
    opt.batch = 4;
    opt.sample_length = 1;
    opt.out_dir = dir;
    std::ostringstream log;
    train(gpl, opt, log);
    std::string other;
    for (int i = 0; i < 2000; ++i) other += "xy";
    opt.resume = dir / "checkpoint.safetensors";
    REQUIRE_THROWS_WITH(train(make_corpus(other, "xy"), opt, log), Catch::Matchers::Contains("trained on another vocabulary"));
    opt.model = "seed";  // the checkpoint holds "embed(4) linear(vocab)"
    REQUIRE_THROWS_WITH(train(gpl, opt, log), Catch::Matchers::Contains("the checkpoint is of the model 'embed(4) linear(vocab)', but --model asks for"));
    std::filesystem::remove_all(dir);
}

// The note's model sees only the previous character, so the bigram conditional entropy of the training
// split is the best it can reach there; with d = f = w it can represent any bigram table and gets close.
TEST_CASE("the note's model (model seed) reaches within 1% of the bigram entropy on the training split", "[samples][train_lm][slow]") {
    const Corpus corpus = make_corpus(read_text({"/usr/share/common-licenses/GPL-3"}), "GPL-3");
    TrainOptions opt;
    opt.model = "seed";
    opt.steps = 3000;
    opt.batch = 512;
    opt.lr = 0.01;
    opt.eval_every = 1000;
    opt.sample_length = 10;
    opt.final_eval = TrainOptions::FinalEval::exact;  // the claim is about every position of the split
    opt.out_dir = std::filesystem::temp_directory_path() / ("train_lm_seed_" + std::to_string(::getpid()));
    std::ostringstream log;
    const TrainSummary s = train(corpus, opt, log);
    INFO(log.str());
    CHECK(s.train_loss >= s.bigram_train - 1e-9);  // nothing that sees one character can beat it
    CHECK(s.train_loss <= 1.01 * s.bigram_train);
    std::filesystem::remove_all(opt.out_dir);
}

// ── issue 12: the pieces that make train_lm safe to run carelessly ────────────────────────────────────

TEST_CASE("gnuplot_quoted turns quotes into U+2019 and blanks control characters", "[samples][train_lm]") {
    // gnuplot: in a single-quoted string neither backslashes nor backquotes are special; a quote would end it
    CHECK(gnuplot_quoted("bob's") == "'bob\u2019s'");
    CHECK(gnuplot_quoted("a'; system('x'); '") == "'a\u2019; system(\u2019x\u2019); \u2019'");
    CHECK(gnuplot_quoted("u''''") == "'u\u2019\u2019\u2019\u2019'");
    CHECK(gnuplot_quoted("line\nbreak\t`cmd`") == "'line break `cmd`'");
}

TEST_CASE("the checkpoint alphabet must match the model's vocabulary, one distinct byte per token", "[samples][train_lm][errors]") {
    tapegrad::SafetensorsFile file;
    file.metadata["data.alphabet"] = alphabet_to_hex({'\n', ' ', 'a'});
    CHECK(checkpoint_alphabet(file, 3, "c") == std::vector<unsigned char>{'\n', ' ', 'a'});
    REQUIRE_THROWS_WITH(checkpoint_alphabet(file, 4, "c"), "c: data.alphabet has 3 symbols, but the model's vocabulary is 4; the checkpoint is damaged or was edited");
    REQUIRE_THROWS_WITH(checkpoint_alphabet(file, 2, "c"), Catch::Matchers::Contains("has 3 symbols, but the model's vocabulary is 2"));
    file.metadata["data.alphabet"] = "";
    REQUIRE_THROWS_WITH(checkpoint_alphabet(file, 3, "c"), Catch::Matchers::Contains("has 0 symbols"));
    file.metadata["data.alphabet"] = "616261";
    REQUIRE_THROWS_WITH(checkpoint_alphabet(file, 3, "c"), Catch::Matchers::Contains("holds 'a' (0x61) twice (again at token 2)"));
    file.metadata.erase("data.alphabet");
    REQUIRE_THROWS_WITH(checkpoint_alphabet(file, 3, "c"), Catch::Matchers::Contains("'data.alphabet' is missing"));
}

TEST_CASE("alphabet_difference says what differs, not only the sizes", "[samples][train_lm]") {
    CHECK(alphabet_difference({'a', 'b'}, {'a', 'b'}).empty());
    CHECK(alphabet_difference({'a', 'b'}, {'a', 'b', 'c'}) == "2 symbols, the data has 3");
    CHECK(alphabet_difference({'a', 'b', '\n'}, {'a', 'c', '\n'}) ==
          "same size (3 symbols), but token 1 is 'b' (0x62) in the checkpoint and 'c' (0x63) in the data");
    CHECK(alphabet_difference({0x01}, {0xff}) == "same size (1 symbols), but token 0 is 0x01 in the checkpoint and 0xff in the data");
}

TEST_CASE("the step counters of a checkpoint must agree and be within --steps", "[samples][train_lm][errors]") {
    CHECK_NOTHROW(check_step_counters(5, 5, 5, 5, "c"));
    REQUIRE_THROWS_WITH(check_step_counters(5, 4, 5, 10, "c"), Catch::Matchers::Contains("train.step 5, the optimizer's step count 4, the schedule's position 5"));
    REQUIRE_THROWS_WITH(check_step_counters(5, 5, 6, 10, "c"), Catch::Matchers::Contains("the step counters disagree"));
    REQUIRE_THROWS_WITH(check_step_counters(11, 11, 11, 10, "c"), "c: the checkpoint is at step 11, past --steps 10; resume with --steps of at least 11");
}

TEST_CASE("evaluation chunks stay within a memory budget however wide a position is", "[samples][train_lm]") {
    tapegrad::Tape<float> tape;
    tapegrad::Generator gen(1);
    // context(8, 24) linear(384) tanh linear(77): ids 9·8 B, matrices (78+24)+(192+384)+(1+384)+(384+77)+(1+77)
    // = 1602 elements of 4 B: 72 + 4·1602 = 6480 B per position, so 4096 positions (26.5 MB) fit in 256 MiB.
    auto small = tapegrad::build_model<float>("context(8, 24) linear(384) tanh linear(vocab)", 77, tape, gen);
    CHECK(bytes_per_position(*small) == 72 + 4 * 1602);
    CHECK(eval_chunk_positions(*small) == 4096);
    // context(100000, 1) linear(vocab) with vocab 3: 8·100001 + 4·((4+1) + (100000+3) + (1+3)) = 1200056 B per
    // position: ⌊268435456 / 1200056⌋ = 223 positions per chunk (the context(1000000, 1) alike, 10× smaller).
    auto wide = tapegrad::build_model<float>("context(100000, 1) linear(vocab)", 3, tape, gen);
    CHECK(bytes_per_position(*wide) == 1200056);
    CHECK(eval_chunk_positions(*wide) == 223);
    // ...and evaluating in those chunks gives the mean of the per-position losses, one position at a time.
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 500; ++i) ids.push_back(i % 3);
    const double chunked = evaluate(*wide, ids, 3);
    double sum = 0;
    {
        tapegrad::NoGradGuard<float> no_grad(tape);
        Batch b;
        for (std::size_t p = 0; p + 1 < ids.size(); ++p) {
            const std::vector<std::size_t> one = {p};
            fill_batch(ids, one, wide->context_size(), 3, b);
            sum += double(tapegrad::cross_entropy((*wide)(tapegrad::TokenInput{b.contexts, wide->context_size()}), b.targets).item());
            tape.clear();
        }
    }
    CHECK(chunked == Approx(sum / double(ids.size() - 1)).epsilon(1e-5));
}

TEST_CASE("a training step that cannot fit in memory is refused before it allocates, with what it needs", "[samples][train_lm][errors]") {
    tapegrad::Tape<float> tape;
    tapegrad::Generator gen(1);
    auto wide = tapegrad::build_model<float>("context(100000, 1) linear(vocab)", 3, tape, gen);
    CHECK_NOTHROW(check_training_fits(*wide, 16, "w"));
    // 2 · 1200056 B · 2^24 positions = 40 TB: more than any machine this runs on
    REQUIRE_THROWS_WITH(check_training_fits(*wide, std::size_t(1) << 24, "w"),
                        Catch::Matchers::StartsWith("out of memory: a training step of 'w' with --batch 16777216 needs about 40") &&
                            Catch::Matchers::Contains("1 MB of activations per position"));
}

TEST_CASE("a stop request ends evaluation and sampling between chunks", "[samples][train_lm]") {
    tapegrad::Tape<float> tape;
    tapegrad::Generator gen(1);
    auto model = tapegrad::build_model<float>("embed(4) linear(vocab)", 3, tape, gen);
    std::vector<std::int64_t> ids(100, 1);
    struct Reset {
        ~Reset() { clear_stop(); }
    } reset;
    request_stop();
    REQUIRE_THROWS_AS(evaluate(*model, ids, 0), Interrupted);
    REQUIRE_THROWS_WITH(sample(*model, {}, 10, 1.0, 1, 0), "interrupted during sampling");
    CHECK(model->is_training());  // the mode is restored however the phase ends
    clear_stop();
    std::string streamed;
    const auto kept = sample(*model, {}, 7, 1.0, 1, 0, [&](std::int64_t id) { streamed += char('0' + id); });
    CHECK(streamed.size() == 7);
    CHECK(kept.empty());  // streamed tokens are not kept
    CHECK(sample(*model, {}, 7, 1.0, 1, 0).size() == 7);
}

TEST_CASE("reseed_dropout gives rank 1 its own masks, in nested blocks too, and leaves rank 0's alone", "[samples][train_lm]") {
    // The only Dropout sits inside a residual block: a walk of the top level alone would miss it.
    const std::string spec = "embed(8) residual(dropout(0.5) linear(8)) linear(vocab)";
    const std::vector<std::int64_t> ids = {1, 2, 3, 4, 5, 6, 7, 0};
    auto output_on_rank = [&](int rank) {
        tapegrad::Tape<float> tape;
        tapegrad::Generator gen(3);
        auto model = tapegrad::build_model<float>(spec, 10, tape, gen);
        reseed_dropout(*model, 42, rank);
        return (*model)(tapegrad::TokenInput{ids}).value();
    };
    const tapegrad::Tensor<float> single = [&] {  // a single process: no reseeding at all
        tapegrad::Tape<float> tape;
        tapegrad::Generator gen(3);
        auto model = tapegrad::build_model<float>(spec, 10, tape, gen);
        return tapegrad::Tensor<float>((*model)(tapegrad::TokenInput{ids}).value());
    }();
    const bool rank0_same = output_on_rank(0) == single, rank1_differs = output_on_rank(1) != single;
    CHECK(rank0_same);
    CHECK(rank1_differs);
}

TEST_CASE("a windowed spec trains with the GPT preset's optimizer unless told otherwise", "[samples][train_lm]") {
    CHECK(is_windowed_spec("gpt"));
    CHECK(is_windowed_spec("embed(64) position(32) repeat(2, residual(layernorm attention(4))) layernorm tied"));
    CHECK(is_windowed_spec("embed(64) repeat(1, position(32)) linear(vocab)"));  // found inside a block
    CHECK_FALSE(is_windowed_spec("context(8, 24) linear(384) tanh linear(vocab)"));
    CHECK_FALSE(is_windowed_spec("seed"));
    CHECK_FALSE(is_windowed_spec("embed(64) position(32"));  // does not parse: building reports it

    TrainOptions opt;
    const TrainOptions before = opt;
    use_gpt_optimizer(opt, [](const char* flag) { return std::string(flag) == "--lr"; });
    CHECK(opt.adamw);
    CHECK(opt.lr == before.lr);  // given on the command line: kept
    CHECK(opt.beta2 == 0.99);
    CHECK(opt.weight_decay == 0.1);
    CHECK(opt.warmup == 100);
    CHECK(opt.clip == 1.0);
    CHECK(opt.min_lr_ratio == 0.1);
    CHECK(opt.steps == before.steps);  // the run's length and batch are the user's, not the preset's
    CHECK(opt.batch == before.batch);
}

// The final evaluation's train-split estimate: drawn units (positions, or whole windows for a windowed model)
// with replacement, their mean and its standard error. Against the exact mean over every position: within
// 4 standard errors (a false alarm about once in 16,000 runs, and the seed is fixed), and the standard error
// itself of the size σ/√m predicts (σ of the per-unit losses, m units).
TEST_CASE("estimate_loss: the sampled train loss is within a few standard errors of the exact one", "[samples][train_lm]") {
    const Corpus corpus = make_corpus(read_text({"/usr/share/common-licenses/GPL-3"}), "GPL-3");
    const std::size_t vocab = corpus.vocab(), pad = vocab;
    for (const std::string spec : {"context(4, 8) linear(32) tanh linear(vocab)",
                                   "embed(16) position(32) residual(layernorm attention(2)) layernorm tied"}) {
        DYNAMIC_SECTION(spec) {
            tapegrad::Tape<float> tape;
            tapegrad::Generator gen(5);
            auto model = tapegrad::build_model<float>(spec, vocab, tape, gen);
            const double exact = evaluate(*model, corpus.train, pad);
            const LossEstimate e = estimate_loss(*model, corpus.train, pad, 4000, 11);
            INFO("exact " << exact << ", estimate " << e.mean << " ± " << e.standard_error << " from " << e.positions);
            CHECK(e.positions >= 3968);  // 4000 positions, or 125 windows of 32
            CHECK(e.standard_error > 0);
            CHECK(e.standard_error < 0.1);
            CHECK(std::abs(e.mean - exact) < 4 * e.standard_error);
            // the same seed draws the same sample
            CHECK(estimate_loss(*model, corpus.train, pad, 4000, 11).mean == e.mean);
        }
    }
}

TEST_CASE("the final evaluation: sampled by default, exact or skipped when asked, and labelled", "[samples][train_lm]") {
    const Corpus corpus = make_corpus(read_text({"/usr/share/common-licenses/GPL-3"}), "GPL-3");
    for (const auto fe : {TrainOptions::FinalEval::sampled, TrainOptions::FinalEval::exact, TrainOptions::FinalEval::none}) {
        TrainOptions opt;
        opt.steps = 20;
        opt.sample_length = 5;
        opt.final_eval = fe;
        opt.out_dir = std::filesystem::temp_directory_path() / ("train_lm_final_eval_" + std::to_string(::getpid()));
        std::ostringstream log;
        const TrainSummary s = train(corpus, opt, log);
        INFO(log.str());
        std::filesystem::remove_all(opt.out_dir);
        if (fe == TrainOptions::FinalEval::none) {
            CHECK(std::isnan(s.train_loss));
            CHECK(std::isnan(s.val_loss));
            CHECK(log.str().find("final evaluation skipped") != std::string::npos);
            continue;
        }
        CHECK(std::isfinite(s.val_loss));
        const bool sampled = fe == TrainOptions::FinalEval::sampled;
        CHECK(s.train_loss_exact == !sampled);
        CHECK((s.train_loss_stderr > 0) == sampled);
        CHECK(s.train_loss_positions == (sampled ? corpus.val.size() - 1 : corpus.train.size() - 1));
        CHECK((log.str().find("estimate from") != std::string::npos) == sampled);
    }
}
