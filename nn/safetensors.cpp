#include "tapegrad/nn/safetensors.hpp"

#include "tapegrad/nn/file_read.hpp"
#include "tapegrad/nn/file_write.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <tuple>
#include <utility>


#include <nlohmann/json.hpp>

namespace tapegrad {

// Endianness: safetensors stores little-endian data. Tensor elements are copied with memcpy between tensor
// storage and the data section, which is only correct on a little-endian machine, hence the assertion; a
// big-endian port would byte-swap in copy_elements_in/out. The 8-byte length prefix is encoded byte by byte
// and does not depend on the machine.
static_assert(std::endian::native == std::endian::little, "safetensors data is copied as native little-endian bytes");
// memcpy of a whole tensor assumes row-major contiguous storage, the order of the data section.
static_assert(Tensor<float>::static_layout == xt::layout_type::row_major);
static_assert(Tensor<double>::static_layout == xt::layout_type::row_major);
// Header integers (u64) are stored in std::size_t without narrowing.
static_assert(sizeof(std::size_t) == sizeof(std::uint64_t));

namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

constexpr std::size_t kLengthPrefixBytes = 8;
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;  // the limit of the reference implementation
constexpr std::string_view kMetadataKey = "__metadata__";
// A valid header nests containers 3 deep at most (object → entry → shape). Hostile input is cut off at this
// depth while parsing, which bounds both memory and the recursion of later operations such as dump().
constexpr int kMaxJsonDepth = 16;

// ── messages ──────────────────────────────────────────────────────────────────────────────────────────────

[[noreturn]] void fail(const std::string& origin, const std::string& problem) {
    throw CheckpointError("safetensors '" + origin + "': " + problem);
}

std::string in_quotes(std::string_view s) {
    std::string out(1, '\'');  // built by appending: g++ 12 warns on "'" + std::string (PR 105651)
    return out.append(s).append(1, '\'');
}

std::string tensor_label(std::string_view name) {
    return "tensor " + in_quotes(name);
}

// "[2, 3]"
std::string shape_list(const std::vector<std::size_t>& shape) {
    std::string out = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
    return out + "]";
}

// "number 1.5", "string \"x\"": a found JSON value, cut short so that a huge value cannot flood the message.
std::string describe(const json& value) {
    constexpr std::size_t kMaxChars = 40;
    std::string text = value.dump();
    if (text.size() > kMaxChars) text = text.substr(0, kMaxChars) + "...";
    return std::string(value.type_name()) + " " + text;
}

// ── sizes ─────────────────────────────────────────────────────────────────────────────────────────────────

// product(shape) × element size in bytes, or nothing if it does not fit in 64 bits. A zero dimension makes
// the product zero even when the other dimensions alone would overflow.
std::optional<std::uint64_t> byte_size(const std::vector<std::size_t>& shape, DType dtype) {
    if (std::find(shape.begin(), shape.end(), std::size_t{0}) != shape.end()) return 0;
    std::uint64_t bytes = dtype_size(dtype);
    for (std::size_t dim : shape) {
        if (bytes > std::numeric_limits<std::uint64_t>::max() / dim) return std::nullopt;
        bytes *= dim;
    }
    return bytes;
}

std::uint64_t read_u64_le(std::span<const std::byte, kLengthPrefixBytes> bytes) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < kLengthPrefixBytes; ++i) value |= std::uint64_t(bytes[i]) << (8 * i);
    return value;
}

void append_u64_le(std::vector<std::byte>& out, std::uint64_t value) {
    for (std::size_t i = 0; i < kLengthPrefixBytes; ++i) out.push_back(std::byte((value >> (8 * i)) & 0xff));
}

// ── header parsing ────────────────────────────────────────────────────────────────────────────────────────

