#include "trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <ostream>
#include <stdexcept>

#include "batches.hpp"
#include "format.hpp"
#include "step_log.hpp"
#include "loss_plot.hpp"
#include "memory_plan.hpp"
#include "run_directory.hpp"
#include "entropy.hpp"
#include "ranks.hpp"
#include "tapegrad/autodiff/threads.hpp"
#include "tapegrad/optim/optim.hpp"

namespace train_lm {

using namespace tapegrad;
using Clock = std::chrono::steady_clock;

namespace {
void reseed_dropout_below(const Module<float>& m, std::uint64_t seed, int rank, std::uint64_t& number) {
    for (const auto& [name, child] : m.children()) {
        if (auto* d = dynamic_cast<Dropout<float>*>(child.get()))
            d->reseed(seed * 0x9E3779B97F4A7C15ull + std::uint64_t(rank) * 0x100000001B3ull + number);
        ++number;
        reseed_dropout_below(*child, seed, rank, number);
    }
}


// Everything a checkpoint holds besides the model: optimizer, schedule and the run's own settings.
void save(const std::filesystem::path& path, const LanguageModel<float>& model, const Adam<float>& adam,
          const WarmupCosineLR& schedule, const Corpus& corpus, const TrainOptions& opt, std::int64_t step) {
    save_checkpoint<float>(path, model, {{"", adam.state_dict()}, {"", schedule.state_dict<float>()}},
                           {{"train.step", std::to_string(step)},
                            {"train.seed", std::to_string(opt.seed)},
                            {"train.batch", std::to_string(opt.batch)},
                            {"data.alphabet", alphabet_to_hex(corpus.alphabet)},
                            {"data.source", corpus.source}});
}

// Eval mode (no dropout) for a scope; the model's mode before is restored however the scope ends.
class EvalModeScope {
public:
    explicit EvalModeScope(Module<float>& model) : model_(model), was_training_(model.is_training()) { model.eval(); }
    ~EvalModeScope() { model_.train(was_training_); }
    EvalModeScope(const EvalModeScope&) = delete;
    EvalModeScope& operator=(const EvalModeScope&) = delete;

private:
    Module<float>& model_;
    bool was_training_;
};

}  // namespace

void reseed_dropout(Module<float>& model, std::uint64_t seed, int rank) {
    std::uint64_t number = 0;
    if (rank != 0) reseed_dropout_below(model, seed, rank, number);
}

std::string resolve_spec(const std::string& model, std::size_t vocab, std::size_t context) {
    if (model == "default")
        return std::string("context(") + std::to_string(context) + ", 24) linear(384) tanh linear(vocab)";
    if (model == "gpt") return gpt_spec({.vocab = vocab});
    if (model == "seed") {
        // The design note's model (E, W3, W2, W1; no bias, no activation) with d = f = w, so that the
        // product can represent any table of bigram logits.
        return seed_spec({vocab, vocab, vocab});
    }
    return model;
}

bool is_windowed_spec(const std::string& model) {
    if (model == "gpt") return true;
    const auto has_position = [](const auto& self, const std::vector<tapegrad::LayerSpec>& layers) -> bool {
        return std::any_of(layers.begin(), layers.end(),
                           [&](const tapegrad::LayerSpec& l) { return l.name == "position" || self(self, l.body); });
    };
    try {
        return has_position(has_position, tapegrad::parse_spec(model));
    } catch (const tapegrad::SpecError&) {
        return false;  // not a spec (a preset name) or a bad one, which building the model reports
    }
}

void use_gpt_defaults(TrainOptions& opt, const std::function<bool(const char*)>& given) {
    if (!given("--steps")) opt.steps = 2000;
    if (!given("--batch")) opt.batch = 12;
    use_gpt_optimizer(opt, given);
}

void use_gpt_optimizer(TrainOptions& opt, const std::function<bool(const char*)>& given) {
    if (!given("--lr")) opt.lr = 1e-3;
    if (!given("--warmup")) opt.warmup = 100;
    if (!given("--clip")) opt.clip = 1.0;
    if (!given("--eval-every")) opt.eval_every = 250;
    if (!given("--beta2")) opt.beta2 = 0.99;
    if (!given("--weight-decay")) opt.weight_decay = 0.1;
    opt.min_lr_ratio = 0.1;  // cosine to 1e-4
    opt.adamw = true;
}

namespace {

// The mean cross-entropy of a windowed model over positions [0, total) of `ids`: non-overlapping windows
// of T starting at 0, T, 2T, … (the last one shorter when T does not divide total), so that position p is
// predicted from the tokens of its window up to p, as nanoGPT's evaluation reads its blocks.
double evaluate_windows(LanguageModel<float>& model, const std::vector<std::int64_t>& ids, std::size_t window, std::size_t total,
                        const ProgressFn& progress) {
    Tape<float>& tape = model.tape();
    const std::size_t per_chunk = std::max<std::size_t>(1, eval_chunk_positions(model) / window) * window;
    Batch batch;
    double sum = 0;
    for (std::size_t start = 0; start < total;) {
        throw_if_stop_requested("evaluation");
        // whole windows, or the last shorter one alone (a model reads fewer than T rows as one window)
        const std::size_t whole = std::min(per_chunk, (total - start) / window * window);
        const std::size_t rows = whole > 0 ? whole : total - start;
        batch.contexts.assign(ids.begin() + std::ptrdiff_t(start), ids.begin() + std::ptrdiff_t(start + rows));
        batch.targets.assign(ids.begin() + std::ptrdiff_t(start + 1), ids.begin() + std::ptrdiff_t(start + rows + 1));
        Var<float> logits = model(TokenInput{batch.contexts});
        sum += double(cross_entropy(logits, batch.targets, {.reduction = Reduction::sum}).item());
        tape.clear();
        start += rows;
        if (progress) progress(start, total);
    }
    return sum / double(total);
}

}  // namespace

double evaluate(LanguageModel<float>& model, const std::vector<std::int64_t>& ids, std::size_t pad, std::size_t max_positions,
                const ProgressFn& progress) {
    Tape<float>& tape = model.tape();
    NoGradGuard<float> no_grad(tape);
    const EvalModeScope eval_mode(model);
    if (const std::size_t window = model.window_size()) {
        const std::size_t total = max_positions ? std::min(max_positions, ids.size() - 1) : ids.size() - 1;
        return evaluate_windows(model, ids, window, total, progress);
    }
    const std::size_t k = model.context_size();
    std::size_t total = ids.size() - 1;
    if (max_positions && max_positions < total) total = max_positions;
    const std::size_t chunk = eval_chunk_positions(model);
    std::vector<std::size_t> positions;
    Batch batch;
    double sum = 0;
    for (std::size_t start = 0; start < total; start += chunk) {
        throw_if_stop_requested("evaluation");
        positions.clear();
        for (std::size_t p = start; p < std::min(total, start + chunk); ++p) positions.push_back(p);
        fill_batch(ids, positions, k, std::int64_t(pad), batch);
        Var<float> logits = model(TokenInput{batch.contexts, k});
        sum += double(cross_entropy(logits, batch.targets, {.reduction = Reduction::sum}).item());
        tape.clear();
        if (progress) progress(std::min(total, start + chunk), total);
    }
    return sum / double(total);
}

LossEstimate estimate_loss(LanguageModel<float>& model, const std::vector<std::int64_t>& ids, std::size_t pad,
                           std::size_t sample_positions, std::uint64_t seed, const ProgressFn& progress) {
    Tape<float>& tape = model.tape();
    NoGradGuard<float> no_grad(tape);
    const EvalModeScope eval_mode(model);
    Generator gen(seed);
    const std::size_t total = ids.size() - 1, window = model.window_size();
    const std::size_t unit = window ? window : 1;              // positions per unit
    const std::size_t units_available = total / unit;          // whole windows (or positions)
    if (units_available == 0) throw std::invalid_argument("estimate_loss: fewer positions than one window");
    const std::size_t units = std::max<std::size_t>(2, sample_positions / unit);
    const std::size_t per_chunk = std::max<std::size_t>(1, eval_chunk_positions(model) / unit);
    const std::size_t k = window ? 0 : model.context_size();
    std::vector<double> losses;  // one mean loss per unit
    losses.reserve(units);
    std::vector<std::size_t> positions;
    Batch batch;
    for (std::size_t done = 0; done < units;) {
        throw_if_stop_requested("evaluation");
        const std::size_t n = std::min(per_chunk, units - done);
        if (window) {
            batch.contexts.clear();
            batch.targets.clear();
            for (std::size_t u = 0; u < n; ++u) {
                const std::size_t start = std::size_t(gen.below(units_available)) * window;
                batch.contexts.insert(batch.contexts.end(), ids.begin() + std::ptrdiff_t(start),
                                      ids.begin() + std::ptrdiff_t(start + window));
                batch.targets.insert(batch.targets.end(), ids.begin() + std::ptrdiff_t(start + 1),
                                     ids.begin() + std::ptrdiff_t(start + window + 1));
            }
        } else {
            positions.clear();
            for (std::size_t u = 0; u < n; ++u) positions.push_back(std::size_t(gen.below(total)));
            fill_batch(ids, positions, k, std::int64_t(pad), batch);
        }
        Var<float> logits = window ? model(TokenInput{batch.contexts}) : model(TokenInput{batch.contexts, k});
        const Tensor<float>& each = cross_entropy(logits, batch.targets, {.reduction = Reduction::none}).value();
        for (std::size_t u = 0; u < n; ++u) {
            double sum = 0;
            for (std::size_t r = 0; r < unit; ++r) sum += double(each(u * unit + r, 0));
            losses.push_back(sum / double(unit));
        }
        tape.clear();
        done += n;
        if (progress) progress(done * unit, units * unit);
    }
    double mean = 0;
    for (double x : losses) mean += x;
    mean /= double(losses.size());
    double squares = 0;
    for (double x : losses) squares += (x - mean) * (x - mean);
    const double variance = squares / double(losses.size() - 1);  // the sample variance of the units
    return {mean, std::sqrt(variance / double(losses.size())), losses.size() * unit};
}

std::int64_t start_id(const LanguageModel<float>& model, const std::vector<unsigned char>& alphabet) {
    if (const auto pad = model.padding_id()) return *pad;  // a context model starts from its padding id
    const auto nl = std::find(alphabet.begin(), alphabet.end(), (unsigned char)'\n');
    return nl == alphabet.end() ? 0 : std::int64_t(nl - alphabet.begin());
}

std::vector<std::int64_t> sample(LanguageModel<float>& model, std::vector<std::int64_t> prompt, std::size_t length,
                                 double temperature, std::uint64_t seed, std::size_t pad,
                                 const std::function<void(std::int64_t)>& on_token) {
    if (!(temperature > 0) || !std::isfinite(temperature))
        throw std::invalid_argument("sample: temperature must be a finite number > 0, got " + std::to_string(temperature));
    Tape<float>& tape = model.tape();
    NoGradGuard<float> no_grad(tape);
    const EvalModeScope eval_mode(model);
    Generator gen(seed);
    // A windowed model (a GPT) reads the last T tokens as one window and predicts from its last row; the
    // others read the context of k ids ending at the last token. Either way the last k (or T) tokens are all
    // a step reads: a long generation keeps no more than that.
    const std::size_t window = model.window_size();
    const std::size_t k = window ? window : model.context_size();
    std::vector<std::int64_t> context(window ? 0 : k), seq = std::move(prompt), out;
    if (window && seq.empty()) seq.push_back(std::int64_t(pad));  // the start symbol
    if (seq.size() > k) seq.erase(seq.begin(), seq.end() - std::ptrdiff_t(k));
    Tensor<float> row;  // the last position's logits
    for (std::size_t i = 0; i < length; ++i) {
        throw_if_stop_requested("sampling");
        for (std::size_t j = 0; j < context.size(); ++j) {
            const std::size_t back = k - 1 - j;
            context[j] = seq.size() > back ? seq[seq.size() - 1 - back] : std::int64_t(pad);
        }
        const Tensor<float>& logits = window ? model(TokenInput{seq}).value() : model(TokenInput{context, k}).value();
        const std::size_t V = logits.shape()[1];
        const float* last = logits.data() + (logits.shape()[0] - 1) * V;  // the prediction after the last token
        for (std::size_t j = 0; j < V; ++j)
            if (!std::isfinite(last[j]))
                throw DomainError("sample: the model's logit " + std::to_string(j) + " is " + std::to_string(last[j]) +
                                  "; its weights are broken");
        // p = softmax(logits / temperature) of that row, by the library's (stable) softmax
        row.resize({1, V});
        std::copy(last, last + V, row.begin());
        const Tensor<float>& p = softmax(mul(tape.constant(row), 1.0 / temperature)).value();
        // the first j whose cumulative probability exceeds u (the last one if rounding leaves u beyond them all)
        const double u = gen.uniform();
        double cumulative = 0;
        std::size_t next = V - 1;
        for (std::size_t j = 0; j < V; ++j)
            if (u < (cumulative += double(p.data()[j]))) {
                next = j;
                break;
            }
        seq.push_back(std::int64_t(next));
        if (seq.size() > k) seq.erase(seq.begin());
        tape.clear();
        if (on_token) on_token(std::int64_t(next));
        else out.push_back(std::int64_t(next));
    }
    return out;
}

namespace {

// The model, optimizer and schedule a run starts from: built fresh from the spec, or loaded from --resume
// after every check a checkpoint must pass (model, vocabulary, finite state, agreeing step counters).
struct RunState {
    Tape<float> tape;
    std::shared_ptr<SpecModel<float>> model;
    std::unique_ptr<Adam<float>> adam;
    std::unique_ptr<WarmupCosineLR> schedule;
    std::int64_t start_step = 0;
};

void start_run(RunState& run, const Corpus& corpus, TrainOptions& opt) {
    const std::size_t vocab = corpus.vocab();
    run.tape.set_detect_anomaly(opt.detect_anomaly);
    run.tape.set_release_intermediate_gradients(true);  // training reads only the parameters' gradients
    SafetensorsFile resumed;
    if (!opt.resume.empty()) {
        const std::string origin = opt.resume.string();
        run.model = load_model<float>(opt.resume, run.tape, &resumed);  // one read; rejects non-finite weights
        const auto alphabet = checkpoint_alphabet(resumed, run.model->vocab(), origin);
        const std::string diff = alphabet_difference(alphabet, corpus.alphabet);
        if (!diff.empty())
            throw CheckpointError(origin + ": the checkpoint was trained on another vocabulary (" + diff + "); resume with the same --data");
        if (opt.model != "default" && resolve_spec(opt.model, vocab, opt.context) != run.model->spec())
            throw CheckpointError(origin + ": the checkpoint is of the model '" + run.model->spec() + "', but --model asks for '" +
                                  resolve_spec(opt.model, vocab, opt.context) + "'");
        run.start_step = std::int64_t(meta_count(resumed, "train.step", 0, std::uint64_t(std::int64_t(1) << 40)));
        opt.seed = meta_count(resumed, "train.seed", 0);
        opt.batch = meta_count(resumed, "train.batch", 1, std::uint64_t(1) << 24);
    } else {
        Generator gen(opt.seed);
        run.model = build_model<float>(resolve_spec(opt.model, vocab, opt.context), vocab, run.tape, gen);
    }
    // The optimizer of a resumed run is the checkpoint's (its state restores the hyper-parameters below).
    const bool adamw = opt.resume.empty() ? opt.adamw : meta(resumed, "optim.kind") == "AdamW";
    if (adamw)
        run.adam = std::make_unique<AdamW<float>>(
            run.model->named_parameters(),
            AdamWOptions{.lr = opt.lr, .beta2 = opt.beta2, .weight_decay = opt.weight_decay, .decay_matrices_only = true});
    else
        run.adam = std::make_unique<Adam<float>>(run.model->named_parameters(), AdamOptions{.lr = opt.lr, .beta2 = opt.beta2});
    run.schedule = std::make_unique<WarmupCosineLR>(opt.lr, std::min(opt.warmup, opt.steps), opt.steps, opt.lr * opt.min_lr_ratio);
    if (!opt.resume.empty()) {
        const StateDict<float> state = extract_state<float>(resumed, "");
        run.adam->load_state_dict(state);  // rejects non-finite moments and v < 0
        run.schedule->load_state_dict(state);
        check_step_counters(run.start_step, run.adam->step_count(), run.schedule->position(), opt.steps, opt.resume.string());
    }
}

// Progress of a long phase on a terminal: one line redrawn at most 10 times a second.
ProgressFn terminal_progress(std::ostream& out, bool enabled, std::string label) {
    if (!enabled) return {};
    return [&out, label = std::move(label), last = Clock::time_point{}](std::size_t done, std::size_t total) mutable {
        if (Clock::now() - last < std::chrono::milliseconds(100) && done < total) return;
        last = Clock::now();
        out << "\r" << label << " " << num(100.0 * double(done) / double(std::max<std::size_t>(total, 1)), "%.0f") << "% ("
            << done << "/" << total << " positions)" << (done == total ? "\n" : "") << std::flush;
    };
}

// A long phase's progress: on a terminal one redrawn line; otherwise a plain line every 5 s, with the time left.
ProgressFn eval_progress(std::ostream& out, bool terminal, std::string label) {
    if (terminal) return terminal_progress(out, true, std::move(label));
    return [&out, label = std::move(label), start = Clock::now(), last = Clock::now()](std::size_t done, std::size_t total) mutable {
        const auto now = Clock::now();
        if (now - last < std::chrono::seconds(5) || done >= total) return;
        last = now;
        const double elapsed = std::chrono::duration<double>(now - start).count();
        const double left = elapsed * double(total - done) / double(std::max<std::size_t>(done, 1));
        out << label << " " << num(100.0 * double(done) / double(std::max<std::size_t>(total, 1)), "%.0f") << "% (" << done << "/"
            << total << " positions), about " << num(left, "%.0f") << " s left\n" << std::flush;
    };
}

void print_header(std::ostream& out, const Corpus& corpus, const TrainSummary& s, std::size_t k, std::size_t window,
                  const TrainOptions& opt, std::int64_t start_step, const Adam<float>& adam, const WarmupCosineLR& schedule) {
    const AdamOptions a = adam.options();
    out << "data: " << corpus.source << ": " << corpus.train.size() << " train / " << corpus.val.size()
        << " validation tokens, vocabulary " << corpus.vocab() << "\n"
        << "model: " << s.spec << " (" << s.parameters << " parameters, "
        << (window ? "windows of " + std::to_string(window) + " tokens" : "context " + std::to_string(k)) << ")\n"
        << "references (nats/token): unigram entropy train " << num(s.unigram_train) << " val " << num(s.unigram_val)
        << ", bigram entropy train " << num(s.bigram_train) << " val " << num(s.bigram_val) << "\n"
        << "training: steps " << start_step << " -> " << opt.steps << ", batch " << opt.batch << (window ? " windows" : "")
        << ", " << adam.name() << " lr " << opt.lr << " betas (" << a.beta1 << ", " << a.beta2 << ")"
        << (a.weight_decay > 0 ? ", weight decay " + num(a.weight_decay, "%g") + (a.decay_matrices_only ? " on matrices" : "") : std::string())
        << " (warm-up " << schedule.warmup_steps() << ", cosine to " << schedule.floor_lr() << "), seed " << opt.seed << "\n"
        << "compute: " << tapegrad::num_threads() << " thread(s), OpenBLAS " << tapegrad::blas_kernel() << " kernels"
        << (std::getenv("OPENBLAS_CORETYPE") ? std::string(" (OPENBLAS_CORETYPE=") + std::getenv("OPENBLAS_CORETYPE") + ")" : std::string())
        << "\n";
}

}  // namespace

namespace {

// What a step trains on. A windowed model (a GPT) reads --batch windows of T consecutive tokens, the others
// --batch positions with their own contexts. Every rank draws the same global batch from (seed, step) and
// keeps its own rows of it.
class BatchSource {
public:
    BatchSource(const Corpus& corpus, const TrainOptions& opt, const LanguageModel<float>& model, const Ranks& ranks)
        : train_(corpus.train), opt_(opt), window_(model.window_size()), k_(model.context_size()),
          pad_(std::int64_t(corpus.vocab())), first_(ranks.first(opt.batch)), count_(ranks.count(opt.batch)) {}

