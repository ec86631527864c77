// The loss-curve PNG of a run, drawn by gnuplot from train_log.csv.
#pragma once

#include <filesystem>
#include <string>

namespace train_lm {

struct PlotResult {
    bool ok = false;
    std::string message;  // on failure: why (gnuplot missing, its exit status and its output)
};

// Writes "<dir>/loss.gp" and runs gnuplot on it to draw "<dir>/loss.png" from "<dir>/train_log.csv".
// gnuplot is started with an argument vector (posix_spawnp, no shell) in `dir` as its working directory,
// so the script names its files relatively and no path, whatever characters it holds, is ever parsed by
// a shell or by gnuplot. `title` is escaped for a gnuplot string. Honours stop requests while waiting
// (the child is ended, Interrupted thrown).
PlotResult plot_losses(const std::filesystem::path& dir, const std::string& title, double bigram_val, double unigram_val);

// `text` as a gnuplot single-quoted string: quotes doubled, control characters as spaces.
std::string gnuplot_quoted(const std::string& text);

}  // namespace train_lm