// Parses the header text. nlohmann::json silently keeps the last of duplicate keys, so the parser callback
// tracks the keys of every open object to reject duplicates, and it rejects deep nesting (see kMaxJsonDepth).
// The callback's depth is the number of enclosing containers: top-level keys have depth 1, the keys inside
// an entry or inside __metadata__ depth 2.
json parse_header_json(std::span<const std::byte> header, const std::string& origin) {
    struct OpenObject {
        std::string name;  // the key this object is the value of ("" for the root)
        std::set<std::string> keys;
    };
    std::vector<OpenObject> open;
    std::string last_key;

    auto check_depth = [&](int depth) {
        if (depth >= kMaxJsonDepth)
            fail(origin, "header JSON nests deeper than " + std::to_string(kMaxJsonDepth) +
                             " levels (a safetensors header needs 3)");
    };
    auto on_key = [&](int depth, const std::string& key) {
        if (open.back().keys.insert(key).second) return;
        if (depth == 1 && key == kMetadataKey) fail(origin, "duplicate \"__metadata__\" in the header");
        if (depth == 1) fail(origin, "duplicate tensor name " + in_quotes(key) + " in the header");
        if (depth == 2 && open.back().name == kMetadataKey) fail(origin, "duplicate metadata key " + in_quotes(key));
        if (depth == 2) fail(origin, tensor_label(open.back().name) + " has a duplicate field " + in_quotes(key));
        fail(origin, "duplicate key " + in_quotes(key) + " in the header");
    };
    json::parser_callback_t callback = [&](int depth, json::parse_event_t event, json& parsed) {
        switch (event) {
            case json::parse_event_t::object_start:
                check_depth(depth);
                open.push_back({depth == 0 ? std::string() : last_key, {}});
                break;
            case json::parse_event_t::object_end:
                open.pop_back();
                break;
            case json::parse_event_t::array_start:
                check_depth(depth);
                break;
            case json::parse_event_t::key:
                last_key = parsed.get<std::string>();
                on_key(depth, last_key);
                break;
            default:
                break;
        }
        return true;
    };

    const char* first = reinterpret_cast<const char*>(header.data());
    try {
        return json::parse(first, first + header.size(), callback);
    } catch (const json::exception& e) {
        fail(origin, "header is not valid JSON: " + std::string(e.what()));
    }
}

// Where one tensor lives, as declared by its header entry.
struct TensorInfo {
    std::string name;
    DType dtype;
    std::vector<std::size_t> shape;
    std::uint64_t begin;
    std::uint64_t end;
};

const json& require_field(const std::string& name, const json& entry, const char* field, const std::string& origin) {
    auto it = entry.find(field);
    if (it == entry.end()) fail(origin, tensor_label(name) + " has no \"" + field + "\"");
    return *it;
}

DType parse_dtype(const std::string& name, const json& value, const std::string& origin) {
    if (!value.is_string()) fail(origin, tensor_label(name) + ": \"dtype\" must be a string, found " + describe(value));
    const auto& text = value.get_ref<const std::string&>();
    if (text == "F32") return DType::F32;
    if (text == "F64") return DType::F64;
    fail(origin, tensor_label(name) + " has unsupported dtype " + in_quotes(text) + " (only F32 and F64 are supported)");
}

// A JSON array of non-negative integers (nlohmann parses those as number_unsigned; anything that does not
// fit in 64 bits becomes a float and is rejected too).
std::vector<std::size_t> parse_unsigned_array(const std::string& name, const json& value, const char* field,
                                              const std::string& origin) {
    auto wrong = [&] {
        fail(origin, tensor_label(name) + ": \"" + field + "\" must be an array of non-negative integers, found " +
                         describe(value));
    };
    if (!value.is_array()) wrong();
    std::vector<std::size_t> out;
    out.reserve(value.size());
    for (const auto& element : value) {
        if (!element.is_number_unsigned()) wrong();
        out.push_back(element.get<std::uint64_t>());
    }
    return out;
}

