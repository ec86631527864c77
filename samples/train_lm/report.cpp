#include "report.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <limits>
#include <ostream>

#include "entropy.hpp"
#include "format.hpp"
#include "inference.hpp"
#include "loss_plot.hpp"
#include "progress.hpp"
#include "tapegrad/autodiff/threads.hpp"

namespace train_lm {

using namespace tapegrad;
using Clock = std::chrono::steady_clock;

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

}  // namespace train_lm
