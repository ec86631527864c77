#include "nn/spec.hpp"


#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include "nn/layers.hpp"

namespace tapegrad {

SpecError::SpecError(std::size_t col, std::string tok, const std::string& message)
    : Error("spec: column " + std::to_string(col) + ", '" + tok + "': " + message), column(col), token(std::move(tok)) {}

namespace {

const char* const kLayerNames = "embed, context, linear, relu, gelu, tanh, sigmoid, layernorm, dropout";

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

std::vector<LayerSpec> parse_spec(const std::string& spec) {
    const std::vector<Token> toks = tokenize(spec);
    std::vector<LayerSpec> layers;
    std::size_t i = 0;
    auto expect = [&](const char* what) -> const Token& {
        const Token& t = toks[i];
        if (t.kind == Token::end || (t.kind == Token::punct && t.text != what))
            throw SpecError(t.column, t.text, std::string("expected '") + what + "'");
        return toks[i++];
    };
    while (toks[i].kind != Token::end) {
        const Token& name = toks[i];
        if (name.kind != Token::word || !is_name(name.text))
            throw SpecError(name.column, name.text, std::string("expected a layer name (") + kLayerNames + ")");
        LayerSpec layer{name.text, {}, name.column};
        ++i;
        if (toks[i].kind == Token::punct && toks[i].text == "(") {
            ++i;
            while (!(toks[i].kind == Token::punct && toks[i].text == ")")) {
                const Token& first = toks[i];
                if (first.kind != Token::word)
                    throw SpecError(first.column, first.text, "expected an argument of " + layer.name + " or ')'");
                ++i;
                SpecArg arg{"", first.text, first.column, first.column};
                if (toks[i].kind == Token::punct && toks[i].text == "=") {
                    ++i;
                    const Token& value = toks[i];
                    if (value.kind != Token::word)
                        throw SpecError(value.column, value.text, "expected a value for " + first.text + "=");
                    arg = {first.text, value.text, value.column, first.column};
                    ++i;
                }
                layer.args.push_back(std::move(arg));
                if (toks[i].kind == Token::punct && toks[i].text == ",") {
                    ++i;
                    continue;
                }
                if (!(toks[i].kind == Token::punct && toks[i].text == ")"))
                    throw SpecError(toks[i].column, toks[i].text, "expected ',' or ')' in the arguments of " + layer.name);
            }
            expect(")");
        }
        layers.push_back(std::move(layer));
    }
    if (layers.empty()) throw SpecError(1, "end of spec", "empty spec; expected a layer name");
    return layers;
}

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
    double number(const SpecArg& a, const char* what) const {
        std::size_t used = 0;
        double v = 0;
        try {
            v = std::stod(a.value, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != a.value.size() || !std::isfinite(v)) throw SpecError(a.column, a.value, std::string("expected a number for ") + what);
        return v;
    }
    bool flag(const SpecArg& a) const {
        if (a.value == "true") return true;
        if (a.value == "false") return false;
        throw SpecError(a.column, a.value, "expected true or false for " + a.key);
    }
};

// Walks the layers of a spec: checks each one (SpecError), charges its parameters to the budget and, when
// `model` is given, appends the layer to it (initialised from `gen`). Returns the parameter count.
// build_model walks twice, first without a model, so that every SpecError (sizes included) is raised
// before anything is allocated.
template <class T>
std::size_t walk_layers(const std::vector<LayerSpec>& layers, std::size_t vocab, Sequential<T>* model, Generator* gen) {
    if (vocab == 0) throw SpecError(1, layers[0].name, "missing vocabulary: a language model needs the vocabulary size");
    if (vocab > kMaxElements)
        throw SpecError(1, layers[0].name, std::string("a vocabulary of ").append(std::to_string(vocab))
                                               .append(" symbols is too large; the limit is ").append(std::to_string(kMaxElements)));
    const bool build = model != nullptr;
    Tape<T>* tape = build ? &model->tape() : nullptr;
    std::size_t width = 0;            // width of the current activations; 0 before the input layer
    std::size_t left = kMaxElements;  // parameters the remaining layers may still have
    auto charge = [&](std::size_t a, std::size_t b, const LayerSpec& layer) { left -= checked_product(a, b, left, layer, "parameters"); };
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const LayerSpec& L = layers[i];
        const Args args{L, vocab};
        const bool input_layer = L.name == "embed" || L.name == "context";
        if (i == 0 && !input_layer)
            throw SpecError(L.column, L.name, "a language model starts with embed(d) or context(k, d)");
        if (i > 0 && input_layer)
            throw SpecError(L.column, L.name, L.name + " must be the first layer");
        if (L.name == "embed") {
            args.allow(1, {});
            width = args.size(0, "embed's width d");
            charge(vocab, width, L);
            if (build) model->push_back(std::make_shared<Embedding<T>>(*tape, vocab, width, *gen));
        } else if (L.name == "context") {
            args.allow(2, {});
            const std::size_t k = args.size(0, "context's number of tokens k"), d = args.size(1, "context's width d");
            width = checked_product(k, d, kMaxElements, L, "columns");
            charge(vocab + 1, d, L);
            if (build) model->push_back(std::make_shared<ContextEmbedding<T>>(*tape, vocab, k, d, *gen));
        } else if (L.name == "linear") {
            args.allow(2, {"bias"});
            std::size_t out = args.size(0, "linear's output width");
            if (args.positional(1)) {  // linear(in, out): the input width is stated and must chain
                const std::size_t in = out;
                out = args.size(1, "linear's output width");
                if (in != width)
                    throw SpecError(args.positional(0)->column, args.positional(0)->value,
                                    "linear's input width " + std::to_string(in) + " does not chain with the previous width " +
                                        std::to_string(width));
            }
            const SpecArg* bias = args.named("bias");
            const bool with_bias = bias ? args.flag(*bias) : true;
            charge(width + (with_bias ? 1 : 0), out, L);
            if (build) model->push_back(std::make_shared<Linear<T>>(*tape, width, out, *gen, with_bias));
            width = out;
        } else if (L.name == "relu" || L.name == "gelu" || L.name == "tanh" || L.name == "sigmoid") {
            args.allow(0, {});
            if (build && L.name == "relu") model->push_back(std::make_shared<ReLU<T>>(*tape));
            if (build && L.name == "gelu") model->push_back(std::make_shared<GELU<T>>(*tape));
            if (build && L.name == "tanh") model->push_back(std::make_shared<Tanh<T>>(*tape));
            if (build && L.name == "sigmoid") model->push_back(std::make_shared<Sigmoid<T>>(*tape));
        } else if (L.name == "layernorm") {
            args.allow(0, {"eps"});
            const SpecArg* eps = args.named("eps");
            const double e = eps ? args.number(*eps, "eps") : 1e-5;
            // A spec builds float and double models alike: eps must be a positive normal float, or it
            // would round to 0 (or Inf) in a float model and a constant row would normalise to 0/0.
            if (!(e >= double(std::numeric_limits<float>::min()) && e <= double(std::numeric_limits<float>::max())))
                throw SpecError(eps->column, eps->value, "eps must be a positive normal float (1.17549e-38 to 3.40282e+38)");
            charge(2, width, L);  // gain and shift
            if (build) model->push_back(std::make_shared<LayerNorm<T>>(*tape, width, e));
        } else if (L.name == "dropout") {
            args.allow(1, {});
            const SpecArg* p = args.positional(0);
            if (!p) throw SpecError(L.column, L.name, "missing the drop probability; expected dropout(p)");
            const double prob = args.number(*p, "dropout's probability");
            if (!(prob >= 0 && prob < 1)) throw SpecError(p->column, p->value, "dropout's probability must be in [0, 1)");
            if (build) model->push_back(std::make_shared<Dropout<T>>(*tape, prob, gen->next()));
        } else {
            throw SpecError(L.column, L.name, std::string("unknown layer; expected one of ") + kLayerNames);
        }
    }
    if (width != vocab)
        throw SpecError(layers.back().column, layers.back().name,
                        "the model ends with width " + std::to_string(width) + ", but a language model must end with the vocabulary size " +
                            std::to_string(vocab) + " (add linear(vocab))");
    return kMaxElements - left;
}

}  // namespace

std::size_t spec_parameter_count(const std::string& spec, std::size_t vocab) {
    return walk_layers<float>(parse_spec(spec), vocab, nullptr, nullptr);
}

template <class T>
std::shared_ptr<Sequential<T>> build_model(const std::string& spec, std::size_t vocab, Tape<T>& tape, Generator& gen) {
    const std::vector<LayerSpec> layers = parse_spec(spec);
    walk_layers<T>(layers, vocab, nullptr, nullptr);  // every check first, nothing allocated
    auto model = std::make_shared<Sequential<T>>(tape);
    walk_layers<T>(layers, vocab, model.get(), &gen);
    model->set_spec(spec, vocab);
    return model;
}

template std::shared_ptr<Sequential<float>> build_model(const std::string&, std::size_t, Tape<float>&, Generator&);
template std::shared_ptr<Sequential<double>> build_model(const std::string&, std::size_t, Tape<double>&, Generator&);

}  // namespace tapegrad
