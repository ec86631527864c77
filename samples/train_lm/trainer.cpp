#include "trainer.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <limits>
#include <optional>
#include <ostream>

#include "batches.hpp"
#include "inference.hpp"
#include "memory_plan.hpp"
#include "ranks.hpp"
#include "report.hpp"
#include "run_directory.hpp"
#include "run_state.hpp"
#include "step_log.hpp"
#include "stop_signals.hpp"
#include "tapegrad/autodiff/threads.hpp"
#include "tapegrad/nn/nn.hpp"
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


// One training step on `batch`: forward, backward, the ranks' average, clipping, the update. Returns the
// loss averaged over the global batch.
double train_step(RunState& run, const Batch& batch, std::size_t k, Ranks& ranks, double clip,
                  const std::vector<NamedParameter<float>>& params, TrainSummary& s) {
    run.schedule->apply(*run.adam);
    run.adam->zero_grad();
    Var<float> loss = cross_entropy((*run.model)(TokenInput{batch.contexts, k}), batch.targets);
    loss.backward();
    ranks.average_gradients();  // before clipping: every rank clips the same averaged gradient
    s.allreduce_seconds += ranks.last_allreduce_seconds();
    if (clip > 0) clip_grad_norm(params, clip);
    run.adam->step();
    run.schedule->step();
    const double l = ranks.mean(loss.item());  // the mean over the global batch (equal shares)
    run.tape.clear();
    return l;
}

// The periodic validation estimate (--eval-positions); a stop request during it ends it early (NaN), and the
// loop then saves and stops.
double periodic_validation(LanguageModel<float>& model, const Corpus& corpus, std::size_t positions) {
    try {
        return evaluate(model, corpus.val, corpus.vocab(), positions);
    } catch (const Interrupted&) {
        return std::numeric_limits<double>::quiet_NaN();
    }
}

}  // namespace

void reseed_dropout(Module<float>& model, std::uint64_t seed, int rank) {
    std::uint64_t number = 0;
    if (rank != 0) reseed_dropout_below(model, seed, rank, number);
}

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
    BatchSource batches(corpus.train, BatchPlan{.batch = opt.batch, .seed = opt.seed, .window = model.window_size(),
                                                .context = model.context_size(), .pad = std::int64_t(corpus.vocab()),
                                                .first = ranks.first(opt.batch), .count = ranks.count(opt.batch)});
    const BatchPlan& plan = batches.plan();
    check_batch_fits_data(corpus.train.size(), opt.batch, plan.window, batches.tokens_per_step());
    check_training_fits(model, batches.tokens_per_step(), model.spec());

    TrainSummary s = reference_summary(corpus, model, ranks.world());
    print_header(out, corpus, s, plan.context, plan.window, opt, start_step, *run.adam, *run.schedule);
    if (ranks.world() > 1)
        out << "data-parallel: " << ranks.world() << " ranks, " << plan.count << (plan.window ? " windows" : " positions")
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
        const double l = train_step(run, batch, plan.context, ranks, opt.clip, params, s);
        train_seconds += std::chrono::duration<double>(Clock::now() - ts).count();
        smooth = step == start_step ? l : 0.98 * smooth + 0.02 * l;

        const std::int64_t done = step + 1;
        StepFigures f{.done = done, .total = opt.steps, .lr = run.adam->lr(), .smooth_loss = smooth,
                      .tokens_per_s = double(done - start_step) * double(batches.tokens_per_step()) / std::max(train_seconds, 1e-9),
                      .seconds_left = train_seconds / double(done - start_step) * double(opt.steps - done),
                      .evaluated = done % opt.eval_every == 0 || done == opt.steps, .val = 0, .bigram_val = s.bigram_val};
        if (f.evaluated && ranks.lead()) f.val = periodic_validation(model, corpus, opt.eval_positions);
        log.record(f);
        if (ranks.lead() && done % opt.checkpoint_every == 0 && done != opt.steps)
            save_run(ckpt, run, corpus, opt.seed, opt.batch, done);
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
        save_run(ckpt, run, corpus, opt.seed, opt.batch, step);
        out << (s.interrupted ? "\ninterrupted: " : "") << "checkpoint: " << ckpt.string() << " (step " << step << ")\n";
    }
    ranks.barrier();
    // 6. Rank 0's final evaluation, plot and sample.
    if (!s.interrupted && ranks.lead()) final_report(model, corpus, opt, train_seconds, step - start_step, s, out);
    return s;
}

}  // namespace train_lm
