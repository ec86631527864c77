/// \file
/// Learning-rate schedules. lr_at(step) is a pure function of the step number (0-based); the object also
/// keeps its position (how many times step() was called), which is its state:
///
/// ~~~{.cpp}
///   WarmupCosineLR schedule(3e-4, /*warmup_steps=*/100, /*total_steps=*/10000, /*floor_lr=*/3e-5);
///   for (...) { schedule.apply(opt); /* forward, backward */ opt.step(); schedule.step(); }
/// ~~~
///
/// apply() sets the optimizer's lr to lr_at(position()). The state dict (metadata under "schedule.": kind,
/// position and the hyper-parameters, numbers "%.17g") restores position and hyper-parameters; loading
/// validates everything first and changes nothing when it throws (UsageError for a missing or unexpected
/// key or another kind of schedule, DomainError for a bad value: a position that is not an integer in
/// [0, 2^53], a number that is not finite, a hyper-parameter the constructor would reject).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "tapegrad/autodiff/named.hpp"
#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad {

namespace detail {
class StateKeys;
}

class LrSchedule {
public:
    virtual ~LrSchedule();

    /// The learning rate at step `step` (>= 0; DomainError otherwise).
    virtual double lr_at(std::int64_t step) const = 0;

    std::int64_t position() const { return position_; }
    double lr() const { return lr_at(position_); }
    /// Advances the position by one.
    void step() { ++position_; }
    /// Sets the optimizer's learning rate to lr().
    template <class T>
    void apply(Optimizer<T>& optimizer) const {
        optimizer.set_lr(lr());
    }
    /// "ConstantLR", "StepLR", "WarmupCosineLR": in error messages and as schedule.kind.
    const std::string& name() const { return name_; }

    template <class T>
    StateDict<T> state_dict() const {
        StateDict<T> out;
        out.metadata = metadata();
        return out;
    }
    /// Reads the "schedule." metadata; other keys are ignored (UsageError for a tensor under "schedule.").
    template <class T>
    void load_state_dict(const StateDict<T>& state) {
        for (const auto& entry : state.tensors) reject_tensor(entry.first);
        load_metadata(state.metadata);
    }
    /// The same state as plain metadata.
    std::map<std::string, std::string> metadata() const;
    void load_metadata(const std::map<std::string, std::string>& metadata);

protected:
    explicit LrSchedule(std::string name) : name_(std::move(name)) {}
    virtual void save_hyper(std::map<std::string, std::string>& out) const = 0;
    /// Reads and validates the hyper-parameters without changing anything; returns what assigns them.
    virtual std::function<void()> prepare_load(detail::StateKeys& in) = 0;
    /// DomainError for a negative step.
    void check_step(std::int64_t step) const;

    const std::string name_;

private:
    void reject_tensor(const std::string& key) const;
    std::int64_t position_ = 0;
};

/// lr_at(step) = base_lr.
class ConstantLR : public LrSchedule {
public:
    /// DomainError unless base_lr is finite and >= 0.
    explicit ConstantLR(double base_lr);
    double lr_at(std::int64_t step) const override;
    double base_lr() const { return base_lr_; }

protected:
    void save_hyper(std::map<std::string, std::string>& out) const override;
    std::function<void()> prepare_load(detail::StateKeys& in) override;

private:
    double base_lr_;
};

/// Step decay: lr_at(step) = base_lr · γ^⌊step / step_size⌋.
class StepLR : public LrSchedule {
public:
    /// DomainError unless base_lr is finite and >= 0, step_size >= 1, gamma finite and > 0.
    StepLR(double base_lr, std::int64_t step_size, double gamma);
    double lr_at(std::int64_t step) const override;
    double base_lr() const { return base_lr_; }
    std::int64_t step_size() const { return step_size_; }
    double gamma() const { return gamma_; }

protected:
    void save_hyper(std::map<std::string, std::string>& out) const override;
    std::function<void()> prepare_load(detail::StateKeys& in) override;

private:
    double base_lr_;
    std::int64_t step_size_;
    double gamma_;
};

/// Linear warm-up, then cosine decay to a floor:
/// ~~~{.unparsed}
///   step < W:        lr_at(step) = base_lr · (step + 1) / W
///   W <= step:       lr_at(step) = floor_lr + (base_lr − floor_lr) · ½ · (1 + cos(π · progress)),
///                    progress = min(1, (step − W) / (total_steps − W))   (1 when total_steps = W)
/// ~~~
/// so the warm-up reaches base_lr at step W − 1, the decay starts from base_lr at step W and reaches
/// floor_lr at step total_steps, where it stays.
class WarmupCosineLR : public LrSchedule {
public:
    /// DomainError unless base_lr is finite and >= 0, floor_lr in [0, base_lr], warmup_steps >= 0 and
    /// total_steps >= warmup_steps.
    WarmupCosineLR(double base_lr, std::int64_t warmup_steps, std::int64_t total_steps, double floor_lr);
    double lr_at(std::int64_t step) const override;
    double base_lr() const { return base_lr_; }
    std::int64_t warmup_steps() const { return warmup_steps_; }
    std::int64_t total_steps() const { return total_steps_; }
    double floor_lr() const { return floor_lr_; }

protected:
    void save_hyper(std::map<std::string, std::string>& out) const override;
    std::function<void()> prepare_load(detail::StateKeys& in) override;

private:
    double base_lr_;
    std::int64_t warmup_steps_;
    std::int64_t total_steps_;
    double floor_lr_;
};

}  // namespace tapegrad