// One header entry, checked on its own: fields and their types, dtype, and that the offsets span exactly
// the tensor's bytes inside the data section.
TensorInfo parse_entry(const std::string& name, const json& entry, std::uint64_t data_size, const std::string& origin) {
    if (!entry.is_object()) fail(origin, tensor_label(name) + ": entry must be a JSON object, found " + describe(entry));
    TensorInfo info{name, parse_dtype(name, require_field(name, entry, "dtype", origin), origin), {}, 0, 0};
    info.shape = parse_unsigned_array(name, require_field(name, entry, "shape", origin), "shape", origin);
    const auto offsets =
        parse_unsigned_array(name, require_field(name, entry, "data_offsets", origin), "data_offsets", origin);
    if (offsets.size() != 2)
        fail(origin, tensor_label(name) + ": \"data_offsets\" must be [begin, end], found " +
                         std::to_string(offsets.size()) + " numbers");
    info.begin = offsets[0];
    info.end = offsets[1];

    const std::string where = tensor_label(name) + " (" + std::string(dtype_name(info.dtype)) + ", shape " +
                              shape_list(info.shape) + ", data_offsets " + shape_list(offsets) + ")";
    const auto needed = byte_size(info.shape, info.dtype);
    if (!needed) fail(origin, where + ": shape overflows, its byte size exceeds 2^64");
    if (info.begin > info.end) fail(origin, where + ": begin is after end");
    if (info.end - info.begin != *needed)
        fail(origin, where + ": offsets span " + std::to_string(info.end - info.begin) + " bytes, expected " +
                         std::to_string(*needed));
    if (info.end > data_size)
        fail(origin, where + ": offsets out of bounds, the data section has " + std::to_string(data_size) + " bytes");
    return info;
}

std::map<std::string, std::string> parse_metadata(const json& value, const std::string& origin) {
    if (!value.is_object())
        fail(origin, "\"__metadata__\" must be a string-to-string map, found " + describe(value));
    std::map<std::string, std::string> metadata;
    for (const auto& [key, item] : value.items()) {
        if (!item.is_string())
            fail(origin, "\"__metadata__\" must be a string-to-string map, but key " + in_quotes(key) + " holds " +
                             describe(item));
        metadata.emplace(key, item.get<std::string>());
    }
    return metadata;
}

// The data section must be exactly covered: sorted by offset, each tensor starts where the previous ended,
// and the last ends at the end of the section. Sorts infos into data order.
void check_coverage(std::vector<TensorInfo>& infos, std::uint64_t data_size, const std::string& origin) {
    std::sort(infos.begin(), infos.end(), [](const TensorInfo& a, const TensorInfo& b) {
        return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
    });
    std::uint64_t covered = 0;  // bytes [0, covered) belong to the tensors seen so far
    const TensorInfo* previous = nullptr;
    for (const auto& info : infos) {
        if (info.begin < covered)
            fail(origin, "tensors " + in_quotes(previous->name) + " [" + std::to_string(previous->begin) + ", " +
                             std::to_string(previous->end) + ") and " + in_quotes(info.name) + " [" +
                             std::to_string(info.begin) + ", " + std::to_string(info.end) + ") overlap");
        if (info.begin > covered)
            fail(origin, "gap in the data section: bytes [" + std::to_string(covered) + ", " +
                             std::to_string(info.begin) + ") before " + tensor_label(info.name) +
                             " belong to no tensor");
        covered = info.end;
        previous = &info;
    }
    if (covered != data_size)
        fail(origin, "the data section has " + std::to_string(data_size) + " bytes but the tensors cover only " +
                         std::to_string(covered) + " (trailing bytes after the last tensor)");
}

}  // namespace

// ── DType ─────────────────────────────────────────────────────────────────────────────────────────────────

std::string_view dtype_name(DType dtype) {
    return dtype == DType::F32 ? "F32" : "F64";
}

std::size_t dtype_size(DType dtype) {
    return dtype == DType::F32 ? 4 : 8;
}

// ── SafetensorsEntry / SafetensorsFile ────────────────────────────────────────────────────────────────────

template <CheckpointScalar T>
Tensor<T> SafetensorsEntry::to_tensor() const {
    const std::string found =
        tensor_label(name) + " (" + std::string(dtype_name(dtype)) + ", shape " + shape_list(shape) + ")";
    const std::string wanted = std::string(dtype_name(dtype_of<T>));
    if (dtype != dtype_of<T>)
        throw CheckpointError(found + ": expected dtype " + wanted + " to make a Tensor<" +
                              (dtype_of<T> == DType::F32 ? "float" : "double") + ">; dtypes are not converted");
    if (shape.size() > 2)
        throw CheckpointError(found + ": expected rank 0, 1 or 2 to make a 2-D tensor, found rank " +
                              std::to_string(shape.size()));
    const Shape matrix = shape.size() == 2   ? Shape{shape[0], shape[1]}
                         : shape.size() == 1 ? Shape{1, shape[0]}
                                             : Shape{1, 1};
    const auto needed = byte_size(shape, dtype);
    if (!needed || *needed != data.size())
        throw CheckpointError(found + ": holds " + std::to_string(data.size()) + " bytes of data, expected " +
                              (needed ? std::to_string(*needed) : std::string("more than 2^64")));
    Tensor<T> tensor(matrix);
    if (!data.empty()) std::memcpy(tensor.data(), data.data(), data.size());
    return tensor;
}

