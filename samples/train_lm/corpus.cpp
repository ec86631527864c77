#include "corpus.hpp"

#include <algorithm>
#include <stdexcept>

#include "tapegrad/nn/file_read.hpp"

namespace train_lm {

std::string Corpus::decode(const std::vector<std::int64_t>& ids) const {
    std::string out;
    for (std::int64_t id : ids) out += char(alphabet.at(std::size_t(id)));
    return out;
}

std::vector<std::filesystem::path> default_corpus_files() {
    const std::filesystem::path dir = "/usr/share/games/fortunes";
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        if (!entry.is_regular_file() || entry.is_symlink()) continue;
        if (entry.path().has_extension()) continue;  // .dat indexes, .u8 links
        files.push_back(entry.path());
    }
    if (ec || files.empty())
        throw std::runtime_error("default corpus: no fortune files in " + dir.string() +
                                 " (install Debian's 'fortunes' package: bash scripts/setup.sh), or pass --data FILE");
    std::sort(files.begin(), files.end());
    return files;
}

std::string read_text(const std::vector<std::filesystem::path>& files) {
    // Every byte becomes an 8-byte id: 1 GiB of text is already 8 GiB of ids.
    constexpr std::uint64_t kMaxTextBytes = std::uint64_t(1) << 30;
    std::string text;
    for (const auto& f : files) {
        try {
            text += tapegrad::read_regular_text(f, "data", kMaxTextBytes - text.size());
        } catch (const tapegrad::FileError& e) {
            throw std::runtime_error("cannot read " + f.string() + ": " + e.problem);
        }
    }
    return text;
}

Corpus make_corpus(const std::string& text, std::string source, double val_fraction, std::size_t min_split) {
    if (text.empty()) throw std::runtime_error(source + ": the data is empty");
    if (text.find('\0') != std::string::npos)
        throw std::runtime_error(source + ": the data holds NUL bytes; expected text, not binary data");
    if (!(val_fraction > 0 && val_fraction < 1)) throw std::runtime_error("validation fraction must be in (0, 1)");
    Corpus c;
    c.source = std::move(source);
    c.id_of.fill(-1);
    std::array<bool, 256> seen{};
    for (unsigned char b : text) seen[b] = true;
    for (int b = 0; b < 256; ++b)
        if (seen[std::size_t(b)]) {
            c.id_of[std::size_t(b)] = std::int16_t(c.alphabet.size());
            c.alphabet.push_back((unsigned char)b);
        }
    if (c.alphabet.size() < 2)
        throw std::runtime_error(c.source + ": the data uses a single character; a language model needs at least two");
    const std::size_t n_val = std::size_t(double(text.size()) * val_fraction);
    const std::size_t n_train = text.size() - n_val;
    if (n_val < min_split || n_train < min_split)
        throw std::runtime_error(c.source + ": the data is too short (" + std::to_string(text.size()) +
                                 " bytes); each split needs at least " + std::to_string(min_split) + " tokens");
    c.train.reserve(n_train);
    c.val.reserve(n_val);
    for (std::size_t i = 0; i < text.size(); ++i)
        (i < n_train ? c.train : c.val).push_back(c.id_of[(unsigned char)text[i]]);
    return c;
}

}  // namespace train_lm
