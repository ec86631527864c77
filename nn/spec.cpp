#include "tapegrad/nn/spec.hpp"


#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <string_view>

#include "tapegrad/nn/layers.hpp"
#include "tapegrad/nn/transformer.hpp"

namespace tapegrad {

SpecError::SpecError(std::size_t col, std::string tok, const std::string& message)
    : Error("spec: column " + std::to_string(col) + ", '" + tok + "': " + message), column(col), token(std::move(tok)) {}

namespace {

// The layer names the parser accepts, for its messages: the rows of kLayerBuilders below, in the same order
// (checked at compile time below the table).
constexpr const char* kLayerNames =
    "embed, context, position, linear, attention, relu, gelu, tanh, sigmoid, layernorm, dropout, tied, residual, repeat";

// The most parameters a model built from a spec may have in all, and the widest activation row: 2^28
// floats are 1 GiB. A spec is untrusted text; an absurd width must be a SpecError before anything is
// allocated, not std::bad_alloc or a product that wraps around.
constexpr std::size_t kMaxElements = std::size_t(1) << 28;

// a × b when it is at most `left`, else SpecError naming the layer (checked without overflow).
std::size_t checked_product(std::size_t a, std::size_t b, std::size_t left, const LayerSpec& layer, const char* what) {
    if (b != 0 && a > left / b)
        throw SpecError(layer.column, layer.name,
                        std::string(layer.name).append(" is too large: ").append(std::to_string(a)).append(" x ")
                            .append(std::to_string(b)).append(" ").append(what).append(", more than the ")
                            .append(std::to_string(left)).append(" left of the limit of ")
                            .append(std::to_string(kMaxElements)));
    return a * b;
}

struct Token {
    enum Kind { word, punct, end } kind;
    std::string text;
    std::size_t column;  // 1-based
};

bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == '+'; }

std::vector<Token> tokenize(const std::string& s) {
    std::vector<Token> out;
    std::size_t i = 0;
    while (i < s.size()) {
        const char c = s[i];
        if (std::isspace(static_cast<unsigned char>(c))) {
            ++i;
        } else if (c == '(' || c == ')' || c == ',' || c == '=') {
            out.push_back({Token::punct, std::string(1, c), i + 1});
            ++i;
        } else if (word_char(c)) {
            const std::size_t start = i;
            while (i < s.size() && word_char(s[i])) ++i;
            out.push_back({Token::word, s.substr(start, i - start), start + 1});
        } else {
            throw SpecError(i + 1, std::string(1, c), "unexpected character; expected a layer name, '(', ')', ',' or '='");
        }
    }
    out.push_back({Token::end, "end of spec", s.size() + 1});
    return out;
}

bool is_name(const std::string& w) { return !w.empty() && std::isalpha(static_cast<unsigned char>(w[0])); }

}  // namespace

namespace {

// Recursive descent over the tokens; `close` is the ')' that ends the list being read (nullptr at the top).
class Parser {
public:
    explicit Parser(const std::string& spec) : toks_(tokenize(spec)) {}

    std::vector<LayerSpec> spec() {
        std::vector<LayerSpec> layers = list(nullptr);
        if (layers.empty()) throw SpecError(1, "end of spec", "empty spec; expected a layer name");
        return layers;
    }

private:
    bool at(const char* punct) const { return toks_[i_].kind == Token::punct && toks_[i_].text == punct; }

    // item { item }, up to the end of the spec (top level) or the ')' closing `owner`.
    std::vector<LayerSpec> list(const LayerSpec* owner) {
        std::vector<LayerSpec> items;
        while (toks_[i_].kind != Token::end && !at(")")) items.push_back(item());
        if (owner) {
            if (toks_[i_].kind == Token::end)
                throw SpecError(toks_[i_].column, toks_[i_].text,
                                "expected ')' to close " + owner->name + " (opened at column " + std::to_string(owner->column) + ")");
            if (items.empty())
                throw SpecError(toks_[i_].column, toks_[i_].text, owner->name + " needs at least one layer inside");
        } else if (at(")")) {
            throw SpecError(toks_[i_].column, ")", "unmatched ')'; expected a layer name");
        }
        return items;
    }

