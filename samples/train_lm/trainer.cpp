#include "trainer.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include "batches.hpp"
#include "entropy.hpp"
#include "ranks.hpp"
#include "optim/optim.hpp"

namespace train_lm {

using namespace tapegrad;
using Clock = std::chrono::steady_clock;

std::atomic<bool> stop_requested{false};

namespace {

std::string num(double x, const char* fmt = "%.4f") {
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, x);
    return buf;
}

std::string duration(double seconds) {
    const long s = long(seconds + 0.5);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    return buf;
}

// Dropout masks differ between ranks (each rank drops from its own rows) yet stay reproducible: rank r > 0
// reseeds each Dropout layer from (seed, r, layer); rank 0 keeps the masks a single process would draw.
void reseed_dropout(Sequential<float>& model, std::uint64_t seed, int rank) {
    if (rank == 0) return;
    for (std::size_t i = 0; i < model.size(); ++i)
        if (auto* d = dynamic_cast<Dropout<float>*>(&model[i]))
            d->reseed(seed * 0x9E3779B97F4A7C15ull + std::uint64_t(rank) * 0x100000001B3ull + i);
}

std::string meta(const SafetensorsFile& file, const std::string& key) {
    const auto it = file.metadata.find(key);
    if (it == file.metadata.end()) throw CheckpointError("checkpoint: metadata '" + key + "' is missing (not a train_lm checkpoint?)");
    return it->second;
}

// A count stored in the metadata: the whole string a decimal integer in [min, max] (std::stoll and friends
// would accept "12x", wrap "-1" around, or throw std::invalid_argument without naming the key).
std::uint64_t meta_count(const SafetensorsFile& file, const std::string& key, std::uint64_t min,
                         std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
    const std::string text = meta(file, key);
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
        throw CheckpointError(std::string("checkpoint: metadata '").append(key).append("' is '").append(text)
                                  .append("', expected an integer in [").append(std::to_string(min)).append(", ")
                                  .append(std::to_string(max)).append("]"));
    return value;
}

// Everything a checkpoint holds besides the model: optimizer, schedule and the run's own settings.
void save(const std::filesystem::path& path, const Sequential<float>& model, const Adam<float>& adam,
          const WarmupCosineLR& schedule, const Corpus& corpus, const TrainOptions& opt, std::int64_t step) {
    save_checkpoint<float>(path, model, {{"", adam.state_dict()}, {"", schedule.state_dict<float>()}},
                           {{"train.step", std::to_string(step)},
                            {"train.seed", std::to_string(opt.seed)},
                            {"train.batch", std::to_string(opt.batch)},
                            {"data.alphabet", alphabet_to_hex(corpus.alphabet)},
                            {"data.source", corpus.source}});
}

void write_plot(const std::filesystem::path& dir, const TrainSummary& s, std::ostream& out) {
    const std::filesystem::path script = dir / "loss.gp";
    std::ofstream gp(script);
    gp << "set terminal pngcairo size 900,540 noenhanced\n"
       << "set output '" << (dir / "loss.png").string() << "'\n"
       << "set datafile separator ','\nset key top right\nset grid\n"
       << "set xlabel 'step'\nset ylabel 'cross-entropy (nats/token)'\n"
       << "set title 'train_lm: " << s.spec << "'\n"
       << "plot '" << (dir / "train_log.csv").string() << "' using 1:3 every ::1 with lines title 'train (batch, smoothed)', \\\n"
       << "     '' using 1:($4 > 0 ? $4 : 1/0) every ::1 with linespoints title 'validation', \\\n"
       << "     " << s.bigram_val << " with lines dashtype 2 title 'bigram entropy (val)', \\\n"
       << "     " << s.unigram_val << " with lines dashtype 3 title 'unigram entropy (val)'\n";
    gp.close();
    const std::string cmd = "gnuplot '" + script.string() + "' 2>&1";
    if (std::system(cmd.c_str()) != 0)
        out << "warning: gnuplot failed or is missing (Debian: gnuplot-nox); no loss.png, the CSV has the data\n";
    else
        out << "loss curve: " << (dir / "loss.png").string() << "\n";
}

}  // namespace

