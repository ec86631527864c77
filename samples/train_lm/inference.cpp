#include "inference.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "batches.hpp"
#include "memory_plan.hpp"
#include "stop_signals.hpp"
#include "tapegrad/autodiff/ops/indexing.hpp"
#include "tapegrad/autodiff/ops/softmax.hpp"
#include "tapegrad/nn/init.hpp"

namespace train_lm {

using namespace tapegrad;

namespace {

// Eval mode (no dropout) for a scope; the model's mode before is restored however the scope ends.
class EvalModeScope {
public:
    explicit EvalModeScope(Module<float>& model) : model_(model), was_training_(model.is_training()) { model.eval(); }
    ~EvalModeScope() { model_.train(was_training_); }
    EvalModeScope(const EvalModeScope&) = delete;
    EvalModeScope& operator=(const EvalModeScope&) = delete;

private:
    Module<float>& model_;
    bool was_training_;
};

}  // namespace

namespace {

// The mean cross-entropy of a windowed model over positions [0, total) of `ids`: non-overlapping windows
// of T starting at 0, T, 2T, … (the last one shorter when T does not divide total), so that position p is
// predicted from the tokens of its window up to p, as nanoGPT's evaluation reads its blocks.
double evaluate_windows(LanguageModel<float>& model, const std::vector<std::int64_t>& ids, std::size_t window, std::size_t total,
                        const ProgressFn& progress) {
    Tape<float>& tape = model.tape();
    const std::size_t per_chunk = std::max<std::size_t>(1, eval_chunk_positions(model) / window) * window;
    Batch batch;
    double sum = 0;
    for (std::size_t start = 0; start < total;) {
        throw_if_stop_requested("evaluation");
        // whole windows, or the last shorter one alone (a model reads fewer than T rows as one window)
        const std::size_t whole = std::min(per_chunk, (total - start) / window * window);
        const std::size_t rows = whole > 0 ? whole : total - start;
        batch.contexts.assign(ids.begin() + std::ptrdiff_t(start), ids.begin() + std::ptrdiff_t(start + rows));
        batch.targets.assign(ids.begin() + std::ptrdiff_t(start + 1), ids.begin() + std::ptrdiff_t(start + rows + 1));
        Var<float> logits = model(TokenInput{batch.contexts});
        sum += double(cross_entropy(logits, batch.targets, {.reduction = Reduction::sum}).item());
        tape.clear();
        start += rows;
        if (progress) progress(start, total);
    }
    return sum / double(total);
}

}  // namespace

double evaluate(LanguageModel<float>& model, const std::vector<std::int64_t>& ids, std::size_t pad, std::size_t max_positions,
                const ProgressFn& progress) {
    Tape<float>& tape = model.tape();
    NoGradGuard<float> no_grad(tape);
    const EvalModeScope eval_mode(model);
    if (const std::size_t window = model.window_size()) {
        const std::size_t total = max_positions ? std::min(max_positions, ids.size() - 1) : ids.size() - 1;
        return evaluate_windows(model, ids, window, total, progress);
    }
    const std::size_t k = model.context_size();
    std::size_t total = ids.size() - 1;
    if (max_positions && max_positions < total) total = max_positions;
    const std::size_t chunk = eval_chunk_positions(model);
    std::vector<std::size_t> positions;
    Batch batch;
    double sum = 0;
    for (std::size_t start = 0; start < total; start += chunk) {
        throw_if_stop_requested("evaluation");
        positions.clear();
        for (std::size_t p = start; p < std::min(total, start + chunk); ++p) positions.push_back(p);
        fill_batch(ids, positions, k, std::int64_t(pad), batch);
        Var<float> logits = model(TokenInput{batch.contexts, k});
        sum += double(cross_entropy(logits, batch.targets, {.reduction = Reduction::sum}).item());
        tape.clear();
        if (progress) progress(std::min(total, start + chunk), total);
    }
    return sum / double(total);
}

LossEstimate estimate_loss(LanguageModel<float>& model, const std::vector<std::int64_t>& ids, std::size_t pad,
                           std::size_t sample_positions, std::uint64_t seed, const ProgressFn& progress) {
    Tape<float>& tape = model.tape();
    NoGradGuard<float> no_grad(tape);
    const EvalModeScope eval_mode(model);
    Generator gen(seed);
    const std::size_t total = ids.size() - 1, window = model.window_size();
    const std::size_t unit = window ? window : 1;              // positions per unit
    const std::size_t units_available = total / unit;          // whole windows (or positions)
    if (units_available == 0) throw std::invalid_argument("estimate_loss: fewer positions than one window");
    const std::size_t units = std::max<std::size_t>(2, sample_positions / unit);
    const std::size_t per_chunk = std::max<std::size_t>(1, eval_chunk_positions(model) / unit);
    const std::size_t k = window ? 0 : model.context_size();
    std::vector<double> losses;  // one mean loss per unit
    losses.reserve(units);
    std::vector<std::size_t> positions;
    Batch batch;
    for (std::size_t done = 0; done < units;) {
        throw_if_stop_requested("evaluation");
        const std::size_t n = std::min(per_chunk, units - done);
        if (window) {
            batch.contexts.clear();
            batch.targets.clear();
            for (std::size_t u = 0; u < n; ++u) {
                const std::size_t start = std::size_t(gen.below(units_available)) * window;
                batch.contexts.insert(batch.contexts.end(), ids.begin() + std::ptrdiff_t(start),
                                      ids.begin() + std::ptrdiff_t(start + window));
                batch.targets.insert(batch.targets.end(), ids.begin() + std::ptrdiff_t(start + 1),
                                     ids.begin() + std::ptrdiff_t(start + window + 1));
            }
        } else {
            positions.clear();
            for (std::size_t u = 0; u < n; ++u) positions.push_back(std::size_t(gen.below(total)));
            fill_batch(ids, positions, k, std::int64_t(pad), batch);
        }
        Var<float> logits = window ? model(TokenInput{batch.contexts}) : model(TokenInput{batch.contexts, k});
        const Tensor<float>& each = cross_entropy(logits, batch.targets, {.reduction = Reduction::none}).value();
        for (std::size_t u = 0; u < n; ++u) {
            double sum = 0;
            for (std::size_t r = 0; r < unit; ++r) sum += double(each(u * unit + r, 0));
            losses.push_back(sum / double(unit));
        }
        tape.clear();
        done += n;
        if (progress) progress(done * unit, units * unit);
    }
    double mean = 0;
    for (double x : losses) mean += x;
    mean /= double(losses.size());
    double squares = 0;
    for (double x : losses) squares += (x - mean) * (x - mean);
    const double variance = squares / double(losses.size() - 1);  // the sample variance of the units
    return {mean, std::sqrt(variance / double(losses.size())), losses.size() * unit};
}

std::int64_t start_id(const LanguageModel<float>& model, const std::vector<unsigned char>& alphabet) {
    if (const auto pad = model.padding_id()) return *pad;  // a context model starts from its padding id
    const auto nl = std::find(alphabet.begin(), alphabet.end(), (unsigned char)'\n');
    return nl == alphabet.end() ? 0 : std::int64_t(nl - alphabet.begin());
}

std::vector<std::int64_t> sample(LanguageModel<float>& model, std::vector<std::int64_t> prompt, std::size_t length,
                                 double temperature, std::uint64_t seed, std::size_t pad,
                                 const std::function<void(std::int64_t)>& on_token) {
    if (!(temperature > 0) || !std::isfinite(temperature))
        throw std::invalid_argument("sample: temperature must be a finite number > 0, got " + std::to_string(temperature));
    Tape<float>& tape = model.tape();
    NoGradGuard<float> no_grad(tape);
    const EvalModeScope eval_mode(model);
    Generator gen(seed);
    // A windowed model (a GPT) reads the last T tokens as one window and predicts from its last row; the
    // others read the context of k ids ending at the last token. Either way the last k (or T) tokens are all
    // a step reads: a long generation keeps no more than that.
    const std::size_t window = model.window_size();
    const std::size_t k = window ? window : model.context_size();
    std::vector<std::int64_t> context(window ? 0 : k), seq = std::move(prompt), out;
    if (window && seq.empty()) seq.push_back(std::int64_t(pad));  // the start symbol
    if (seq.size() > k) seq.erase(seq.begin(), seq.end() - std::ptrdiff_t(k));
    Tensor<float> row;  // the last position's logits
    for (std::size_t i = 0; i < length; ++i) {
        throw_if_stop_requested("sampling");
        for (std::size_t j = 0; j < context.size(); ++j) {
            const std::size_t back = k - 1 - j;
            context[j] = seq.size() > back ? seq[seq.size() - 1 - back] : std::int64_t(pad);
        }
        const Tensor<float>& logits = window ? model(TokenInput{seq}).value() : model(TokenInput{context, k}).value();
        const std::size_t V = logits.shape()[1];
        const float* last = logits.data() + (logits.shape()[0] - 1) * V;  // the prediction after the last token
        for (std::size_t j = 0; j < V; ++j)
            if (!std::isfinite(last[j]))
                throw DomainError("sample: the model's logit " + std::to_string(j) + " is " + std::to_string(last[j]) +
                                  "; its weights are broken");
        // p = softmax(logits / temperature) of that row, by the library's (stable) softmax
        row.resize({1, V});
        std::copy(last, last + V, row.begin());
        const Tensor<float>& p = softmax(mul(tape.constant(row), 1.0 / temperature)).value();
        // the first j whose cumulative probability exceeds u (the last one if rounding leaves u beyond them all)
        const double u = gen.uniform();
        double cumulative = 0;
        std::size_t next = V - 1;
        for (std::size_t j = 0; j < V; ++j)
            if (u < (cumulative += double(p.data()[j]))) {
                next = j;
                break;
            }
        seq.push_back(std::int64_t(next));
        if (seq.size() > k) seq.erase(seq.begin());
        tape.clear();
        if (on_token) on_token(std::int64_t(next));
        else out.push_back(std::int64_t(next));
    }
    return out;
}

}  // namespace train_lm
