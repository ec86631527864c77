// What a run reports as it trains: the per-step CSV log (rank 0's train_log.csv, appended to when a run
// resumes) and the terminal's view of it (a redrawn progress bar on a terminal, plain lines otherwise).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iosfwd>

namespace train_lm {

// One step's figures. val is NaN when an evaluation was cut short by a stop request.
struct StepFigures {
    std::int64_t done = 0, total = 0;  // steps completed, steps of the run
    double lr = 0, smooth_loss = 0, tokens_per_s = 0, seconds_left = 0;
    bool evaluated = false;  // val holds this step's validation estimate
    double val = 0, bigram_val = 0;
};

class StepLog {
public:
    // lead: this rank writes the CSV (only rank 0 does); append: a resumed run continues the file.
    StepLog(const std::filesystem::path& csv_path, bool lead, bool append, bool progress_bar, std::ostream& out);
    void record(const StepFigures& f);
    void close() { csv_.close(); }

private:
    std::ofstream csv_;
    bool lead_, progress_bar_;
    std::ostream& out_;
    std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace train_lm