std::string alphabet_to_hex(const std::vector<unsigned char>& alphabet) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char b : alphabet) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

std::vector<unsigned char> alphabet_from_hex(const std::string& hex) {
    auto value = [&](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        throw CheckpointError("checkpoint: data.alphabet is not hexadecimal");
    };
    if (hex.size() % 2) throw CheckpointError("checkpoint: data.alphabet has an odd length");
    std::vector<unsigned char> out;
    for (std::size_t i = 0; i < hex.size(); i += 2) out.push_back((unsigned char)(value(hex[i]) * 16 + value(hex[i + 1])));
    return out;
}

std::string resolve_spec(const std::string& model, std::size_t vocab, std::size_t context) {
    if (model == "default")
        return std::string("context(") + std::to_string(context) + ", 24) linear(384) tanh linear(vocab)";
    if (model == "seed") {
        // The design note's model (E, W3, W2, W1; no bias, no activation) with d = f = w, so that the
        // product can represent any table of bigram logits.
        const std::string d = std::to_string(vocab);
        return std::string("embed(") + d + ") linear(" + d + ", bias=false) linear(" + d + ", bias=false) linear(vocab, bias=false)";
    }
    return model;
}

double evaluate(Module<float>& model, const std::vector<std::int64_t>& ids, std::size_t pad, std::size_t max_positions) {
    Tape<float>& tape = model.tape();
    NoGradGuard<float> no_grad(tape);
    const bool was_training = model.is_training();
    model.eval();
    const std::size_t k = model.context_size();
    std::size_t total = ids.size() - 1;
    if (max_positions && max_positions < total) total = max_positions;
    constexpr std::size_t chunk = 4096;
    std::vector<std::size_t> positions;
    Batch batch;
    double sum = 0;
    for (std::size_t start = 0; start < total; start += chunk) {
        positions.clear();
        for (std::size_t p = start; p < std::min(total, start + chunk); ++p) positions.push_back(p);
        fill_batch(ids, positions, k, std::int64_t(pad), batch);
        Var<float> logits = model(TokenInput{batch.contexts, k});
        sum += double(cross_entropy(logits, batch.targets, {.reduction = Reduction::sum}).item());
        tape.clear();
    }
    model.train(was_training);
    return sum / double(total);
}

std::int64_t start_id(const Sequential<float>& model, const std::vector<unsigned char>& alphabet) {
    if (model.size() > 0 && dynamic_cast<const ContextEmbedding<float>*>(&model[0]))
        return static_cast<const ContextEmbedding<float>&>(model[0]).padding_id();
    const auto nl = std::find(alphabet.begin(), alphabet.end(), (unsigned char)'\n');
    return nl == alphabet.end() ? 0 : std::int64_t(nl - alphabet.begin());
}

std::vector<std::int64_t> sample(Module<float>& model, std::vector<std::int64_t> prompt, std::size_t length,
                                 double temperature, std::uint64_t seed, std::size_t pad) {
    if (!(temperature > 0)) throw std::invalid_argument("sample: temperature must be positive");
    Tape<float>& tape = model.tape();
    NoGradGuard<float> no_grad(tape);
    const bool was_training = model.is_training();
    model.eval();
    Generator gen(seed);
    const std::size_t k = model.context_size();
    std::vector<std::int64_t> context(k), seq = std::move(prompt), out;
    std::vector<double> p;
    for (std::size_t i = 0; i < length; ++i) {
        for (std::size_t j = 0; j < k; ++j) {
            const std::size_t back = k - 1 - j;
            context[j] = seq.size() > back ? seq[seq.size() - 1 - back] : std::int64_t(pad);
        }
        const Tensor<float>& logits = model(TokenInput{context, k}).value();
        // p_j ∝ exp(logit_j / temperature), computed stably in double
        const double top = *std::max_element(logits.begin(), logits.end());
        p.assign(logits.size(), 0.0);
        double z = 0;
        for (std::size_t j = 0; j < p.size(); ++j) z += p[j] = std::exp((double(logits.data()[j]) - top) / temperature);
        double u = gen.uniform() * z;
        std::size_t next = p.size() - 1;
        for (std::size_t j = 0; j < p.size(); ++j) {
            if (u < p[j]) {
                next = j;
                break;
            }
            u -= p[j];
        }
        seq.push_back(std::int64_t(next));
        out.push_back(std::int64_t(next));
        tape.clear();
    }
    model.train(was_training);
    return out;
}

