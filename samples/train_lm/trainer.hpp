// Training a character-level language model: the loop, evaluation, checkpoints, logs and sampling.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "corpus.hpp"
#include "run_checkpoint.hpp"
#include "stop_signals.hpp"
#include "tapegrad/nn/nn.hpp"

namespace train_lm {

struct TrainOptions {
    std::string model = "default";  // "default", "seed", "gpt", or a spec (README's grammar)
    std::size_t context = 8;        // tokens per position for the default model
    std::int64_t steps = 4000;
    std::size_t batch = 256;        // positions per step; windows of T positions for a windowed model (a GPT)
    double lr = 3e-3;               // peak learning rate (Adam)
    // AdamW instead of Adam: decoupled weight decay on matrices only (biases and LayerNorm gains have none)
    bool adamw = false;
    double beta2 = 0.999;
    double weight_decay = 0.0;
    std::int64_t warmup = 100;
    double min_lr_ratio = 0.1;      // cosine floor = lr · ratio
    double clip = 1.0;              // global gradient-norm clip (0: off)
    std::uint64_t seed = 1;
    int threads = 0;                // 0: OpenBLAS's default
    std::int64_t eval_every = 500;
    std::size_t eval_positions = 20000;  // validation positions for the periodic estimate
    std::int64_t checkpoint_every = 1000;
    std::filesystem::path out_dir = "train_lm_out";
    std::filesystem::path resume;   // checkpoint to continue from
    std::size_t sample_length = 400;
    double temperature = 0.8;
    std::int64_t stop_after = 0;    // > 0: stop as on SIGINT (checkpoint, interrupted) after this many steps
    bool detect_anomaly = false;    // the tape's anomaly mode: the first NaN/Inf names its op and node
    bool progress_bar = false;      // a terminal: one redrawn line; otherwise plain log lines
    bool overwrite = false;         // a fresh run may replace the checkpoint of an earlier run in out_dir
    // Data-parallel over MPI_COMM_WORLD (main sets it under mpirun with 2+ ranks): `batch` is the global
    // batch, each rank takes batch/N of its rows; only rank 0 prints, logs, evaluates and writes files.
    bool data_parallel = false;
    // The final evaluation: `sampled` (default) is exact over the validation split and, on the train split,
    // an estimate from as many random positions as the validation split has (exact when the train split is
    // no larger); `exact` reads every position of both; `none` skips it.
    enum class FinalEval { sampled, exact, none };
    FinalEval final_eval = FinalEval::sampled;
};

struct TrainSummary {
    std::int64_t steps = 0;
    double train_loss = 0, val_loss = 0;  // the final evaluation's (NaN when skipped); val_loss is exact
    bool train_loss_exact = true;         // false: train_loss is an estimate from a random sample...
    double train_loss_stderr = 0;         // ...with this standard error (0 when exact)
    std::size_t train_loss_positions = 0;  // positions it read
    double unigram_train = 0, unigram_val = 0, bigram_train = 0, bigram_val = 0;
    double tokens_per_s = 0, seconds = 0;
    double eval_positions_per_s = 0;  // the final evaluation of every position of both splits
    int ranks = 1;
    double allreduce_seconds = 0;  // total time in gradient MPI_Allreduce calls (data-parallel runs)
    bool interrupted = false;
    std::string spec;
    std::size_t parameters = 0;
    std::string sample;
};

// The spec a --model value stands for ("gpt": tapegrad::gpt_spec of nanoGPT's baby GPT, see use_gpt_defaults).
std::string resolve_spec(const std::string& model, std::size_t vocab, std::size_t context);

// `--model gpt`'s reference configuration (nanoGPT's "baby GPT" for CPUs) for every option the user did not
// give (given(flag) says whether "--steps" etc. was on the command line): 2000 steps of 12 windows of 64
// tokens, AdamW lr 1e-3, betas (0.9, 0.99), weight decay 0.1 on matrices only, 100 warm-up steps then cosine
// to 1e-4, clip 1.0.
void use_gpt_defaults(TrainOptions& opt, const std::function<bool(const char*)>& given);

// The GPT preset's optimizer and schedule alone (AdamW lr 1e-3, betas (0.9, 0.99), weight decay 0.1 on
// matrices, 100 warm-up steps then cosine to 1e-4, clip 1.0, evaluation every 250 steps) for every option
// not given: what a windowed spec (one with position(T)) trains with unless told otherwise, since the
// context models' Adam at lr 3e-3 without decay is not what a transformer wants.
void use_gpt_optimizer(TrainOptions& opt, const std::function<bool(const char*)>& given);

// True for "gpt" and for a spec with a position(T) layer (a model that reads windows); false for anything
// else, a spec that does not parse included (building the model reports its error).
bool is_windowed_spec(const std::string& model);

// Dropout masks differ between ranks (each rank drops from its own rows) yet stay reproducible: on rank r > 0
// every Dropout layer, nested ones included, is reseeded from (seed, r, its number in a depth-first walk of
// the modules: a flat model's layer i is number i); rank 0 keeps the masks a single process would draw.
void reseed_dropout(tapegrad::Module<float>& model, std::uint64_t seed, int rank);

// Called by a long phase after each chunk with the work done and the whole work.
using ProgressFn = std::function<void(std::size_t done, std::size_t total)>;

// Mean cross-entropy (nats/token) of predicting ids[p+1] from the context ending at p, over the first
// `max_positions` positions (all when 0), in chunks of eval_chunk_positions(model). Nothing is recorded for
// backward. Between chunks: reports to `progress` (if any) and throws Interrupted on a stop request.
double evaluate(tapegrad::LanguageModel<float>& model, const std::vector<std::int64_t>& ids, std::size_t pad,
                std::size_t max_positions = 0, const ProgressFn& progress = {});

// An estimate of evaluate()'s mean over every position of `ids`, from about `sample_positions` positions drawn
// uniformly with replacement (Generator(seed)): single positions for a context model, whole windows of the
// grid evaluate() reads for a windowed one (a position's loss depends on its place in its window, so windows
// are the units; the last, shorter window is never drawn). stderr is the units' sample standard deviation over
// √units: the exact mean lies within 2 stderr of the estimate about 95% of the time.
struct LossEstimate {
    double mean = 0, standard_error = 0;
    std::size_t positions = 0;
};
LossEstimate estimate_loss(tapegrad::LanguageModel<float>& model, const std::vector<std::int64_t>& ids, std::size_t pad,
                           std::size_t sample_positions, std::uint64_t seed, const ProgressFn& progress = {});

// The id that stands before the first token when sampling: the padding id of a context embedding, or
// for a plain embedding (no padding row) the id of '\n' (0 if the alphabet has none).
std::int64_t start_id(const tapegrad::LanguageModel<float>& model, const std::vector<unsigned char>& alphabet);

// Samples `length` tokens after `prompt` (ids), temperature > 0 and finite; deterministic for a seed. `pad`
// fills the context before the prompt (see start_id). `on_token` (if any) receives each token as it is
// drawn, so that output can stream (the tokens are then not kept: the result is empty); a stop request
// throws Interrupted between tokens.
std::vector<std::int64_t> sample(tapegrad::LanguageModel<float>& model, std::vector<std::int64_t> prompt, std::size_t length,
                                 double temperature, std::uint64_t seed, std::size_t pad,
                                 const std::function<void(std::int64_t)>& on_token = {});

// Trains (or resumes) as the options say. A stop request (stop_signals.hpp) during training saves a
// checkpoint and returns with `interrupted`; one during the final evaluation, plot or sample throws
// Interrupted (the checkpoint is already saved).
TrainSummary train(const Corpus& corpus, const TrainOptions& options, std::ostream& out);

}  // namespace train_lm
