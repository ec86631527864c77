// train_lm: trains a character-level language model on real text (by default the fortune cookies of
// Debian's fortunes package), prints reference entropies and sampled text, leaves a checkpoint, a CSV log
// and a loss-curve PNG.  `train_lm --help`;  `train_lm generate --checkpoint FILE`.
// In a build with MPI, `mpirun -np N train_lm ...` trains data-parallel on N ranks (README).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <map>
#include <new>
#include <optional>
#include <unistd.h>

#include "tapegrad/autodiff/threads.hpp"
#include "cli_checks.hpp"
#include "inference.hpp"
#include "presets.hpp"
#include "run_checkpoint.hpp"
#include "stop_signals.hpp"
#include "tapegrad/nn/model_file.hpp"
#include "trainer.hpp"
#ifdef TAPEGRAD_WITH_MPI
#include "tapegrad/distributed/mpi_session.hpp"
#endif

namespace {

train_lm::Corpus load_corpus(const std::string& data) {
    if (data.empty()) return train_lm::make_corpus(train_lm::read_text(train_lm::default_corpus_files()), "fortunes");
    if (!std::filesystem::is_regular_file(data))
        throw std::runtime_error("--data " + data + ": not a readable file");
    return train_lm::make_corpus(train_lm::read_text({data}), data);
}

// `train_lm generate`: samples from a checkpoint, streaming each character as it is drawn.
int generate(const std::string& checkpoint, const std::string& prompt, std::size_t length, double temperature,
             std::uint64_t seed) {
    tapegrad::Tape<float> tape;
    tapegrad::SafetensorsFile file;
    auto model = tapegrad::load_model<float>(checkpoint, tape, &file);  // one read; rejects non-finite weights
    if (!file.metadata.count("data.alphabet"))
        throw std::runtime_error(checkpoint + ": not a train_lm checkpoint (no data.alphabet)");
    // The same checks as --resume: one distinct byte per token of the model's vocabulary.
    const auto alphabet = train_lm::checkpoint_alphabet(file, model->vocab(), checkpoint);
    std::vector<std::int64_t> ids;
    for (unsigned char c : prompt) {
        const auto pos = std::find(alphabet.begin(), alphabet.end(), c);
        if (pos == alphabet.end()) throw std::runtime_error(std::string("--prompt: character '") + char(c) + "' is not in the model's vocabulary");
        ids.push_back(pos - alphabet.begin());
    }
    std::cout << prompt << std::flush;
    train_lm::sample(*model, ids, length, temperature, seed, std::size_t(train_lm::start_id(*model, alphabet)),
                     [&](std::int64_t id) { std::cout << char(alphabet[std::size_t(id)]) << std::flush; });
    std::cout << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    // OpenMP threads must sleep, not spin, between loops, or they steal the cores OpenBLAS's GEMMs need; and
    // OpenBLAS must run the CPU's own kernels, not a generic fallback. Both are read at start-up, so this
    // re-executes once when it sets them; before MPI starts: the re-executed process is the same process
    // (same pid) to mpirun.
    tapegrad::reexec_with_machine_settings(argv);
    int rank = 0, world = 1;
#ifdef TAPEGRAD_WITH_MPI
    // MPI only when an MPI launcher started us: a plain run stays a plain process.
    std::optional<tapegrad::MpiSession> mpi;
    if (tapegrad::MpiSession::launched()) {
        mpi.emplace(argc, argv);
        rank = mpi->rank();
        world = mpi->world_size();
    }
#endif
    namespace cli = train_lm::cli;
    CLI::App app{"train_lm: a character-level language model trained with tapegrad"};
    train_lm::TrainOptions opt;
    std::string data;
    bool summary_json = false;
    app.add_option("--data", data, "text file to train on (default: Debian's fortunes corpus)")->check(cli::non_empty());
    app.add_option("--model", opt.model, "'default' (context MLP), 'seed' (the design note's model), 'gpt' (nanoGPT's baby GPT, with its training settings) or a spec")->capture_default_str();
    app.add_option("--context", opt.context, "previous characters the default model reads")->capture_default_str()->check(cli::unsigned_in(1, 256));
    app.add_option("--steps", opt.steps, "training steps")->capture_default_str()->check(cli::integer_in(1, std::int64_t(1) << 40));
    app.add_option("--batch", opt.batch, "positions per step (windows of T tokens for a model with position(T), e.g. --model gpt)")->capture_default_str()->check(cli::unsigned_in(1, std::uint64_t(1) << 24));
    app.add_option("--lr", opt.lr, "peak learning rate (Adam, or AdamW with --weight-decay and --model gpt)")->capture_default_str()->check(cli::finite_positive());
    app.add_option("--beta2", opt.beta2, "Adam's second-moment decay")->capture_default_str()->check(cli::unit_interval());
    app.add_option("--weight-decay", opt.weight_decay, "AdamW's decoupled weight decay on matrices (not on biases and LayerNorm gains)")->capture_default_str()->check(cli::finite_non_negative());
    app.add_option("--warmup", opt.warmup, "linear warm-up steps")->capture_default_str()->check(cli::integer_in(0, std::int64_t(1) << 40));
    app.add_option("--clip", opt.clip, "gradient-norm clip, 0 for none")->capture_default_str()->check(cli::finite_non_negative());
    app.add_option("--seed", opt.seed, "random seed (initialisation, batches, sampling)")->capture_default_str()->check(cli::unsigned_in(0, UINT64_MAX));
    app.add_option("--threads", opt.threads, "threads for the GEMMs (OpenBLAS) and the other loops (OpenMP); 0: their defaults, one per core")->capture_default_str()->check(cli::thread_count());
    const std::map<std::string, train_lm::TrainOptions::FinalEval> final_evals = {
        {"sampled", train_lm::TrainOptions::FinalEval::sampled},
        {"exact", train_lm::TrainOptions::FinalEval::exact},
        {"none", train_lm::TrainOptions::FinalEval::none}};
    app.add_option("--final-eval", opt.final_eval,
                   "after training: sampled (validation exact, train estimated from as many random positions, with its "
                   "standard error), exact (every position of both splits) or none")
        ->transform(CLI::CheckedTransformer(final_evals, CLI::ignore_case))
        ->default_str("sampled");
    app.add_option("--eval-every", opt.eval_every, "steps between validation estimates")->capture_default_str()->check(cli::integer_in(1, std::int64_t(1) << 40));
    app.add_option("--checkpoint-every", opt.checkpoint_every, "steps between checkpoints")->capture_default_str()->check(cli::integer_in(1, std::int64_t(1) << 40));
    app.add_option("--out", opt.out_dir, "output directory (checkpoint, train_log.csv, loss.png); one run at a time")->capture_default_str()->check(cli::non_empty());
    app.add_flag("--overwrite", opt.overwrite, "a fresh run may replace the checkpoint of an earlier run in --out");
    app.add_option("--resume", opt.resume, "continue from this checkpoint")->check(cli::regular_file());
    app.add_option("--stop-after", opt.stop_after, "stop as on Ctrl-C (checkpoint, exit 130) after this many steps")->check(cli::integer_in(1, std::int64_t(1) << 40));
    app.add_option("--sample-length", opt.sample_length, "characters sampled after training")->capture_default_str()->check(cli::unsigned_in(0, std::uint64_t(1) << 40));
    app.add_option("--temperature", opt.temperature, "sampling temperature")->capture_default_str()->check(cli::finite_positive());
    app.add_flag("--summary-json", summary_json, "print a JSON summary as the last line");
    app.add_flag("--detect-anomaly", opt.detect_anomaly, "stop at the first op producing NaN/Inf, naming it (slower)");

    auto* gen = app.add_subcommand("generate", "sample text from a saved checkpoint");
    std::string gen_checkpoint, prompt;
    std::size_t gen_length = 400;
    double gen_temperature = 0.8;
    std::uint64_t gen_seed = 1;
    gen->add_option("--checkpoint", gen_checkpoint, "checkpoint written by train_lm")->required()->check(cli::regular_file());
    gen->add_option("--length", gen_length, "characters to sample (streamed as they are drawn)")->capture_default_str()->check(cli::unsigned_in(0, std::uint64_t(1) << 40));
    gen->add_option("--temperature", gen_temperature, "sampling temperature")->capture_default_str()->check(cli::finite_positive());
    gen->add_option("--seed", gen_seed, "random seed")->capture_default_str()->check(cli::unsigned_in(0, UINT64_MAX));
    gen->add_option("--prompt", prompt, "text to continue (characters of the training vocabulary)");

    CLI11_PARSE(app, argc, argv);
    const auto given = [&](const char* flag) { return app.get_option(flag)->count() > 0; };
    if (opt.model == "gpt")
        train_lm::use_gpt_defaults(opt, given);
    else if (train_lm::is_windowed_spec(opt.model))
        train_lm::use_gpt_optimizer(opt, given);
    if (given("--weight-decay")) opt.adamw = true;

    // Ctrl-C, SIGTERM and mpirun's SIGUSR1: training saves and stops; any phase stops within a second.
    train_lm::install_stop_handlers(/*quiet=*/rank != 0);
    const char* phase = "starting";
    try {
        if (*gen) {
            phase = "sampling";
            return generate(gen_checkpoint, prompt, gen_length, gen_temperature, gen_seed);
        }
        opt.progress_bar = ::isatty(STDOUT_FILENO) && !summary_json;
        opt.data_parallel = world > 1;
        phase = "reading the data";
        const train_lm::Corpus corpus = load_corpus(data);
        phase = "training";
        const train_lm::TrainSummary s = train_lm::train(corpus, opt, std::cout);
        if (summary_json && rank == 0) {
            const nlohmann::json j = {{"steps", s.steps},           {"train_loss", s.train_loss}, {"val_loss", s.val_loss},
                                      {"train_loss_exact", s.train_loss_exact}, {"train_loss_stderr", s.train_loss_stderr},
                                      {"train_loss_positions", s.train_loss_positions},
                                      {"val_loss_exact", opt.final_eval != train_lm::TrainOptions::FinalEval::none},
                                      {"bigram_train", s.bigram_train}, {"bigram_val", s.bigram_val}, {"unigram_train", s.unigram_train},
                                      {"unigram_val", s.unigram_val}, {"tokens_per_s", s.tokens_per_s}, {"seconds", s.seconds},
                                      {"parameters", s.parameters}, {"spec", s.spec},          {"interrupted", s.interrupted},
                                      {"ranks", s.ranks},           {"allreduce_seconds", s.allreduce_seconds},
                                      {"eval_positions_per_s", s.eval_positions_per_s},
                                      {"blas_kernel", tapegrad::blas_kernel()}};
            std::cout << j.dump() << std::endl;
        }
        return s.interrupted ? train_lm::interrupted_exit_code() : 0;
    } catch (const train_lm::Interrupted& e) {
        std::cout << std::flush;
        std::cerr << "\ntrain_lm: " << e.what() << "\n";
        return train_lm::interrupted_exit_code();
    } catch (const std::bad_alloc&) {
        std::cerr << "train_lm: error: out of memory while " << phase
                  << " (an allocation failed); use a smaller --batch or --model, or free memory\n";
#ifdef TAPEGRAD_WITH_MPI
        if (mpi && world > 1) mpi->abort(1);
#endif
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "train_lm: " << (world > 1 ? std::string("rank ").append(std::to_string(rank)).append(": ") : "")
                  << "error: " << e.what() << "\n";
#ifdef TAPEGRAD_WITH_MPI
        // The other ranks may wait in a collective for this one: end them all (MpiSession::abort).
        if (mpi && world > 1) mpi->abort(1);
#endif
        return 1;
    }
}