    LayerSpec item() {
        const Token& name = toks_[i_];
        if (name.kind != Token::word || !is_name(name.text))
            throw SpecError(name.column, name.text, std::string("expected a layer name (") + kLayerNames + ")");
        LayerSpec layer{name.text, {}, name.column, {}};
        ++i_;
        if (layer.name == "residual" || layer.name == "repeat") return block(std::move(layer));
        if (at("(")) {
            ++i_;
            while (!at(")")) {
                layer.args.push_back(argument(layer));
                if (at(",")) {
                    ++i_;
                    continue;
                }
                if (!at(")"))
                    throw SpecError(toks_[i_].column, toks_[i_].text, "expected ',' or ')' in the arguments of " + layer.name);
            }
            ++i_;
        }
        return layer;
    }

    SpecArg argument(const LayerSpec& layer) {
        const Token& first = toks_[i_];
        if (first.kind != Token::word)
            throw SpecError(first.column, first.text, "expected an argument of " + layer.name + " or ')'");
        ++i_;
        if (!at("=")) return {"", first.text, first.column, first.column};
        ++i_;
        const Token& value = toks_[i_];
        if (value.kind != Token::word) throw SpecError(value.column, value.text, "expected a value for " + first.text + "=");
        ++i_;
        return {first.text, value.text, value.column, first.column};
    }

    // residual "(" list ")"   |   repeat "(" count "," list ")"
    LayerSpec block(LayerSpec layer) {
        if (!at("("))
            throw SpecError(toks_[i_].column, toks_[i_].text,
                            "expected '(' after " + layer.name + (layer.name == "repeat" ? "; repeat(n, layers…)" : "; residual(layers…)"));
        ++i_;
        if (layer.name == "repeat") {
            const Token& count = toks_[i_];
            if (count.kind != Token::word || !std::isdigit(static_cast<unsigned char>(count.text[0])))
                throw SpecError(count.column, count.text, "expected the number of repetitions; repeat(n, layers…)");
            layer.args.push_back({"", count.text, count.column, count.column});
            ++i_;
            if (!at(",")) throw SpecError(toks_[i_].column, toks_[i_].text, "expected ',' after repeat's count; repeat(n, layers…)");
            ++i_;
        }
        layer.body = list(&layer);
        ++i_;  // the ')' list() stopped at
        return layer;
    }

    std::vector<Token> toks_;
    std::size_t i_ = 0;
};

}  // namespace

std::vector<LayerSpec> parse_spec(const std::string& spec) { return Parser(spec).spec(); }

namespace {

// Argument access for one layer, with errors naming the layer and the argument.
struct Args {
    const LayerSpec& layer;
    std::size_t vocab;

    const SpecArg* positional(std::size_t k) const {
        std::size_t seen = 0;
        for (const auto& a : layer.args)
            if (a.key.empty() && seen++ == k) return &a;
        return nullptr;
    }
    const SpecArg* named(const std::string& key) const {
        for (const auto& a : layer.args)
            if (a.key == key) return &a;
        return nullptr;
    }
    void allow(std::size_t positional_count, std::initializer_list<const char*> keys) const {
        std::size_t seen = 0;
        for (const auto& a : layer.args) {
            if (a.key.empty()) {
                if (++seen > positional_count)
                    throw SpecError(a.column, a.value, layer.name + " takes " + std::to_string(positional_count) +
                                                           " positional argument" + (positional_count == 1 ? "" : "s"));
                continue;
            }
            bool ok = false;
            for (const char* k : keys) ok = ok || a.key == k;
            if (!ok) throw SpecError(a.key_column, a.key, "unknown argument of " + layer.name);
        }
    }
    std::size_t size(std::size_t k, const char* what) const {
        const SpecArg* a = positional(k);
        if (!a) throw SpecError(layer.column, layer.name, std::string("missing ") + what + "; expected " + layer.name + "(…)");
        if (a->value == "vocab") {
            if (vocab == 0) throw SpecError(a->column, a->value, "missing vocabulary: the vocabulary size is not known");
            return vocab;
        }
        std::size_t v = 0;
        const auto [p, ec] = std::from_chars(a->value.data(), a->value.data() + a->value.size(), v);
        if (ec != std::errc() || p != a->value.data() + a->value.size() || v == 0)
            throw SpecError(a->column, a->value, std::string("expected a positive integer or 'vocab' for ") + what);
        return v;
    }
    // A decimal number in the C locale's form whatever the process's locale (from_chars), as gpt_spec writes them.
    double number(const SpecArg& a, const char* what) const {
        const char* first = a.value.data();
        const char* last = first + a.value.size();
        if (first != last && *first == '+') ++first;
        double v = 0;
        const auto [p, ec] = std::from_chars(first, last, v);
        if (ec != std::errc() || p != last || first == last || !std::isfinite(v))
            throw SpecError(a.column, a.value, std::string("expected a number for ") + what);
        return v;
    }
    bool flag(const SpecArg& a) const {
        if (a.value == "true") return true;
        if (a.value == "false") return false;
        throw SpecError(a.column, a.value, "expected true or false for " + a.key);
    }
};

// The most layers a spec may build (repeat counts multiply): a spec of a billion activations is an error,
// not a hang.
constexpr std::size_t kMaxLayers = std::size_t(1) << 16;

// What a walk over a spec knows so far. One walk checks every layer (SpecError) and charges its parameters
// to the budget; with a generator it also builds the layers. build_model walks twice, first without a
// generator, so that every SpecError (sizes included) is raised before anything is allocated.
template <class T>
struct Walk {
    std::size_t vocab = 0;
    Tape<T>* tape = nullptr;  // nullptr: check only
    Generator* gen = nullptr;
    std::size_t width = 0;                  // width of the current activations; 0 before the input layer
    std::size_t left = kMaxElements;        // parameters the remaining layers may still have
    std::size_t layers_left = kMaxLayers;
    std::size_t block = 0;                  // window length, set by position(T)
    std::size_t embed_width = 0;            // the width of embed(d), for tied (0: no plain embedding)
    std::shared_ptr<Embedding<T>> embedding = nullptr;  // built: the token embedding, for tied
    bool tied = false;                      // the spec has a tied output layer (embed's default std, below)
    bool first = true;

