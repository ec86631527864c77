#include "optim/state_io.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "autodiff/errors.hpp"

namespace tapegrad::detail {

std::string format_number(double x) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", x);
    return buf;
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

double StateKeys::number(const std::string& key) {
    const std::string& s = text(key);
    char* end = nullptr;
    const double x = s.empty() ? 0.0 : std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size())
        throw DomainError(owner_ + ": metadata '" + key + "' = '" + s + "' is not a number");
    return x;
}

std::int64_t StateKeys::count(const std::string& key) {
    const std::string& s = text(key);
    std::int64_t n = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || n < 0)
        throw DomainError(owner_ + ": metadata '" + key + "' = '" + s + "' is not a count (an integer >= 0)");
    return n;
}

bool StateKeys::flag(const std::string& key) {
    const std::string& s = text(key);
    if (s == "true") return true;
    if (s == "false") return false;
    throw DomainError(owner_ + ": metadata '" + key + "' = '" + s + "' is not a flag (true or false)");
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
