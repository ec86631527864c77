#include "run_checkpoint.hpp"

#include <array>
#include <charconv>
#include <cstdio>

namespace train_lm {

using tapegrad::CheckpointError;

std::string alphabet_to_hex(const std::vector<unsigned char>& alphabet) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char b : alphabet) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

std::vector<unsigned char> alphabet_from_hex(const std::string& hex) {
    auto value = [&](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        throw CheckpointError("checkpoint: data.alphabet is not hexadecimal");
    };
    if (hex.size() % 2) throw CheckpointError("checkpoint: data.alphabet has an odd length");
    std::vector<unsigned char> out;
    for (std::size_t i = 0; i < hex.size(); i += 2) out.push_back((unsigned char)(value(hex[i]) * 16 + value(hex[i + 1])));
    return out;
}

std::string meta(const tapegrad::SafetensorsFile& file, const std::string& key) {
    const auto it = file.metadata.find(key);
    if (it == file.metadata.end()) throw CheckpointError("checkpoint: metadata '" + key + "' is missing (not a train_lm checkpoint?)");
    return it->second;
}

std::uint64_t meta_count(const tapegrad::SafetensorsFile& file, const std::string& key, std::uint64_t min, std::uint64_t max) {
    const std::string text = meta(file, key);
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
        throw CheckpointError(std::string("checkpoint: metadata '").append(key).append("' is '").append(text)
                                  .append("', expected an integer in [").append(std::to_string(min)).append(", ")
                                  .append(std::to_string(max)).append("]"));
    return value;
}

namespace {

// A byte as a person reads it: 'a' (0x61), or the hex code alone for control and non-ASCII bytes.
std::string symbol(unsigned char b) {
    char buf[16];
    if (b >= 0x20 && b < 0x7f) std::snprintf(buf, sizeof buf, "'%c' (0x%02x)", b, b);
    else std::snprintf(buf, sizeof buf, "0x%02x", b);
    return buf;
}

}  // namespace

std::vector<unsigned char> checkpoint_alphabet(const tapegrad::SafetensorsFile& file, std::size_t model_vocab,
                                               const std::string& origin) {
    const auto alphabet = alphabet_from_hex(meta(file, "data.alphabet"));
    if (alphabet.size() != model_vocab)
        throw CheckpointError(origin + ": data.alphabet has " + std::to_string(alphabet.size()) +
                              " symbols, but the model's vocabulary is " + std::to_string(model_vocab) +
                              "; the checkpoint is damaged or was edited");
    std::array<bool, 256> seen{};
    for (std::size_t i = 0; i < alphabet.size(); ++i) {
        if (seen[alphabet[i]])
            throw CheckpointError(origin + ": data.alphabet holds " + symbol(alphabet[i]) + " twice (again at token " +
                                  std::to_string(i) + "); the checkpoint is damaged or was edited");
        seen[alphabet[i]] = true;
    }
    return alphabet;
}

std::string alphabet_difference(const std::vector<unsigned char>& checkpoint, const std::vector<unsigned char>& data) {
    if (checkpoint.size() != data.size())
        return std::to_string(checkpoint.size()) + " symbols, the data has " + std::to_string(data.size());
    for (std::size_t i = 0; i < data.size(); ++i)
        if (checkpoint[i] != data[i])
            return "same size (" + std::to_string(data.size()) + " symbols), but token " + std::to_string(i) + " is " +
                   symbol(checkpoint[i]) + " in the checkpoint and " + symbol(data[i]) + " in the data";
    return {};
}

void check_step_counters(std::int64_t train_step, std::int64_t optimizer_steps, std::int64_t schedule_position,
                         std::int64_t total_steps, const std::string& origin) {
    if (train_step != optimizer_steps || train_step != schedule_position)
        throw CheckpointError(origin + ": the step counters disagree: train.step " + std::to_string(train_step) +
                              ", the optimizer's step count " + std::to_string(optimizer_steps) +
                              ", the schedule's position " + std::to_string(schedule_position) +
                              "; the checkpoint is damaged or was edited");
    if (train_step > total_steps)
        throw CheckpointError(origin + ": the checkpoint is at step " + std::to_string(train_step) + ", past --steps " +
                              std::to_string(total_steps) + "; resume with --steps of at least " + std::to_string(train_step));
}

}  // namespace train_lm