TrainSummary train(const Corpus& corpus, const TrainOptions& opt_in, std::ostream& lead_out) {
    TrainOptions opt = opt_in;
    if (opt.threads > 0) tapegrad::set_num_threads(opt.threads);
    const std::size_t vocab = corpus.vocab(), pad = vocab;
    const int rank = Ranks::process_rank(opt.data_parallel);
    std::ostream null_out(nullptr);  // the other ranks' output goes nowhere
    std::ostream& out = rank == 0 ? lead_out : null_out;
    if (rank == 0) {  // only rank 0 writes; fail early, with the path, when the directory is not writable
        std::filesystem::create_directories(opt.out_dir);
        const auto probe = opt.out_dir / ".write_test";
        std::ofstream f(probe);
        if (!f) throw std::runtime_error("cannot write to the output directory " + opt.out_dir.string());
        f.close();
        std::filesystem::remove(probe);
        // A run killed while saving leaves its temporary file; the checkpoint itself is the previous one, intact.
        for (const auto& stale : remove_stale_temporaries(opt.out_dir / "checkpoint.safetensors"))
            out << "removed " << stale.string() << ", a checkpoint half-written by a killed run\n";
    }

    Tape<float> tape;
    tape.set_detect_anomaly(opt.detect_anomaly);
    Generator gen(opt.seed);
    std::shared_ptr<Sequential<float>> model;
    std::int64_t start_step = 0;
    SafetensorsFile resumed;
    if (!opt.resume.empty()) {
        model = load_model<float>(opt.resume, tape);
        resumed = load_checkpoint(opt.resume, *model);
        if (alphabet_from_hex(meta(resumed, "data.alphabet")) != corpus.alphabet)
            throw CheckpointError(opt.resume.string() + ": the checkpoint was trained on another vocabulary (" +
                                  std::to_string(alphabet_from_hex(meta(resumed, "data.alphabet")).size()) + " symbols, the data has " +
                                  std::to_string(vocab) + "); resume with the same --data");
        if (opt.model != "default" && resolve_spec(opt.model, vocab, opt.context) != model->spec())
            throw CheckpointError(opt.resume.string() + ": the checkpoint is of the model '" + model->spec() +
                                  "', but --model asks for '" + resolve_spec(opt.model, vocab, opt.context) + "'");
        start_step = std::int64_t(meta_count(resumed, "train.step", 0, std::numeric_limits<std::int64_t>::max()));
        opt.seed = meta_count(resumed, "train.seed", 0);
        opt.batch = meta_count(resumed, "train.batch", 1);
    } else {
        model = build_model<float>(resolve_spec(opt.model, vocab, opt.context), vocab, tape, gen);
    }
    // Batches are drawn with replacement, but a batch larger than the data it is drawn from is a mistake
    // (a typo, or the wrong --data), not a useful setting.
    if (opt.batch > corpus.train.size() - 1)
        throw std::runtime_error(std::string("--batch ").append(std::to_string(opt.batch))
                                     .append(" is larger than the training data (")
                                     .append(std::to_string(corpus.train.size() - 1))
                                     .append(" positions); use a smaller batch or more data"));
    const std::size_t k = model->context_size();
    // Every rank built or loaded the same model; broadcasting rank 0's values makes sure of it.
    Ranks ranks(opt.data_parallel, model->named_parameters());
    ranks.broadcast_parameters();
    reseed_dropout(*model, opt.seed, ranks.rank());
    const std::size_t share_first = ranks.first(opt.batch), share_count = ranks.count(opt.batch);
    Adam<float> adam(model->named_parameters(), {.lr = opt.lr});
    WarmupCosineLR schedule(opt.lr, std::min(opt.warmup, opt.steps), opt.steps, opt.lr * opt.min_lr_ratio);
    if (!opt.resume.empty()) {
        const StateDict<float> state = extract_state<float>(resumed, "");
        adam.load_state_dict(state);
        schedule.load_state_dict(state);
    }

    TrainSummary s;
    s.ranks = ranks.world();
    s.spec = model->spec();
    s.parameters = model->parameter_count();
    s.unigram_train = unigram_entropy(corpus.train, vocab);
    s.unigram_val = unigram_entropy(corpus.val, vocab);
    s.bigram_train = bigram_entropy(corpus.train, vocab);
    s.bigram_val = bigram_entropy(corpus.val, vocab);
    out << "data: " << corpus.source << ": " << corpus.train.size() << " train / " << corpus.val.size()
        << " validation tokens, vocabulary " << vocab << "\n"
        << "model: " << s.spec << " (" << s.parameters << " parameters, context " << k << ")\n"
        << "references (nats/token): unigram entropy train " << num(s.unigram_train) << " val " << num(s.unigram_val)
        << ", bigram entropy train " << num(s.bigram_train) << " val " << num(s.bigram_val) << "\n"
        << "training: steps " << start_step << " -> " << opt.steps << ", batch " << opt.batch << ", Adam lr " << opt.lr
        << " (warm-up " << schedule.warmup_steps() << ", cosine to " << schedule.floor_lr() << "), seed " << opt.seed << "\n";
    if (ranks.world() > 1)
        out << "data-parallel: " << ranks.world() << " ranks, " << share_count << " positions each per step\n";

    const auto csv_path = opt.out_dir / "train_log.csv";
    std::ofstream csv;  // rank 0 only
    if (ranks.lead()) {
        const bool append = start_step > 0 && std::filesystem::exists(csv_path);
        csv.open(csv_path, append ? std::ios::app : std::ios::trunc);
        if (!csv) throw std::runtime_error("cannot write " + csv_path.string());
        if (!append) csv << "step,lr,train_loss,val_loss,tokens_per_s,seconds\n";
    }

    const auto ckpt = opt.out_dir / "checkpoint.safetensors";
    const auto params = model->named_parameters();
    std::vector<std::size_t> positions;
    Batch batch;
    double smooth = 0, train_seconds = 0;
    std::int64_t smooth_n = 0, step = start_step;
    auto last_draw = Clock::now();
    const auto t0 = Clock::now();
    for (; step < opt.steps; ++step) {
        const auto ts = Clock::now();
        // Every rank draws the same global batch from (seed, step) and keeps its own rows of it.
        sample_positions(corpus.train.size(), opt.seed, std::uint64_t(step), opt.batch, positions);
        fill_batch(corpus.train, std::span(positions).subspan(share_first, share_count), k, std::int64_t(pad), batch);
        schedule.apply(adam);
        adam.zero_grad();
        Var<float> loss = cross_entropy(model->forward(TokenInput{batch.contexts, k}), batch.targets);
        loss.backward();
        ranks.average_gradients();  // before clipping: every rank clips the same averaged gradient
        s.allreduce_seconds += ranks.last_allreduce_seconds();
        if (opt.clip > 0) clip_grad_norm(params, opt.clip);
        adam.step();
        schedule.step();
        const double l = ranks.mean(loss.item());  // the mean over the global batch (equal shares)
        tape.clear();
        train_seconds += std::chrono::duration<double>(Clock::now() - ts).count();
        smooth = smooth_n == 0 ? l : 0.98 * smooth + 0.02 * l;
        ++smooth_n;

        const std::int64_t done = step + 1;
        const double tok_s = double(done - start_step) * double(opt.batch) / std::max(train_seconds, 1e-9);
        const bool eval_now = done % opt.eval_every == 0 || done == opt.steps;
        double val = 0;
        if (eval_now && ranks.lead()) val = evaluate(*model, corpus.val, pad, opt.eval_positions);
        if (ranks.lead() && (eval_now || done % 50 == 0))
            csv << done << "," << adam.lr() << "," << smooth << "," << (eval_now ? num(val, "%.6f") : "") << ","
                << num(tok_s, "%.0f") << "," << num(std::chrono::duration<double>(Clock::now() - t0).count(), "%.2f") << "\n";
        const double left = train_seconds / double(done - start_step) * double(opt.steps - done);
        if (opt.progress_bar && (eval_now || Clock::now() - last_draw > std::chrono::milliseconds(100))) {
            last_draw = Clock::now();
            const int width = 30, filled = int(width * double(done) / double(opt.steps));
            out << "\r[" << std::string(std::size_t(filled), '=') << std::string(std::size_t(width - filled), ' ') << "] step "
                << done << "/" << opt.steps << " loss " << num(smooth) << " " << num(tok_s / 1000, "%.1f") << "k tok/s, "
                << duration(left) << " left   " << std::flush;
            if (eval_now) out << "\n  validation loss " << num(val) << " (bigram " << num(s.bigram_val) << ")\n";
        } else if (!opt.progress_bar && eval_now) {
            out << "step " << done << "/" << opt.steps << "  train " << num(smooth) << "  val " << num(val) << "  lr "
                << num(adam.lr(), "%.2e") << "  " << num(tok_s, "%.0f") << " tok/s  " << duration(left) << " left\n"
                << std::flush;
        }
        if (ranks.lead() && done % opt.checkpoint_every == 0 && done != opt.steps)
            save(ckpt, *model, adam, schedule, corpus, opt, done);
        // A signal seen by any rank stops all of them after the same step.
        if (ranks.any(stop_requested || (opt.stop_after > 0 && done - start_step >= opt.stop_after))) {
            ++step;
            s.interrupted = true;
            break;
        }
    }
    s.steps = step;
    s.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    s.tokens_per_s = double(step - start_step) * double(opt.batch) / std::max(train_seconds, 1e-9);
    if (ranks.lead()) {
        csv.close();
        save(ckpt, *model, adam, schedule, corpus, opt, step);
        out << (s.interrupted ? "\ninterrupted: " : "") << "checkpoint: " << ckpt.string() << " (step " << step << ")\n";
    }
    // No rank leaves before the checkpoint is written: under mpirun a rank's non-zero exit (130 when
    // interrupted) ends the whole job. The rest (evaluation, plot, sample) is rank 0's.
    ranks.barrier();
    if (s.interrupted || !ranks.lead()) return s;

    out << "evaluating on every position of both splits...\n" << std::flush;
    s.train_loss = evaluate(*model, corpus.train, pad);
    s.val_loss = evaluate(*model, corpus.val, pad);
    out << "final loss (nats/token): train " << num(s.train_loss) << " (bigram " << num(s.bigram_train) << ", unigram "
        << num(s.unigram_train) << "), validation " << num(s.val_loss) << " (bigram " << num(s.bigram_val) << ", unigram "
        << num(s.unigram_val) << ")\n"
        << "speed: " << num(s.tokens_per_s, "%.0f") << " tokens/s over " << num(train_seconds, "%.1f") << " s of training";
    if (ranks.world() > 1)
        out << " on " << ranks.world() << " ranks (gradient MPI_Allreduce " << num(s.allreduce_seconds, "%.2f") << " s, "
            << num(1e3 * s.allreduce_seconds / double(std::max<std::int64_t>(1, step - start_step)), "%.2f") << " ms/step)";
    out << "\n";
    write_plot(opt.out_dir, s, out);
    s.sample = corpus.decode(
        sample(*model, {}, opt.sample_length, opt.temperature, opt.seed, std::size_t(start_id(*model, corpus.alphabet))));
    out << "sample (temperature " << opt.temperature << ", seed " << opt.seed << "):\n" << s.sample << "\n";
    return s;
}

}  // namespace train_lm
