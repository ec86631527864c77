#include "progress.hpp"

#include <algorithm>
#include <chrono>
#include <ostream>

#include "format.hpp"

namespace train_lm {

using Clock = std::chrono::steady_clock;

// Progress of a long phase on a terminal: one line redrawn at most 10 times a second.
ProgressFn terminal_progress(std::ostream& out, bool enabled, std::string label) {
    if (!enabled) return {};
    return [&out, label = std::move(label), last = Clock::time_point{}](std::size_t done, std::size_t total) mutable {
        if (Clock::now() - last < std::chrono::milliseconds(100) && done < total) return;
        last = Clock::now();
        out << "\r" << label << " " << num(100.0 * double(done) / double(std::max<std::size_t>(total, 1)), "%.0f") << "% ("
            << done << "/" << total << " positions)" << (done == total ? "\n" : "") << std::flush;
    };
}

// A long phase's progress: on a terminal one redrawn line; otherwise a plain line every 5 s, with the time left.
ProgressFn eval_progress(std::ostream& out, bool terminal, std::string label) {
    if (terminal) return terminal_progress(out, true, std::move(label));
    return [&out, label = std::move(label), start = Clock::now(), last = Clock::now()](std::size_t done, std::size_t total) mutable {
        const auto now = Clock::now();
        if (now - last < std::chrono::seconds(5) || done >= total) return;
        last = now;
        const double elapsed = std::chrono::duration<double>(now - start).count();
        const double left = elapsed * double(total - done) / double(std::max<std::size_t>(done, 1));
        out << label << " " << num(100.0 * double(done) / double(std::max<std::size_t>(total, 1)), "%.0f") << "% (" << done << "/"
            << total << " positions), about " << num(left, "%.0f") << " s left\n" << std::flush;
    };
}

}  // namespace train_lm
