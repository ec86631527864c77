#include "memory_plan.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <sys/resource.h>
#include <unistd.h>

namespace train_lm {

namespace {
constexpr std::size_t kMaxEvalChunk = 4096;
constexpr double kEvalChunkBytes = 256.0 * 1024 * 1024;
}  // namespace

std::size_t bytes_per_position(const tapegrad::LanguageModel<float>& model) {
    double bytes = 8.0 * double(model.context_size() + 1);
    for (const auto& p : model.named_parameters()) {
        const auto& shape = p.var.value().shape();
        bytes += 4.0 * double(shape[0] + shape[1]);
    }
    return std::size_t(bytes);
}

std::size_t eval_chunk_positions(const tapegrad::LanguageModel<float>& model) {
    const double per = double(std::max<std::size_t>(1, bytes_per_position(model)));
    return std::clamp<std::size_t>(std::size_t(kEvalChunkBytes / per), 1, kMaxEvalChunk);
}

std::uint64_t available_memory_bytes() {
    std::uint64_t limit = 0;
    auto take = [&](std::uint64_t v) {
        if (v > 0 && (limit == 0 || v < limit)) limit = v;
    };
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) take(std::uint64_t(pages) * std::uint64_t(page));
    rlimit rl{};
    if (::getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) take(std::uint64_t(rl.rlim_cur));
    std::ifstream cg("/sys/fs/cgroup/memory.max");
    std::string text;
    if (cg >> text && text != "max") {
        try {
            take(std::stoull(text));
        } catch (const std::exception&) {
        }
    }
    return limit;
}

std::string human_bytes(double bytes) {
    char buf[32];
    if (bytes >= 1e9) std::snprintf(buf, sizeof buf, "%.1f GB", bytes / 1e9);
    else std::snprintf(buf, sizeof buf, "%.0f MB", std::max(1.0, bytes / 1e6));
    return buf;
}

void check_training_fits(const tapegrad::LanguageModel<float>& model, std::size_t batch, const std::string& spec) {
    const double per = double(bytes_per_position(model));
    // activations kept for backward and their gradients: two buffers per position
    const double step = 2.0 * per * double(batch);
    // parameters, their gradients and Adam's m and v
    const double state = 4.0 * 4.0 * double(model.parameter_count());
    const double need = step + state;
    const std::uint64_t have = available_memory_bytes();
    if (have > 0 && need > 0.9 * double(have))
        throw std::runtime_error("out of memory: a training step of '" + spec + "' with --batch " + std::to_string(batch) +
                                 " needs about " + human_bytes(need) + " (" + human_bytes(per) + " of activations per position, " +
                                 human_bytes(state) + " of parameters, gradients and Adam state), but this process may use " +
                                 human_bytes(double(have)) + "; use a smaller --batch or a smaller model");
}

}  // namespace train_lm