template Tensor<float> SafetensorsEntry::to_tensor<float>() const;
template Tensor<double> SafetensorsEntry::to_tensor<double>() const;

bool SafetensorsFile::contains(std::string_view name) const {
    return std::any_of(tensors.begin(), tensors.end(), [&](const auto& e) { return e.name == name; });
}

const SafetensorsEntry& SafetensorsFile::at(std::string_view name) const {
    auto it = std::find_if(tensors.begin(), tensors.end(), [&](const auto& e) { return e.name == name; });
    if (it != tensors.end()) return *it;
    constexpr std::size_t kListed = 8;
    std::string present;
    for (std::size_t i = 0; i < tensors.size() && i < kListed; ++i) present += (i ? ", " : "") + in_quotes(tensors[i].name);
    if (tensors.size() > kListed) present += ", ...";
    throw CheckpointError("safetensors: no " + tensor_label(name) + " in the checkpoint (it has " +
                          std::to_string(tensors.size()) + " tensors" + (present.empty() ? "" : ": " + present) + ")");
}

// ── writing ───────────────────────────────────────────────────────────────────────────────────────────────

template <class T>
void SafetensorsWriter::add_tensor(std::string name, const Tensor<T>& tensor) {
    if (name == kMetadataKey)
        throw CheckpointError("safetensors writer: the name \"__metadata__\" is reserved for the metadata");
    if (std::any_of(entries_.begin(), entries_.end(), [&](const auto& e) { return e.name == name; }))
        throw CheckpointError("safetensors writer: duplicate " + tensor_label(name));
    SafetensorsEntry entry{std::move(name), dtype_of<T>, {tensor.shape()[0], tensor.shape()[1]}, {}};
    const auto* first = reinterpret_cast<const std::byte*>(tensor.data());
    entry.data.assign(first, first + tensor.size() * sizeof(T));
    entries_.push_back(std::move(entry));
}

void SafetensorsWriter::add(std::string name, const Tensor<float>& tensor) {
    add_tensor(std::move(name), tensor);
}

void SafetensorsWriter::add(std::string name, const Tensor<double>& tensor) {
    add_tensor(std::move(name), tensor);
}

namespace {

// The header text, padded with spaces so that the data section starts 8-byte aligned (8 + N ≡ 0 mod 8).
// Keys come in writing order: "__metadata__" (only when there is metadata), then the tensors in data order,
// each as {"dtype", "shape", "data_offsets"}.
std::string encode_header(const std::vector<SafetensorsEntry>& entries,
                          const std::map<std::string, std::string>& metadata) {
    ordered_json root = ordered_json::object();
    if (!metadata.empty()) root[std::string(kMetadataKey)] = metadata;
    std::uint64_t offset = 0;
    for (const auto& entry : entries) {
        const std::uint64_t end = offset + entry.data.size();
        ordered_json item = ordered_json::object();
        item["dtype"] = std::string(dtype_name(entry.dtype));
        item["shape"] = entry.shape;
        item["data_offsets"] = {offset, end};
        root[entry.name] = std::move(item);
        offset = end;
    }
    std::string header;
    try {
        header = root.dump();
    } catch (const ordered_json::exception& e) {
        throw CheckpointError("safetensors writer: cannot encode the header (tensor names and metadata must be "
                              "valid UTF-8): " +
                              std::string(e.what()));
    }
    header.append((kLengthPrefixBytes - header.size() % kLengthPrefixBytes) % kLengthPrefixBytes, ' ');
    return header;
}

}  // namespace

std::vector<std::byte> SafetensorsWriter::to_bytes() const {
    const std::string header = encode_header(entries_, metadata);
    std::size_t total = kLengthPrefixBytes + header.size();
    for (const auto& entry : entries_) total += entry.data.size();

    std::vector<std::byte> out;
    out.reserve(total);
    append_u64_le(out, header.size());
    const auto* text = reinterpret_cast<const std::byte*>(header.data());
    out.insert(out.end(), text, text + header.size());
    for (const auto& entry : entries_) out.insert(out.end(), entry.data.begin(), entry.data.end());
    return out;
}

