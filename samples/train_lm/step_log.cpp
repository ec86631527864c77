#include "step_log.hpp"

#include <cmath>
#include <ostream>
#include <stdexcept>
#include <string>

#include "format.hpp"

namespace train_lm {

StepLog::StepLog(const std::filesystem::path& csv_path, bool lead, bool append, bool progress_bar, std::ostream& out)
    : lead_(lead), progress_bar_(progress_bar), out_(out), start_(std::chrono::steady_clock::now()), last_draw_(start_) {
    if (!lead_) return;
    csv_.open(csv_path, append ? std::ios::app : std::ios::trunc);
    if (!csv_) throw std::runtime_error("cannot write " + csv_path.string());
    if (!append) csv_ << "step,lr,train_loss,val_loss,tokens_per_s,seconds\n";
}

void StepLog::record(const StepFigures& f) {
    const auto now = std::chrono::steady_clock::now();
    if (lead_ && (f.evaluated || f.done % 50 == 0))
        csv_ << f.done << "," << f.lr << "," << f.smooth_loss << "," << (f.evaluated && std::isfinite(f.val) ? num(f.val, "%.6f") : "")
             << "," << num(f.tokens_per_s, "%.0f") << "," << num(std::chrono::duration<double>(now - start_).count(), "%.2f") << "\n";
    if (progress_bar_ && (f.evaluated || now - last_draw_ > std::chrono::milliseconds(100))) {
        last_draw_ = now;
        const int width = 30, filled = int(width * double(f.done) / double(f.total));
        out_ << "\r[" << std::string(std::size_t(filled), '=') << std::string(std::size_t(width - filled), ' ') << "] step "
             << f.done << "/" << f.total << " loss " << num(f.smooth_loss) << " " << num(f.tokens_per_s / 1000, "%.1f")
             << "k tok/s, " << duration(f.seconds_left) << " left   " << std::flush;
        if (f.evaluated) out_ << "\n  validation loss " << num(f.val) << " (bigram " << num(f.bigram_val) << ")\n";
    } else if (!progress_bar_ && f.evaluated) {
        out_ << "step " << f.done << "/" << f.total << "  train " << num(f.smooth_loss) << "  val " << num(f.val) << "  lr "
             << num(f.lr, "%.2e") << "  " << num(f.tokens_per_s, "%.0f") << " tok/s  " << duration(f.seconds_left) << " left\n"
             << std::flush;
    }
}

}  // namespace train_lm
