/// \file
/// Module: what every layer and model is. A module registers named parameters (on a tape) and named
/// submodules; named_parameters() walks them in registration order with stable dotted names
/// ("ffn.0.weight"). A new layer composes tape ops in forward() and never writes a backward. The base knows
/// nothing of tokens: reading token ids is the job of an input stage (TokenReader, nn/tokens.hpp) and of the
/// language models built around one (LanguageModel, nn/token_model.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tapegrad/autodiff/named.hpp"
#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

template <class T>
class Module {
public:
    explicit Module(Tape<T>& tape) : tape_(&tape) {}
    virtual ~Module() = default;
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

    /// A layer of tensors, x → y (Linear, LayerNorm, attention, a residual block), called as model(x). The
    /// default throws UsageError naming the module: a module without a tensor forward (an embedding reads
    /// token ids: nn/tokens.hpp's TokenReader; a language model is called with tokens: nn/token_model.hpp).
    virtual Var<T> forward(const Var<T>& x);
    Var<T> operator()(const Var<T>& x) { return forward(x); }
    /// skip + forward(x) as one fused op, for a residual block whose body ends in this module, or an invalid
    /// Var when this module has no such form (the default) or the shapes do not allow it; the caller then
    /// adds forward(x) itself. A module whose forward ends in a product overrides it with addmm(skip, h, W).
    virtual Var<T> forward_added_to(const Var<T>& x, const Var<T>& skip);

    /// The length of the windows of consecutive rows this module reads its input as (a position embedding's
    /// or attention's block), 0 when its rows are independent (the default). Language models find their
    /// window through it (LanguageModel::window_size).
    virtual std::size_t window() const { return 0; }
    /// The first non-zero window() in a depth-first walk of this module and its submodules, 0 if none.
    std::size_t window_in_tree() const;

    /// Text a checkpoint stores beside the module's tensors (under "model."): nothing by default; a
    /// SpecModel (a model built from a spec) stores its spec and vocabulary, from which load_model rebuilds it.
    virtual std::map<std::string, std::string> checkpoint_metadata() const { return {}; }

    /// Short description, e.g.\ "Linear(64 -> 256, bias)".
    virtual std::string describe() const = 0;

    std::vector<NamedParameter<T>> named_parameters() const;
    std::vector<Var<T>> parameters() const;
    std::size_t parameter_count() const;  ///< number of scalars
    /// Submodules in registration order, with their names.
    const std::vector<std::pair<std::string, std::shared_ptr<Module<T>>>>& children() const { return children_; }

    void zero_grad();
    /// Train mode (the default) and evaluation mode, recursively (Dropout is active in train mode only).
    void train(bool on = true);
    void eval() { train(false); }
    bool is_training() const { return training_; }

    Tape<T>& tape() const { return *tape_; }

    /// Module tree with parameter shapes, one line per module.
    std::string summary() const;

protected:
    Var<T> register_parameter(std::string name, Tensor<T> value);
    template <class M>
    std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
        add_child(std::move(name), module);
        return module;
    }
    void add_child(std::string name, std::shared_ptr<Module<T>> module);

private:
    void collect(const std::string& prefix, std::vector<NamedParameter<T>>& out) const;
    void summarize(const std::string& name, int depth, std::string& out) const;

    Tape<T>* tape_;
    std::vector<std::pair<std::string, Var<T>>> params_;
    std::vector<std::pair<std::string, std::shared_ptr<Module<T>>>> children_;
    bool training_ = true;
};

extern template class Module<float>;
extern template class Module<double>;

}  // namespace tapegrad
