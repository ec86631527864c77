#include "tapegrad/optim/schedule.hpp"

#include <cmath>
#include <numbers>

#include "tapegrad/optim/detail/state_io.hpp"

namespace tapegrad {

using detail::check_hyper;

namespace {

void check_base(double base_lr, const std::string& owner) {
    check_hyper(std::isfinite(base_lr) && base_lr >= 0.0, owner, "base_lr", base_lr, "must be finite and >= 0");
}

void check_step_decay(double base_lr, std::int64_t step_size, double gamma, const std::string& owner) {
    check_base(base_lr, owner);
    check_hyper(step_size >= 1, owner, "step_size", double(step_size), "must be >= 1");
    check_hyper(std::isfinite(gamma) && gamma > 0.0, owner, "gamma", gamma, "must be finite and > 0");
}

void check_warmup_cosine(double base_lr, std::int64_t warmup, std::int64_t total, double floor_lr,
                         const std::string& owner) {
    check_base(base_lr, owner);
    check_hyper(floor_lr >= 0.0 && floor_lr <= base_lr, owner, "floor_lr", floor_lr, "must be in [0, base_lr]");
    check_hyper(warmup >= 0, owner, "warmup_steps", double(warmup), "must be >= 0");
    check_hyper(total >= warmup, owner, "total_steps", double(total), "must be >= warmup_steps");
}

}  // namespace

// ── LrSchedule ───────────────────────────────────────────────────────────────────────────────────────

LrSchedule::~LrSchedule() = default;

void LrSchedule::check_step(std::int64_t step) const {
    check_hyper(step >= 0, name_ + ".lr_at", "step", double(step), "must be >= 0");
}

std::map<std::string, std::string> LrSchedule::metadata() const {
    std::map<std::string, std::string> out;
    out["schedule.kind"] = name_;
    out["schedule.position"] = detail::format_count(position_);
    save_hyper(out);
    return out;
}

void LrSchedule::reject_tensor(const std::string& key) const {
    if (key.rfind("schedule.", 0) == 0)
        throw UsageError(name_ + ".load_state_dict: unexpected tensor '" + key + "' (a schedule's state has none)");
}

void LrSchedule::load_metadata(const std::map<std::string, std::string>& metadata) {
    detail::StateKeys keys(name_ + ".load_state_dict", "schedule.", metadata);
    const std::string& kind = keys.text("schedule.kind");
    if (kind != name_) throw UsageError(keys.owner() + ": the state is of a " + kind + " schedule, not " + name_);
    const std::int64_t position = keys.step_count("schedule.position");  // in [0, 2^53]
    std::function<void()> assign = prepare_load(keys);
    keys.require_all_used();
    position_ = position;
    assign();
}

// ── ConstantLR ───────────────────────────────────────────────────────────────────────────────────────

ConstantLR::ConstantLR(double base_lr) : LrSchedule("ConstantLR"), base_lr_(base_lr) { check_base(base_lr, name_); }

double ConstantLR::lr_at(std::int64_t step) const {
    check_step(step);
    return base_lr_;
}

void ConstantLR::save_hyper(std::map<std::string, std::string>& out) const {
    out["schedule.base_lr"] = detail::format_number(base_lr_);
}

std::function<void()> ConstantLR::prepare_load(detail::StateKeys& in) {
    const double base = in.number("schedule.base_lr");
    check_base(base, in.owner());
    return [this, base] { base_lr_ = base; };
}

// ── StepLR ───────────────────────────────────────────────────────────────────────────────────────────

StepLR::StepLR(double base_lr, std::int64_t step_size, double gamma)
    : LrSchedule("StepLR"), base_lr_(base_lr), step_size_(step_size), gamma_(gamma) {
    check_step_decay(base_lr, step_size, gamma, name_);
}

double StepLR::lr_at(std::int64_t step) const {
    check_step(step);
    // base_lr · γ^⌊step / step_size⌋ (integer division is the floor for step >= 0)
    return base_lr_ * std::pow(gamma_, double(step / step_size_));
}

void StepLR::save_hyper(std::map<std::string, std::string>& out) const {
    out["schedule.base_lr"] = detail::format_number(base_lr_);
    out["schedule.step_size"] = detail::format_count(step_size_);
    out["schedule.gamma"] = detail::format_number(gamma_);
}

std::function<void()> StepLR::prepare_load(detail::StateKeys& in) {
    const double base = in.number("schedule.base_lr");
    const std::int64_t step_size = in.count("schedule.step_size");
    const double gamma = in.number("schedule.gamma");
    check_step_decay(base, step_size, gamma, in.owner());
    return [this, base, step_size, gamma] {
        base_lr_ = base;
        step_size_ = step_size;
        gamma_ = gamma;
    };
}

// ── WarmupCosineLR ───────────────────────────────────────────────────────────────────────────────────

WarmupCosineLR::WarmupCosineLR(double base_lr, std::int64_t warmup_steps, std::int64_t total_steps, double floor_lr)
    : LrSchedule("WarmupCosineLR"),
      base_lr_(base_lr),
      warmup_steps_(warmup_steps),
      total_steps_(total_steps),
      floor_lr_(floor_lr) {
    check_warmup_cosine(base_lr, warmup_steps, total_steps, floor_lr, name_);
}

double WarmupCosineLR::lr_at(std::int64_t step) const {
    check_step(step);
    // Linear warm-up: base_lr · (step + 1) / W
    if (step < warmup_steps_) return base_lr_ * double(step + 1) / double(warmup_steps_);
    // Past the end of the decay: the floor
    if (step >= total_steps_) return floor_lr_;
    // Cosine decay over the remaining steps: floor + (base − floor) · ½(1 + cos(π·progress))
    const double progress = double(step - warmup_steps_) / double(total_steps_ - warmup_steps_);
    return floor_lr_ + (base_lr_ - floor_lr_) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

void WarmupCosineLR::save_hyper(std::map<std::string, std::string>& out) const {
    out["schedule.base_lr"] = detail::format_number(base_lr_);
    out["schedule.warmup_steps"] = detail::format_count(warmup_steps_);
    out["schedule.total_steps"] = detail::format_count(total_steps_);
    out["schedule.floor_lr"] = detail::format_number(floor_lr_);
}

std::function<void()> WarmupCosineLR::prepare_load(detail::StateKeys& in) {
    const double base = in.number("schedule.base_lr");
    const std::int64_t warmup = in.count("schedule.warmup_steps");
    const std::int64_t total = in.count("schedule.total_steps");
    const double floor_lr = in.number("schedule.floor_lr");
    check_warmup_cosine(base, warmup, total, floor_lr, in.owner());
    return [this, base, warmup, total, floor_lr] {
        base_lr_ = base;
        warmup_steps_ = warmup;
        total_steps_ = total;
        floor_lr_ = floor_lr;
    };
}

}  // namespace tapegrad
