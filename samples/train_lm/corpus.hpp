// The text a language model trains on: bytes → token ids over the bytes that occur, and a fixed
// train/validation split.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace train_lm {

struct Corpus {
    std::string source;                     // where the text came from, for messages
    std::vector<unsigned char> alphabet;    // token id → byte, sorted
    std::array<std::int16_t, 256> id_of{};  // byte → token id, −1 for bytes that do not occur
    std::vector<std::int64_t> train, val;   // token ids of the two splits

    std::size_t vocab() const { return alphabet.size(); }
    std::string decode(const std::vector<std::int64_t>& ids) const;
};

// The default corpus: the text files of Debian's fortunes package (not the .dat indexes nor the .u8 links),
// in name order.
std::vector<std::filesystem::path> default_corpus_files();

// Reads the files, concatenated: regular files only (not a device or FIFO), 1 GiB in all at most. Throws
// std::runtime_error naming the path for a missing, unreadable, special or too large file.
std::string read_text(const std::vector<std::filesystem::path>& files);

// Splits text: the first (1 − val_fraction) of it trains, the rest validates. Throws std::runtime_error when
// the text is empty, holds NUL bytes (binary data), has fewer than 2 distinct bytes, or is too short to give
// each split at least `min_split` tokens.
Corpus make_corpus(const std::string& text, std::string source, double val_fraction = 0.1, std::size_t min_split = 64);

}  // namespace train_lm