void SafetensorsWriter::save(const std::filesystem::path& path) const {
    try {
        write_file_atomically(path, to_bytes(), "safetensors: cannot save");
    } catch (const FileError& e) {
        throw CheckpointError(e.what());
    }
}

// ── reading ───────────────────────────────────────────────────────────────────────────────────────────────

SafetensorsFile parse_safetensors(std::span<const std::byte> bytes, const std::string& origin) {
    if (bytes.size() < kLengthPrefixBytes)
        fail(origin, "file is " + std::to_string(bytes.size()) + " bytes, shorter than the 8-byte header length");
    const std::uint64_t header_size = read_u64_le(bytes.first<kLengthPrefixBytes>());
    if (header_size > kMaxHeaderBytes)
        fail(origin, "oversized header: the length prefix says " + std::to_string(header_size) +
                         " bytes, the limit is " + std::to_string(kMaxHeaderBytes));
    const std::uint64_t after_prefix = bytes.size() - kLengthPrefixBytes;
    if (header_size > after_prefix)
        fail(origin, "header length " + std::to_string(header_size) + " is larger than the file: only " +
                         std::to_string(after_prefix) + " bytes follow the length prefix");
    const auto header = bytes.subspan(kLengthPrefixBytes, header_size);
    const auto data = bytes.subspan(kLengthPrefixBytes + header_size);

    const json root = parse_header_json(header, origin);
    if (!root.is_object()) fail(origin, "header must be a JSON object, found " + describe(root));

    SafetensorsFile file;
    std::vector<TensorInfo> infos;
    for (const auto& [key, value] : root.items()) {
        if (key == kMetadataKey)
            file.metadata = parse_metadata(value, origin);
        else
            infos.push_back(parse_entry(key, value, data.size(), origin));
    }
    check_coverage(infos, data.size(), origin);

    file.tensors.reserve(infos.size());
    for (auto& info : infos) {
        const auto tensor_bytes = data.subspan(info.begin, info.end - info.begin);
        file.tensors.push_back(SafetensorsEntry{std::move(info.name), info.dtype, std::move(info.shape),
                                                {tensor_bytes.begin(), tensor_bytes.end()}});
    }
    return file;
}

SafetensorsFile load_safetensors(const std::filesystem::path& path, std::uint64_t max_bytes) {
    std::vector<std::byte> bytes;
    try {
        bytes = read_regular_file(path, "safetensors", max_bytes);
    } catch (const FileError& e) {
        fail(path.string(), e.problem);
    }
    return parse_safetensors(bytes, path.string());
}

// ── StateDict ─────────────────────────────────────────────────────────────────────────────────────────────

// Basic exception guarantee: on a name clash the tensors added before it stay in the writer.
template <CheckpointScalar T>
void add_state(SafetensorsWriter& writer, const StateDict<T>& state, const std::string& prefix) {
    for (const auto& [name, tensor] : state.tensors) writer.add(prefix + name, tensor);
    for (const auto& [key, value] : state.metadata)
        if (!writer.metadata.emplace(prefix + key, value).second)
            throw CheckpointError("add_state: metadata key " + in_quotes(prefix + key) + " is already in the writer");
}

template <CheckpointScalar T>
StateDict<T> extract_state(const SafetensorsFile& file, const std::string& prefix) {
    StateDict<T> state;
    for (const auto& entry : file.tensors)
        if (entry.name.starts_with(prefix))
            state.tensors.emplace_back(entry.name.substr(prefix.size()), entry.to_tensor<T>());
    for (const auto& [key, value] : file.metadata)
        if (key.starts_with(prefix)) state.metadata.emplace(key.substr(prefix.size()), value);
    return state;
}

template void add_state<float>(SafetensorsWriter&, const StateDict<float>&, const std::string&);
template void add_state<double>(SafetensorsWriter&, const StateDict<double>&, const std::string&);
template StateDict<float> extract_state<float>(const SafetensorsFile&, const std::string&);
template StateDict<double> extract_state<double>(const SafetensorsFile&, const std::string&);

}  // namespace tapegrad
