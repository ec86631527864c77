// What a training run is told (TrainOptions: the command line's settings) and what it reports (TrainSummary).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

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

}  // namespace train_lm
