// Reading and writing the metadata of a StateDict, and hyper-parameter checks, shared by the optimizers and
// the LR schedules. Internal to optim.
//
// Numbers are written as "%.17g" would write them in the C locale (std::to_chars, whatever the program's
// locale) so that a double read back is bit-identical; counts as decimal integers; flags as "true"/"false".
// Reading is as strict: a number is what std::from_chars takes whole (no spaces, no "+", no hex) and finite;
// a count is decimal digits only, within a range. Every reader function validates what it reads and throws an Error that names the
// owner ("Adam.load_state_dict"), the key and what was wrong; nothing here modifies the object being loaded,
// so a loader can validate everything first and assign afterwards.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace tapegrad::detail {

using Metadata = std::map<std::string, std::string>;

std::string format_number(double x);        // "%.17g" (locale-independent): round-trips every double
std::string format_count(std::int64_t n);   // decimal integer
std::string format_flag(bool b);            // "true" / "false"
std::string format_for_message(double x);   // "%.6g": how values appear in error messages

// The largest step counter a state may hold (optimizer step counts, a schedule's position): 2^53, the last
// integer a double holds exactly (Adam computes β^t in double), and far from overflowing when incremented.
inline constexpr std::int64_t kMaxStepCount = std::int64_t{1} << 53;

// DomainError "<owner>: <what> = <value> <expected>" unless ok, e.g. "Adam: beta1 = 1 must be in [0, 1)".
// Written so that a NaN fails: pass the condition that holds for good values.
void check_hyper(bool ok, const std::string& owner, const char* what, double value, const char* expected);

// Reads one component's keys (those starting with `prefix`, e.g. "optim.") out of a StateDict's metadata and
// its tensor names; keys of other components are ignored. Remembers which keys were read, so that
// require_all_used() can reject keys this component does not know.
class StateKeys {
public:
    StateKeys(std::string owner, std::string prefix, const Metadata& metadata);

    const std::string& owner() const { return owner_; }
    // Tensors are registered by the caller (StateDict<T> is a template; this class is not).
    // UsageError when a tensor key appears twice.
    void add_tensor_key(const std::string& key);
    bool has_tensor(const std::string& key) const { return tensors_.count(key) != 0; }
    void use_tensor(const std::string& key) { used_tensors_.insert(key); }

    // UsageError when the key is missing; DomainError when its text is not a value of the expected kind.
    const std::string& text(const std::string& key);
    double number(const std::string& key);  // a finite double
    std::int64_t count(const std::string& key);  // an integer >= 0
    std::int64_t step_count(const std::string& key);  // an integer in [0, kMaxStepCount]
    bool flag(const std::string& key);
    // A flag that state written by earlier versions may lack: `absent` when the key is missing.
    bool flag(const std::string& key, bool absent);

    // UsageError naming the first key under the prefix that was never read.
    void require_all_used() const;

private:
    std::string owner_;
    std::string prefix_;
    const Metadata& metadata_;
    std::set<std::string> used_;
    std::set<std::string> tensors_;
    std::set<std::string> used_tensors_;
};

}  // namespace tapegrad::detail