    std::size_t window() const { return window_; }
    std::size_t context() const { return k_; }
    std::size_t share() const { return count_; }  // rows (windows or positions) of this rank
    std::size_t tokens_per_step() const { return opt_.batch * std::max<std::size_t>(window_, 1); }

    void draw(std::int64_t step, Batch& batch) {
        if (window_) {
            sample_window_starts(train_.size(), window_, opt_.seed, std::uint64_t(step), opt_.batch, starts_);
            fill_windows(train_, std::span(starts_).subspan(first_, count_), window_, batch);
        } else {
            sample_positions(train_.size(), opt_.seed, std::uint64_t(step), opt_.batch, starts_);
            fill_batch(train_, std::span(starts_).subspan(first_, count_), k_, pad_, batch);
        }
    }

private:
    const std::vector<std::int64_t>& train_;
    const TrainOptions& opt_;
    std::size_t window_, k_;
    std::int64_t pad_;
    std::size_t first_, count_;
    std::vector<std::size_t> starts_;
};

// The data must hold a batch: drawn with replacement, but a batch larger than the data it is drawn from is
// a mistake (a typo, or the wrong --data), not a useful setting.
void check_batch_fits_data(const Corpus& corpus, const TrainOptions& opt, std::size_t window, std::size_t tokens_per_step) {
    if (window && corpus.train.size() < window + 1)
        throw std::runtime_error("the training data (" + std::to_string(corpus.train.size()) +
                                 " tokens) is shorter than one window of the model (" + std::to_string(window) + " tokens and the next)");
    if (tokens_per_step > corpus.train.size() - 1)
        throw std::runtime_error(std::string("--batch ").append(std::to_string(opt.batch))
                                     .append(" is larger than the training data (")
                                     .append(std::to_string(corpus.train.size() - 1))
                                     .append(" positions); use a smaller batch or more data"));
}

// The summary's fixed part: the model and the corpus's reference entropies.
TrainSummary reference_summary(const Corpus& corpus, const SpecModel<float>& model, int ranks) {
    TrainSummary s;
    s.ranks = ranks;
    s.spec = model.spec();
    s.parameters = model.parameter_count();
    s.unigram_train = unigram_entropy(corpus.train, corpus.vocab());
    s.unigram_val = unigram_entropy(corpus.val, corpus.vocab());
    s.bigram_train = bigram_entropy(corpus.train, corpus.vocab());
    s.bigram_val = bigram_entropy(corpus.val, corpus.vocab());
    return s;
}

// One training step on `batch`: forward, backward, the ranks' average, clipping, the update. Returns the
// loss averaged over the global batch.
double train_step(RunState& run, const Batch& batch, std::size_t k, Ranks& ranks, const TrainOptions& opt,
                  const std::vector<NamedParameter<float>>& params, TrainSummary& s) {
    run.schedule->apply(*run.adam);
    run.adam->zero_grad();
    Var<float> loss = cross_entropy((*run.model)(TokenInput{batch.contexts, k}), batch.targets);
    loss.backward();
    ranks.average_gradients();  // before clipping: every rank clips the same averaged gradient
    s.allreduce_seconds += ranks.last_allreduce_seconds();
    if (opt.clip > 0) clip_grad_norm(params, opt.clip);
    run.adam->step();
    run.schedule->step();
    const double l = ranks.mean(loss.item());  // the mean over the global batch (equal shares)
    run.tape.clear();
    return l;
}

// The periodic validation estimate (eval_positions); a stop request during it ends it early (NaN), and the
// loop then saves and stops.
double periodic_validation(LanguageModel<float>& model, const Corpus& corpus, const TrainOptions& opt) {
    try {
        return evaluate(model, corpus.val, corpus.vocab(), opt.eval_positions);
    } catch (const Interrupted&) {
        return std::numeric_limits<double>::quiet_NaN();
    }
}

// After training, rank 0's: the loss over every position of both splits, the loss curve, and a sample that
// streams as it is drawn.
void final_report(LanguageModel<float>& model, const Corpus& corpus, const TrainOptions& opt, double train_seconds,
                  std::int64_t steps_done, TrainSummary& s, std::ostream& out) {
    const std::size_t pad = corpus.vocab();
    using FinalEval = TrainOptions::FinalEval;
    const std::size_t train_positions = corpus.train.size() - 1, val_positions = corpus.val.size() - 1;
    const bool train_exact = opt.final_eval == FinalEval::exact || train_positions <= val_positions;
    if (opt.final_eval == FinalEval::none) {
        s.train_loss = s.val_loss = std::numeric_limits<double>::quiet_NaN();
        s.train_loss_exact = false;
        out << "final evaluation skipped (--final-eval none)\n";
    } else {
        out << (train_exact ? "evaluating on every position of both splits...\n"
                            : "evaluating on every position of the validation split and " + std::to_string(val_positions) +
                                  " random positions of the train split (--final-eval exact: every position)...\n")
            << std::flush;
        const auto te = Clock::now();
        s.val_loss = evaluate(model, corpus.val, pad, 0, eval_progress(out, opt.progress_bar, "  validation split:"));
        if (train_exact) {
            s.train_loss = evaluate(model, corpus.train, pad, 0, eval_progress(out, opt.progress_bar, "  train split:"));
            s.train_loss_positions = train_positions;
        } else {
            const LossEstimate e = estimate_loss(model, corpus.train, pad, val_positions, opt.seed ^ 0x9e3779b97f4a7c15ULL,
                                                 eval_progress(out, opt.progress_bar, "  train split (sample):"));
            s.train_loss = e.mean;
            s.train_loss_stderr = e.standard_error;
            s.train_loss_positions = e.positions;
        }
        s.train_loss_exact = train_exact;
        s.eval_positions_per_s = double(s.train_loss_positions + val_positions) /
                                 std::max(std::chrono::duration<double>(Clock::now() - te).count(), 1e-9);
    }
    const std::string train_figure =
        opt.final_eval == FinalEval::none ? std::string("skipped")
        : train_exact ? num(s.train_loss)
                      : "≈ " + num(s.train_loss) + " ± " + num(s.train_loss_stderr) + " (estimate from " +
                            std::to_string(s.train_loss_positions) + " random positions)";
    out << "final loss (nats/token): train " << train_figure << " (bigram " << num(s.bigram_train) << ", unigram "
        << num(s.unigram_train) << "), validation " << (opt.final_eval == FinalEval::none ? std::string("skipped") : num(s.val_loss))
        << " (bigram " << num(s.bigram_val) << ", unigram " << num(s.unigram_val) << ")\n"
        << "speed: " << num(s.tokens_per_s, "%.0f") << " tokens/s over " << num(train_seconds, "%.1f") << " s of training, evaluation "
        << num(s.eval_positions_per_s, "%.0f") << " positions/s";
    if (s.ranks > 1)
        out << " on " << s.ranks << " ranks (gradient MPI_Allreduce " << num(s.allreduce_seconds, "%.2f") << " s, "
            << num(1e3 * s.allreduce_seconds / double(std::max<std::int64_t>(1, steps_done)), "%.2f") << " ms/step)";
    out << "\n";
    const PlotResult plot = plot_losses(opt.out_dir, s.spec, s.bigram_val, s.unigram_val);
    if (plot.ok) out << "loss curve: " << (opt.out_dir / "loss.png").string() << "\n";
    else out << "warning: no loss.png (" << plot.message << "); " << (opt.out_dir / "train_log.csv").string() << " has the data\n";
    out << "sample (temperature " << opt.temperature << ", seed " << opt.seed << "):\n" << std::flush;
    sample(model, {}, opt.sample_length, opt.temperature, opt.seed, std::size_t(start_id(model, corpus.alphabet)),
           [&](std::int64_t id) {
               const char c = char(corpus.alphabet[std::size_t(id)]);
               s.sample += c;
               out << c << std::flush;
           });
    out << "\n";
}

}  // namespace

TrainSummary train(const Corpus& corpus, const TrainOptions& opt_in, std::ostream& lead_out) {
    TrainOptions opt = opt_in;
    if (opt.threads > 0) tapegrad::set_num_threads(opt.threads);
    const int rank = Ranks::process_rank(opt.data_parallel);
    std::ostream null_out(nullptr);  // the other ranks' output goes nowhere
    std::ostream& out = rank == 0 ? lead_out : null_out;
    // Only rank 0 writes: it locks the directory and checks it first, failing early with the path.
    std::optional<RunDirectory> run_dir;
    if (rank == 0) run_dir.emplace(opt.out_dir, opt.resume, opt.overwrite, out);

    // 1. The model, optimizer and schedule: fresh, or from --resume after every check.
    RunState run;
    start_run(run, corpus, opt);
    SpecModel<float>& model = *run.model;
    const std::int64_t start_step = run.start_step;
    // 2. The ranks: every rank built or loaded the same model; broadcasting rank 0's values makes sure of it.
    Ranks ranks(opt.data_parallel, model.named_parameters());
    ranks.broadcast_parameters();
    reseed_dropout(model, opt.seed, ranks.rank());
    // 3. The batches, checked against the data and the memory before the first step.
    BatchSource batches(corpus, opt, model, ranks);
    check_batch_fits_data(corpus, opt, batches.window(), batches.tokens_per_step());
    check_training_fits(model, batches.tokens_per_step(), model.spec());

    TrainSummary s = reference_summary(corpus, model, ranks.world());
    print_header(out, corpus, s, batches.context(), batches.window(), opt, start_step, *run.adam, *run.schedule);
    if (ranks.world() > 1)
        out << "data-parallel: " << ranks.world() << " ranks, " << batches.share() << (batches.window() ? " windows" : " positions")
            << " each per step\n";
    const auto csv_path = opt.out_dir / "train_log.csv";
    StepLog log(csv_path, ranks.lead(), start_step > 0 && std::filesystem::exists(csv_path), opt.progress_bar, out);
    const auto ckpt = opt.out_dir / "checkpoint.safetensors";

    // 4. The steps, each followed by its log line, and the periodic estimates and checkpoints.
    const auto params = model.named_parameters();
    Batch batch;
    double smooth = 0, train_seconds = 0;
    std::int64_t step = start_step;
    const auto t0 = Clock::now();
    for (; step < opt.steps; ++step) {
        const auto ts = Clock::now();
        batches.draw(step, batch);
        const double l = train_step(run, batch, batches.context(), ranks, opt, params, s);
        train_seconds += std::chrono::duration<double>(Clock::now() - ts).count();
        smooth = step == start_step ? l : 0.98 * smooth + 0.02 * l;

        const std::int64_t done = step + 1;
        StepFigures f{.done = done, .total = opt.steps, .lr = run.adam->lr(), .smooth_loss = smooth,
                      .tokens_per_s = double(done - start_step) * double(batches.tokens_per_step()) / std::max(train_seconds, 1e-9),
                      .seconds_left = train_seconds / double(done - start_step) * double(opt.steps - done),
                      .evaluated = done % opt.eval_every == 0 || done == opt.steps, .val = 0, .bigram_val = s.bigram_val};
        if (f.evaluated && ranks.lead()) f.val = periodic_validation(model, corpus, opt);
        log.record(f);
        if (ranks.lead() && done % opt.checkpoint_every == 0 && done != opt.steps)
            save(ckpt, model, *run.adam, *run.schedule, corpus, opt, done);
        // A signal seen by any rank stops all of them after the same step. --stop-after N stops like a
        // signal, unless the run ends at that step anyway.
        const bool stop_after = opt.stop_after > 0 && done - start_step >= opt.stop_after && done < opt.steps;
        if (ranks.any(stop_requested() || stop_after)) {
            ++step;
            s.interrupted = done < opt.steps || stop_requested();
            break;
        }
    }
    s.steps = step;
    s.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    s.tokens_per_s = double(step - start_step) * double(batches.tokens_per_step()) / std::max(train_seconds, 1e-9);
    // 5. The last checkpoint. No rank leaves before it is written: under mpirun a rank's non-zero exit (130
    // when interrupted) ends the whole job.
    if (ranks.lead()) {
        log.close();
        save(ckpt, model, *run.adam, *run.schedule, corpus, opt, step);
        out << (s.interrupted ? "\ninterrupted: " : "") << "checkpoint: " << ckpt.string() << " (step " << step << ")\n";
    }
    ranks.barrier();
    // 6. Rank 0's final evaluation, plot and sample.
    if (!s.interrupted && ranks.lead()) final_report(model, corpus, opt, train_seconds, step - start_step, s, out);
    return s;
}

}  // namespace train_lm
