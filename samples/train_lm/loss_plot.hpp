// The loss-curve PNG of a run, drawn by gnuplot from train_log.csv.
#pragma once

#include <filesystem>
#include <string>

#include "gnuplot.hpp"

namespace train_lm {

using samples::PlotResult;
using samples::gnuplot_quoted;

// Writes "<dir>/loss.gp" and runs gnuplot on it to draw "<dir>/loss.png" from "<dir>/train_log.csv".
// gnuplot is started with an argument vector (posix_spawnp, no shell) in `dir` as its working directory,
// so the script names its files relatively and no path, whatever characters it holds, is ever parsed by
// a shell or by gnuplot. `title` is escaped for a gnuplot string. Honours stop requests while waiting
// (the child is ended, Interrupted thrown).
PlotResult plot_losses(const std::filesystem::path& dir, const std::string& title, double bigram_val, double unigram_val);

}  // namespace train_lm
