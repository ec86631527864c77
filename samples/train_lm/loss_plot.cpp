#include "loss_plot.hpp"

#include <fstream>

#include "stop_signals.hpp"

namespace train_lm {

PlotResult plot_losses(const std::filesystem::path& dir, const std::string& title, double bigram_val, double unigram_val) {
    {
        std::ofstream gp(dir / "loss.gp");
        gp << "# drawn by train_lm; run as: cd <this directory> && gnuplot loss.gp\n"
           << "set terminal pngcairo size 900,540 noenhanced\n"
           << "set output 'loss.png'\n"
           << "set datafile separator ','\nset key top right\nset grid\n"
           << "set xlabel 'step'\nset ylabel 'cross-entropy (nats/token)'\n"
           << "set title " << gnuplot_quoted("train_lm: " + title) << "\n"
           << "plot 'train_log.csv' using 1:3 every ::1 with lines title 'train (batch, smoothed)', \\\n"
           << "     '' using 1:($4 > 0 ? $4 : 1/0) every ::1 with linespoints title 'validation', \\\n"
           << "     " << bigram_val << " with lines dashtype 2 title 'bigram entropy (val)', \\\n"
           << "     " << unigram_val << " with lines dashtype 3 title 'unigram entropy (val)'\n";
        if (!gp) return {false, "cannot write " + (dir / "loss.gp").string()};
    }
    const samples::PlotResult r = samples::run_gnuplot(dir, "loss.gp", [] { return stop_requested(); });
    if (r.interrupted) throw Interrupted("plotting");
    return r;
}

}  // namespace train_lm