    bool building() const { return tape != nullptr; }
    void charge(std::size_t a, std::size_t b, const LayerSpec& layer) {
        left -= checked_product(a, b, left, layer, "parameters");
    }
};

// An embedding table that is also the output layer (tied) is drawn from N(0, kTiedEmbedStd²) unless std= says
// otherwise, as GPT-2 and nanoGPT draw it: with torch.nn.Embedding's N(0, 1) the logits x·Eᵀ of a unit-variance
// x would have a standard deviation of √d (≈ 20 at d 384), and training would start at a loss many times
// ln(vocab).
constexpr double kTiedEmbedStd = 0.02;

bool has_layer(const std::vector<LayerSpec>& layers, const std::string& name) {
    return std::any_of(layers.begin(), layers.end(),
                       [&](const LayerSpec& l) { return l.name == name || has_layer(l.body, name); });
}

// std=s (and proj_std=s): the layer's matrices drawn from N(0, s²) instead of its default.
std::optional<double> init_std(const Args& args, const char* key) {
    const SpecArg* a = args.named(key);
    if (!a) return std::nullopt;
    const double s = args.number(*a, key);
    if (!(s >= 0)) throw SpecError(a->column, a->value, std::string(key) + " must be >= 0");
    return s;
}

template <class T>
void redraw(const Var<T>& p, std::optional<double> stddev, Generator& gen) {
    if (stddev) init_normal(p, *stddev, gen);
}

// The input stage goes into the model itself, never into a block (the checks above keep embed and context first).
template <class Into, class R>
void push_input_stage(Into* into, std::shared_ptr<R> reader, const LayerSpec& L) {
    if constexpr (requires { into->set_window_size(0); }) into->push_back(std::move(reader));
    else throw SpecError(L.column, L.name, L.name + " must be the first layer");
}

// `into` is the model (a SpecModel, whose push_back recognises the input stage, a context embedding's linear
// and the position embedding by their types) or a residual's or repeat's Sequential; nullptr when checking.
template <class T, class Into>
void walk_list(const std::vector<LayerSpec>& items, Walk<T>& w, Into* into);

// embed(d [, std=s]): the token embedding, vocab×d; the input stage
template <class T, class Into>
void build_embed(const LayerSpec& L, const Args& args, Walk<T>& w, Into* into) {

    args.allow(1, {"std"});
    w.width = args.size(0, "embed's width d");
    auto s = init_std(args, "std");
    if (!s && w.tied) s = kTiedEmbedStd;
    w.charge(w.vocab, w.width, L);
    w.embed_width = w.width;
    if (w.building()) {
        w.embedding = std::make_shared<Embedding<T>>(*w.tape, w.vocab, w.width, *w.gen);
        redraw(w.embedding->weight, s, *w.gen);
        push_input_stage(into, w.embedding, L);
    }
}

// context(k, d): the previous k tokens' embeddings side by side (k·d wide); the input stage
template <class T, class Into>
void build_context(const LayerSpec& L, const Args& args, Walk<T>& w, Into* into) {

    args.allow(2, {});
    const std::size_t k = args.size(0, "context's number of tokens k"), d = args.size(1, "context's width d");
    w.width = checked_product(k, d, kMaxElements, L, "columns");
    w.charge(w.vocab + 1, d, L);
    if (w.building()) push_input_stage(into, std::make_shared<ContextEmbedding<T>>(*w.tape, w.vocab, k, d, *w.gen), L);
}

// position(T [, std=s]): a learned position embedding; the model reads windows of T
template <class T, class Into>
void build_position(const LayerSpec& L, const Args& args, Walk<T>& w, Into* into) {

    args.allow(1, {"std"});
    const std::size_t t = args.size(0, "position's window length T");
    const auto s = init_std(args, "std");
    if (w.block != 0 && w.block != t)
        throw SpecError(args.positional(0)->column, args.positional(0)->value,
                        "a second window length; the model already reads windows of " + std::to_string(w.block));
    w.block = t;
    w.charge(t, w.width, L);
    if (w.building()) {
        auto layer = std::make_shared<PositionEmbedding<T>>(*w.tape, t, w.width, *w.gen);
        redraw(layer->weight, s, *w.gen);
        into->push_back(layer);
    }
}

// linear([in,] out [, bias=false] [, std=s])
template <class T, class Into>
void build_linear(const LayerSpec& L, const Args& args, Walk<T>& w, Into* into) {

    args.allow(2, {"bias", "std"});
    std::size_t out = args.size(0, "linear's output width");
    if (args.positional(1)) {  // linear(in, out): the input width is stated and must chain
        const std::size_t in = out;
        out = args.size(1, "linear's output width");
        if (in != w.width)
            throw SpecError(args.positional(0)->column, args.positional(0)->value,
                            "linear's input width " + std::to_string(in) + " does not chain with the previous width " +
                                std::to_string(w.width));
    }
    const SpecArg* bias = args.named("bias");
    const bool with_bias = bias ? args.flag(*bias) : true;
    const auto s = init_std(args, "std");
    w.charge(w.width + (with_bias ? 1 : 0), out, L);
    if (w.building()) {
        auto layer = std::make_shared<Linear<T>>(*w.tape, w.width, out, *w.gen, with_bias);
        redraw(layer->weight, s, *w.gen);
        if (s && with_bias) std::fill(layer->bias.mutable_value().begin(), layer->bias.mutable_value().end(), T(0));
        into->push_back(layer);
    }
    w.width = out;
}

// attention(heads [, std=s, proj_std=s]): causal self-attention over the windows of position(T)
template <class T, class Into>
void build_attention(const LayerSpec& L, const Args& args, Walk<T>& w, Into* into) {

    args.allow(1, {"std", "proj_std"});
    const std::size_t heads = args.size(0, "attention's number of heads");
    if (w.block == 0)
        throw SpecError(L.column, L.name, "attention needs the window length: put position(T) after embed(d)");
    if (w.width % heads != 0)
        throw SpecError(args.positional(0)->column, args.positional(0)->value,
                        "the width " + std::to_string(w.width) + " is not a multiple of " + std::to_string(heads) + " heads");
    const auto s = init_std(args, "std"), proj = init_std(args, "proj_std");
    w.charge(4 * w.width, w.width, L);  // W_qkv d×3d and W_proj d×d
    if (w.building()) {
        auto layer = std::make_shared<CausalSelfAttention<T>>(*w.tape, w.width, heads, w.block, *w.gen);
        redraw(layer->qkv_weight, s, *w.gen);
        redraw(layer->proj_weight, proj ? proj : s, *w.gen);
        into->push_back(layer);
    }
}

// tied: the output layer h·Eᵀ with embed(d)'s table
template <class T, class Into>
void build_tied(const LayerSpec& L, const Args& args, Walk<T>& w, Into* into) {

    args.allow(0, {});
    if (w.embed_width == 0)
        throw SpecError(L.column, L.name, "tied reuses the table of embed(d), and this model has none");
    if (w.width != w.embed_width)
        throw SpecError(L.column, L.name, "tied reads width " + std::to_string(w.embed_width) + " (the embedding's), but the width here is " +
                                              std::to_string(w.width));
    if (w.building()) into->push_back(std::make_shared<TiedOutput<T>>(*w.tape, *w.embedding));
    w.width = w.vocab;
}

// relu, gelu, tanh, sigmoid: elementwise, no parameters, the width unchanged.
template <class Layer, class T, class Into>
void build_activation(const LayerSpec&, const Args& args, Walk<T>& w, Into* into) {
    args.allow(0, {});
    if (w.building()) into->push_back(std::make_shared<Layer>(*w.tape));
}

// layernorm [(eps=e)]
template <class T, class Into>
void build_layernorm(const LayerSpec& L, const Args& args, Walk<T>& w, Into* into) {

    args.allow(0, {"eps"});
    const SpecArg* eps = args.named("eps");
    const double e = eps ? args.number(*eps, "eps") : 1e-5;
    // A spec builds float and double models alike: eps must be a positive normal float, or it
    // would round to 0 (or Inf) in a float model and a constant row would normalise to 0/0.
    if (!(e >= double(std::numeric_limits<float>::min()) && e <= double(std::numeric_limits<float>::max())))
        throw SpecError(eps->column, eps->value, "eps must be a positive normal float (1.17549e-38 to 3.40282e+38)");
    w.charge(2, w.width, L);  // gain and shift
    if (w.building()) into->push_back(std::make_shared<LayerNorm<T>>(*w.tape, w.width, e));
}

// dropout(p)
template <class T, class Into>
void build_dropout(const LayerSpec& L, const Args& args, Walk<T>& w, Into* into) {

    args.allow(1, {});
    const SpecArg* p = args.positional(0);
    if (!p) throw SpecError(L.column, L.name, "missing the drop probability; expected dropout(p)");
    const double prob = args.number(*p, "dropout's probability");
    if (!(prob >= 0 && prob < 1)) throw SpecError(p->column, p->value, "dropout's probability must be in [0, 1)");
    if (w.building()) into->push_back(std::make_shared<Dropout<T>>(*w.tape, prob, w.gen->next()));
}

// residual(spec): x + spec(x), the width kept
template <class T, class Into>
void build_residual(const LayerSpec& L, const Args&, Walk<T>& w, Into* into) {

    const std::size_t width = w.width;
    std::shared_ptr<Residual<T>> block = w.building() ? std::make_shared<Residual<T>>(*w.tape) : nullptr;
    walk_list<T, Sequential<T>>(L.body, w, block.get());
    if (w.width != width)
        throw SpecError(L.column, L.name, "the layers inside end with width " + std::to_string(w.width) +
                                              ", but a residual block must end at the width it starts with (" +
                                              std::to_string(width) + ")");
    if (block) into->push_back(block);
}

// repeat(n, spec): n copies of spec, each with its own parameters
template <class T, class Into>
void build_repeat(const LayerSpec& L, const Args& args, Walk<T>& w, Into* into) {

    const std::size_t n = args.size(0, "repeat's count");
    std::shared_ptr<Sequential<T>> copies = w.building() ? std::make_shared<Sequential<T>>(*w.tape) : nullptr;
    for (std::size_t k = 0; k < n; ++k) {
        std::shared_ptr<Sequential<T>> copy = w.building() ? std::make_shared<Sequential<T>>(*w.tape) : nullptr;
        walk_list<T, Sequential<T>>(L.body, w, copy.get());
        if (copies) copies->push_back(copy);
    }
    if (copies) into->push_back(copies);
}

// Every layer a spec can name, with its builder: one row per layer, in the order docs/spec.md lists them.
template <class T, class Into>
struct LayerBuilder {
    const char* name;
    void (*build)(const LayerSpec&, const Args&, Walk<T>&, Into*);
};

template <class T, class Into>
constexpr LayerBuilder<T, Into> kLayerBuilders[] = {
    {"embed", build_embed<T, Into>},
    {"context", build_context<T, Into>},
    {"position", build_position<T, Into>},
    {"linear", build_linear<T, Into>},
    {"attention", build_attention<T, Into>},
    {"relu", build_activation<ReLU<T>, T, Into>},
    {"gelu", build_activation<GELU<T>, T, Into>},
    {"tanh", build_activation<Tanh<T>, T, Into>},
    {"sigmoid", build_activation<Sigmoid<T>, T, Into>},
    {"layernorm", build_layernorm<T, Into>},
    {"dropout", build_dropout<T, Into>},
    {"tied", build_tied<T, Into>},
    {"residual", build_residual<T, Into>},
    {"repeat", build_repeat<T, Into>},
};

// kLayerNames is the table's names joined by ", ", in order: a row added without its name fails to compile.
constexpr bool layer_names_match_table() {
    const std::string_view list = kLayerNames;
    std::size_t pos = 0;
    for (const auto& builder : kLayerBuilders<float, Sequential<float>>) {
        const std::string_view name = builder.name;
        if (pos != 0) {
            if (list.substr(pos, 2) != ", ") return false;
            pos += 2;
        }
        if (list.substr(pos, name.size()) != name) return false;
        pos += name.size();
    }
    return pos == list.size();
}
static_assert(layer_names_match_table(), "kLayerNames must list kLayerBuilders' names, in order");

template <class T, class Into>
void walk_layer(const LayerSpec& L, Walk<T>& w, Into* into) {
    const Args args{L, w.vocab};
    if (w.layers_left == 0)
        throw SpecError(L.column, L.name, "the spec builds more than " + std::to_string(kMaxLayers) + " layers");
    --w.layers_left;
    const bool input_layer = L.name == "embed" || L.name == "context";
    if (w.first && !input_layer) throw SpecError(L.column, L.name, "a language model starts with embed(d) or context(k, d)");
    if (!w.first && input_layer) throw SpecError(L.column, L.name, L.name + " must be the first layer");
    w.first = false;
    for (const auto& builder : kLayerBuilders<T, Into>)
        if (L.name == builder.name) return builder.build(L, args, w, into);
    throw SpecError(L.column, L.name, std::string("unknown layer; expected one of ") + kLayerNames);
}

template <class T, class Into>
void walk_list(const std::vector<LayerSpec>& items, Walk<T>& w, Into* into) {
    for (const LayerSpec& item : items) walk_layer<T, Into>(item, w, into);
}

// Checks (and, with a model, builds) the whole spec; returns the parameter count.
template <class T>
std::size_t walk_layers(const std::vector<LayerSpec>& layers, std::size_t vocab, SpecModel<T>* model, Generator* gen) {
    if (vocab == 0) throw SpecError(1, layers[0].name, "missing vocabulary: a language model needs the vocabulary size");
    if (vocab > kMaxElements)
        throw SpecError(1, layers[0].name, std::string("a vocabulary of ").append(std::to_string(vocab))
                                               .append(" symbols is too large; the limit is ").append(std::to_string(kMaxElements)));
    Walk<T> w{.vocab = vocab, .tape = model ? &model->tape() : nullptr, .gen = gen, .tied = has_layer(layers, "tied")};
    walk_list<T, SpecModel<T>>(layers, w, model);
    if (model) model->set_window_size(w.block);  // position(T) may sit inside a block
    if (w.width != vocab)
        throw SpecError(layers.back().column, layers.back().name,
                        "the model ends with width " + std::to_string(w.width) + ", but a language model must end with the vocabulary size " +
                            std::to_string(vocab) + " (add linear(vocab))");
    return kMaxElements - w.left;
}

}  // namespace

std::size_t spec_parameter_count(const std::string& spec, std::size_t vocab) {
    return walk_layers<float>(parse_spec(spec), vocab, nullptr, nullptr);
}

template <class T>
std::shared_ptr<SpecModel<T>> build_model(const std::string& spec, std::size_t vocab, Tape<T>& tape, Generator& gen) {
    const std::vector<LayerSpec> layers = parse_spec(spec);
    walk_layers<T>(layers, vocab, nullptr, nullptr);  // every check first, nothing allocated
    auto model = std::make_shared<SpecModel<T>>(tape, spec, vocab);
    walk_layers<T>(layers, vocab, model.get(), &gen);
    return model;
}

template std::shared_ptr<SpecModel<float>> build_model(const std::string&, std::size_t, Tape<float>&, Generator&);
template std::shared_ptr<SpecModel<double>> build_model(const std::string&, std::size_t, Tape<double>&, Generator&);

}  // namespace tapegrad
