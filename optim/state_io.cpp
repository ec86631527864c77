#include "tapegrad/optim/detail/state_io.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>

#include "tapegrad/autodiff/errors.hpp"

namespace tapegrad::detail {

std::string format_number(double x) {
    char buf[40];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::general, 17);
    return std::string(buf, ec == std::errc() ? end : buf);  // 40 chars always suffice: "-d.dddddddddddddddde-308"
}

std::string format_count(std::int64_t n) { return std::to_string(n); }

std::string format_flag(bool b) { return b ? "true" : "false"; }

std::string format_for_message(double x) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.6g", x);
    return buf;
}

void check_hyper(bool ok, const std::string& owner, const char* what, double value, const char* expected) {
    if (!ok) throw DomainError(owner + ": " + what + " = " + format_for_message(value) + " " + expected);
}

StateKeys::StateKeys(std::string owner, std::string prefix, const Metadata& metadata)
    : owner_(std::move(owner)), prefix_(std::move(prefix)), metadata_(metadata) {}

void StateKeys::add_tensor_key(const std::string& key) {
    if (key.rfind(prefix_, 0) != 0) return;  // another component's tensor
    if (!tensors_.insert(key).second)
        throw UsageError(owner_ + ": tensor key '" + key + "' appears more than once in the state dict");
}

const std::string& StateKeys::text(const std::string& key) {
    auto it = metadata_.find(key);
    if (it == metadata_.end()) throw UsageError(owner_ + ": missing metadata key '" + key + "'");
    used_.insert(key);
    return it->second;
}

// Metadata comes from files: a value is shown cut short, so that a huge one cannot flood the message.
namespace {
std::string shown(const std::string& s) {
    constexpr std::size_t kMaxChars = 40;
    return "'" + (s.size() > kMaxChars ? s.substr(0, kMaxChars) + "..." : s) + "'";
}
}  // namespace

double StateKeys::number(const std::string& key) {
    const std::string& s = text(key);
    double x = 0.0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
    if (s.empty() || ec != std::errc() || ptr != s.data() + s.size())
        throw DomainError(owner_ + ": metadata '" + key + "' = " + shown(s) + " is not a number");
    // Every number of a state (hyper-parameters, lr) is finite; "nan" and "inf" parse, but are never valid.
    if (!std::isfinite(x)) throw DomainError(owner_ + ": metadata '" + key + "' = " + shown(s) + " is not finite");
    return x;
}

namespace {
// Decimal digits only, as a value in [0, max]; nothing otherwise. (from_chars alone would take "-0".)
std::optional<std::int64_t> parse_count(const std::string& s, std::int64_t max) {
    if (s.empty() || s.front() < '0' || s.front() > '9') return std::nullopt;
    std::int64_t n = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || ptr != s.data() + s.size() || n > max) return std::nullopt;
    return n;
}
}  // namespace

std::int64_t StateKeys::count(const std::string& key) {
    const std::string& s = text(key);
    const auto n = parse_count(s, std::numeric_limits<std::int64_t>::max());
    if (!n) throw DomainError(owner_ + ": metadata '" + key + "' = " + shown(s) + " is not a count (an integer >= 0)");
    return *n;
}

std::int64_t StateKeys::step_count(const std::string& key) {
    const std::string& s = text(key);
    const auto n = parse_count(s, kMaxStepCount);
    if (!n)
        throw DomainError(owner_ + ": metadata '" + key + "' = " + shown(s) + " is not a count (an integer in [0, " +
                          std::to_string(kMaxStepCount) + "])");
    return *n;
}

bool StateKeys::flag(const std::string& key, bool absent) {
    return metadata_.count(key) ? flag(key) : absent;
}

bool StateKeys::flag(const std::string& key) {
    const std::string& s = text(key);
    if (s == "true") return true;
    if (s == "false") return false;
    throw DomainError(owner_ + ": metadata '" + key + "' = " + shown(s) + " is not a flag (true or false)");
}

void StateKeys::require_all_used() const {
    for (const auto& [key, value] : metadata_)
        if (key.rfind(prefix_, 0) == 0 && used_.count(key) == 0)
            throw UsageError(owner_ + ": unexpected metadata key '" + key + "' (not part of this " +
                             "object's state: another optimizer kind, or a parameter it does not have)");
    for (const auto& key : tensors_)
        if (used_tensors_.count(key) == 0)
            throw UsageError(owner_ + ": unexpected tensor '" + key + "' (not part of this object's state: " +
                             "a parameter it does not have, or a buffer its hyper-parameters do not use)");
}

}  // namespace tapegrad::detail
