// Drawing a PNG with gnuplot, for the samples: a script file run by gnuplot started with an argument vector
// (posix_spawnp, no shell) in the script's directory, so that no path, whatever characters it holds, is ever
// parsed by a shell or by gnuplot; gnuplot's output is shown only when it fails.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace samples {

struct PlotResult {
    bool ok = false;
    std::string message;       // on failure: why (gnuplot missing, its exit status and its output)
    bool interrupted = false;  // stop_requested() became true while gnuplot ran: it was ended
};

// Runs `gnuplot <script>` in `dir`. While waiting, polls stop_requested (if given) every 100 ms and ends
// gnuplot with SIGTERM when it returns true.
PlotResult run_gnuplot(const std::filesystem::path& dir, const std::string& script,
                       const std::function<bool()>& stop_requested = {});

// `text` as a gnuplot single-quoted string that nothing in it can end: a quote becomes U+2019 (gnuplot 5.4
// misreads runs of doubled quotes such as u''''), control characters become spaces.
std::string gnuplot_quoted(const std::string& text);

}  // namespace samples
