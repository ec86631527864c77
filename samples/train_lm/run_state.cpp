#include "run_state.hpp"

#include <algorithm>

#include "presets.hpp"
#include "run_checkpoint.hpp"
#include "tapegrad/nn/model_file.hpp"

namespace train_lm {

using namespace tapegrad;

void start_run(RunState& run, const Corpus& corpus, TrainOptions& opt) {
    const std::size_t vocab = corpus.vocab();
    run.tape.set_detect_anomaly(opt.detect_anomaly);
    run.tape.set_release_intermediate_gradients(true);  // training reads only the parameters' gradients
    SafetensorsFile resumed;
    if (!opt.resume.empty()) {
        const std::string origin = opt.resume.string();
        run.model = load_model<float>(opt.resume, run.tape, &resumed);  // one read; rejects non-finite weights
        const auto alphabet = checkpoint_alphabet(resumed, run.model->vocab(), origin);
        const std::string diff = alphabet_difference(alphabet, corpus.alphabet);
        if (!diff.empty())
            throw CheckpointError(origin + ": the checkpoint was trained on another vocabulary (" + diff + "); resume with the same --data");
        if (opt.model != "default" && resolve_spec(opt.model, vocab, opt.context) != run.model->spec())
            throw CheckpointError(origin + ": the checkpoint is of the model '" + run.model->spec() + "', but --model asks for '" +
                                  resolve_spec(opt.model, vocab, opt.context) + "'");
        run.start_step = std::int64_t(meta_count(resumed, "train.step", 0, std::uint64_t(std::int64_t(1) << 40)));
        opt.seed = meta_count(resumed, "train.seed", 0);
        opt.batch = meta_count(resumed, "train.batch", 1, std::uint64_t(1) << 24);
    } else {
        Generator gen(opt.seed);
        run.model = build_model<float>(resolve_spec(opt.model, vocab, opt.context), vocab, run.tape, gen);
    }
    // The optimizer of a resumed run is the checkpoint's (its state restores the hyper-parameters below).
    const bool adamw = opt.resume.empty() ? opt.adamw : meta(resumed, "optim.kind") == "AdamW";
    if (adamw)
        run.adam = std::make_unique<AdamW<float>>(
            run.model->named_parameters(),
            AdamWOptions{.lr = opt.lr, .beta2 = opt.beta2, .weight_decay = opt.weight_decay, .decay_matrices_only = true});
    else
        run.adam = std::make_unique<Adam<float>>(run.model->named_parameters(), AdamOptions{.lr = opt.lr, .beta2 = opt.beta2});
    run.schedule = std::make_unique<WarmupCosineLR>(opt.lr, std::min(opt.warmup, opt.steps), opt.steps, opt.lr * opt.min_lr_ratio);
    if (!opt.resume.empty()) {
        const StateDict<float> state = extract_state<float>(resumed, "");
        run.adam->load_state_dict(state);  // rejects non-finite moments and v < 0
        run.schedule->load_state_dict(state);
        check_step_counters(run.start_step, run.adam->step_count(), run.schedule->position(), opt.steps, opt.resume.string());
    }
}

void save_run(const std::filesystem::path& path, const RunState& run, const Corpus& corpus, std::uint64_t seed,
              std::size_t batch, std::int64_t step) {
    save_checkpoint<float>(path, *run.model, {{"", run.adam->state_dict()}, {"", run.schedule->state_dict<float>()}},
                           {{"train.step", std::to_string(step)},
                            {"train.seed", std::to_string(seed)},
                            {"train.batch", std::to_string(batch)},
                            {"data.alphabet", alphabet_to_hex(corpus.alphabet)},
                            {"data.source", corpus.source}});
}


}  // namespace train_lm
