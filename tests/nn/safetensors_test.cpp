// Safetensors checkpoints: bit-exact round trips, the exact bytes of the format (checked against files and
// expectations built by hand here, not by the writer), rejection of every kind of corrupt file, and the
// atomicity of saving.
#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <limits>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include <csignal>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tapegrad/nn/safetensors.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using namespace tapegrad;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

// ── bytes written by hand, independently of the writer ───────────────────────────────────────────────────

using Bytes = std::vector<std::byte>;

void put_le(Bytes& out, std::uint64_t bits, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out.push_back(std::byte((bits >> (8 * i)) & 0xff));
}
void put_f32(Bytes& out, float v) {
    put_le(out, std::bit_cast<std::uint32_t>(v), 4);
}
void put_f64(Bytes& out, double v) {
    put_le(out, std::bit_cast<std::uint64_t>(v), 8);
}
void put_text(Bytes& out, std::string_view text) {
    for (char c : text) out.push_back(std::byte(static_cast<unsigned char>(c)));
}

// length prefix (as given), header text, data section
Bytes file_image(std::uint64_t declared_header_size, std::string_view header, const Bytes& data) {
    Bytes out;
    put_le(out, declared_header_size, 8);
    put_text(out, header);
    out.insert(out.end(), data.begin(), data.end());
    return out;
}
Bytes file_image(std::string_view header, const Bytes& data = {}) {
    return file_image(header.size(), header, data);
}

Bytes zeros(std::size_t n) {
    return Bytes(n, std::byte{0});
}

std::string text_of(const Bytes& bytes, std::size_t begin, std::size_t end) {
    std::string out;
    for (std::size_t i = begin; i < end; ++i) out.push_back(static_cast<char>(bytes[i]));
    return out;
}

// The bytes of a tensor's storage, in row-major order: what the data section must hold for it.
template <class T>
Bytes raw_bytes(const Tensor<T>& t) {
    const auto* p = reinterpret_cast<const std::byte*>(t.data());
    return Bytes(p, p + t.size() * sizeof(T));
}

Bytes read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Bytes out;
    for (char c : chars) out.push_back(std::byte(static_cast<unsigned char>(c)));
    return out;
}

void write_file(const fs::path& path, const Bytes& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// ── errors ───────────────────────────────────────────────────────────────────────────────────────────────

// The message of the CheckpointError thrown by f; fails the test if f returns (any other exception
// propagates and fails the test too).
template <class F>
std::string checkpoint_error(F&& f) {
    try {
        f();
    } catch (const CheckpointError& e) {
        return e.what();
    }
    FAIL("expected a CheckpointError");
    return {};
}

const std::string kOrigin = "corrupt.safetensors";

std::string parse_error(const Bytes& bytes) {
    return checkpoint_error([&] { parse_safetensors(bytes, kOrigin); });
}

// ── temporary directories ────────────────────────────────────────────────────────────────────────────────

// A scratch directory that can also list its entries (to check what a save left behind).
struct TempDir : test::TempDir {
    TempDir() : test::TempDir("tapegrad-safetensors-test") {}
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& e : fs::directory_iterator(path())) out.push_back(e.path().filename().string());
        std::sort(out.begin(), out.end());
        return out;
    }
};

// ── sample tensors ───────────────────────────────────────────────────────────────────────────────────────

template <class T>
Tensor<T> special_values() {
    using L = std::numeric_limits<T>;
    return Tensor<T>{{T(0), -T(0), L::denorm_min(), -L::denorm_min(), L::min()},
                     {L::max(), -L::lowest(), L::infinity(), -L::infinity(), L::quiet_NaN()},
                     {T(1) / T(3), L::epsilon(), T(-2.5), L::min() / T(4), T(1e-3)}};
}

template <class T>
Tensor<T> arange(std::size_t rows, std::size_t cols, T scale, T shift) {
    Tensor<T> t({rows, cols});
    for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = T(i) * scale + shift;
    return t;
}

template <class T, class U>
void require_bit_identical(const Tensor<T>& actual, const Tensor<U>& expected) {
    static_assert(std::is_same_v<T, U>);
    REQUIRE(shape_of(actual) == shape_of(expected));
    REQUIRE(raw_bytes(actual) == raw_bytes(expected));
}

// A small valid file by the writer, for truncation and byte-flip sweeps.
Bytes sample_file() {
    SafetensorsWriter w;
    w.metadata = {{"step", "3"}};
    w.add("w", arange<float>(2, 3, 0.5f, -1.0f));
    w.add("b", arange<double>(1, 2, 2.0, 0.25));
    return w.to_bytes();
}

}  // namespace

// ── round trips ──────────────────────────────────────────────────────────────────────────────────────────

TEST_CASE("safetensors: save then load is bit-exact for F32 and F64, names, order and metadata kept",
          "[safetensors]") {
    TempDir dir;
    const auto f32 = special_values<float>();
    const auto f64 = special_values<double>();
    const auto empty = Tensor<float>(Shape{0, 3});
    const auto scalar = Tensor<double>{{-0.0}};

    SafetensorsWriter w;
    // Names deliberately out of alphabetical order: the file must keep the order of the add calls.
    w.add("zeta.f32", f32);
    w.add("alpha.f64", f64);
    w.add("mid.empty", empty);
    w.add("0.scalar", scalar);
    w.metadata = {{"step", "1200"}, {"lr", "0.00030000000000000003"}, {"note", "µ-σ ✓"}, {"", "empty key"}};
    const auto path = dir / "model.safetensors";
    w.save(path);

    const auto file = load_safetensors(path);
    REQUIRE(file.tensors.size() == 4);
    CHECK(file.tensors[0].name == "zeta.f32");
    CHECK(file.tensors[1].name == "alpha.f64");
    CHECK(file.tensors[2].name == "mid.empty");
    CHECK(file.tensors[3].name == "0.scalar");
    CHECK(file.metadata == w.metadata);

    CHECK(file.at("zeta.f32").dtype == DType::F32);
    CHECK(file.at("alpha.f64").dtype == DType::F64);
    CHECK(file.at("zeta.f32").shape == std::vector<std::size_t>{3, 5});
    CHECK(file.at("mid.empty").shape == std::vector<std::size_t>{0, 3});
    CHECK(file.at("0.scalar").shape == std::vector<std::size_t>{1, 1});
    CHECK(file.at("zeta.f32").data == raw_bytes(f32));
    CHECK(file.at("alpha.f64").data == raw_bytes(f64));

    require_bit_identical(file.at("zeta.f32").to_tensor<float>(), f32);
    require_bit_identical(file.at("alpha.f64").to_tensor<double>(), f64);
    require_bit_identical(file.at("mid.empty").to_tensor<float>(), empty);
    require_bit_identical(file.at("0.scalar").to_tensor<double>(), scalar);
    CHECK(std::signbit(file.at("0.scalar").to_tensor<double>()(0, 0)));

    // The in-memory image is what was saved.
    CHECK(read_file(path) == w.to_bytes());
    CHECK(dir.names() == std::vector<std::string>{"model.safetensors"});
}

TEST_CASE("safetensors: a file built byte by byte loads with the right values", "[safetensors]") {
    // Data section, in offset order: w (F32 2x2, [0,16)), v (F64 [3], [16,40)), s (F64 scalar, [40,48)),
    // e (F32 0x3, [48,48)). The header lists them in another order and is not padded.
    Bytes data;
    for (float x : {1.5f, -2.0f, 0.25f, 3.0f}) put_f32(data, x);
    for (double x : {1e-300, -0.5, 42.0}) put_f64(data, x);
    put_f64(data, 2.5);
    REQUIRE(data.size() == 48);
    const std::string header =
        R"({"s":{"dtype":"F64","shape":[],"data_offsets":[40,48]},)"
        R"("__metadata__":{"format":"pt","epoch":"2"},)"
        R"("w":{"shape":[2,2],"dtype":"F32","data_offsets":[0,16]},)"
        R"("e":{"dtype":"F32","shape":[0,3],"data_offsets":[48,48]},)"
        R"("v":{"dtype":"F64","shape":[3],"data_offsets":[16,40]}})";

    const auto file = parse_safetensors(file_image(header, data), "hand-built");
    REQUIRE(file.tensors.size() == 4);
    CHECK(file.tensors[0].name == "w");
    CHECK(file.tensors[1].name == "v");
    CHECK(file.tensors[2].name == "s");
    CHECK(file.tensors[3].name == "e");
    CHECK(file.metadata == std::map<std::string, std::string>{{"format", "pt"}, {"epoch", "2"}});

    const auto w = file.at("w").to_tensor<float>();
    REQUIRE(shape_of(w) == Shape{2, 2});
    CHECK(w(0, 0) == 1.5f);
    CHECK(w(0, 1) == -2.0f);
    CHECK(w(1, 0) == 0.25f);
    CHECK(w(1, 1) == 3.0f);

    const auto v = file.at("v").to_tensor<double>();  // rank 1 → 1×3
    REQUIRE(shape_of(v) == Shape{1, 3});
    CHECK(v(0, 0) == 1e-300);
    CHECK(v(0, 1) == -0.5);
    CHECK(v(0, 2) == 42.0);

    const auto s = file.at("s").to_tensor<double>();  // rank 0 → 1×1
    REQUIRE(shape_of(s) == Shape{1, 1});
    CHECK(s(0, 0) == 2.5);

    CHECK(shape_of(file.at("e").to_tensor<float>()) == Shape{0, 3});
    CHECK(file.at("e").data.empty());

    // Header padded with spaces, the way the format allows, reads the same.
    const auto padded = parse_safetensors(file_image(header + "     ", data), "hand-built padded");
    CHECK(padded.tensors.size() == 4);
    CHECK(padded.at("v").data == file.at("v").data);
}

TEST_CASE("safetensors: to_tensor and at name what is wrong", "[safetensors]") {
    Bytes data;
    for (int i = 0; i < 8; ++i) put_f32(data, float(i));
    const std::string header = R"({"cube":{"dtype":"F32","shape":[2,2,2],"data_offsets":[0,32]}})";
    const auto file = parse_safetensors(file_image(header, data), "rank3");
    REQUIRE(file.contains("cube"));
    CHECK_FALSE(file.contains("cub"));

    const auto rank = checkpoint_error([&] { file.at("cube").to_tensor<float>(); });
    CHECK_THAT(rank, Contains("'cube'") && Contains("[2, 2, 2]") && Contains("rank 3"));

    const auto dtype = checkpoint_error([&] { file.at("cube").to_tensor<double>(); });
    CHECK_THAT(dtype, Contains("'cube'") && Contains("F32") && Contains("expected dtype F64"));

    const auto missing = checkpoint_error([&] { file.at("weights"); });
    CHECK_THAT(missing, Contains("no tensor 'weights'") && Contains("'cube'"));

    // An entry assembled by hand whose bytes do not match its shape.
    SafetensorsEntry bad{"bad", DType::F64, {2, 2}, zeros(24)};
    CHECK_THAT(checkpoint_error([&] { bad.to_tensor<double>(); }),
               Contains("'bad'") && Contains("holds 24 bytes") && Contains("expected 32"));
}

// ── the exact format of written files ────────────────────────────────────────────────────────────────────

TEST_CASE("safetensors: the writer's bytes follow the format exactly", "[safetensors]") {
    SafetensorsWriter w;
    w.metadata = {{"step", "7"}};
    w.add("w", arange<float>(2, 3, 1.0f, 0.0f));    // 0 1 2 / 3 4 5
    w.add("b", Tensor<double>{{-0.5, 1e10}});
    const Bytes bytes = w.to_bytes();

    // Length prefix: little-endian u64.
    REQUIRE(bytes.size() >= 8);
    std::uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n |= std::uint64_t(bytes[i]) << (8 * i);
    REQUIRE((8 + n) % 8 == 0);

    // Header: compact JSON, metadata first, tensors in add order, then spaces up to the 8-byte boundary.
    const std::string json =
        R"({"__metadata__":{"step":"7"},)"
        R"("w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
        R"("b":{"dtype":"F64","shape":[1,2],"data_offsets":[24,40]}})";
    REQUIRE(n >= json.size());
    REQUIRE(n - json.size() < 8);
    const std::string header = text_of(bytes, 8, 8 + n);
    CHECK(header.substr(0, json.size()) == json);
    CHECK(header.substr(json.size()) == std::string(n - json.size(), ' '));

    // Data section: contiguous, offsets as in the header, little-endian values.
    Bytes data;
    for (float x : {0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f}) put_f32(data, x);
    put_f64(data, -0.5);
    put_f64(data, 1e10);
    REQUIRE(bytes.size() == 8 + n + 40);
    CHECK(Bytes(bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n), bytes.end()) == data);

    // Without metadata there is no "__metadata__" key, and an empty writer is a valid empty file.
    SafetensorsWriter bare;
    bare.add("x", Tensor<float>{{1.0f}});
    const Bytes bare_bytes = bare.to_bytes();
    CHECK_THAT(text_of(bare_bytes, 8, bare_bytes.size()), !Contains("__metadata__"));
    const Bytes nothing = SafetensorsWriter{}.to_bytes();
    CHECK(text_of(nothing, 8, nothing.size()) == "{}      ");
    CHECK(parse_safetensors(nothing, "empty").tensors.empty());
}

TEST_CASE("safetensors: the writer rejects duplicate, reserved and non-UTF-8 names", "[safetensors]") {
    SafetensorsWriter w;
    w.add("a", Tensor<float>{{1.0f}});
    CHECK_THAT(checkpoint_error([&] { w.add("a", Tensor<double>{{1.0}}); }), Contains("duplicate tensor 'a'"));
    CHECK_THAT(checkpoint_error([&] { w.add("__metadata__", Tensor<float>{{1.0f}}); }), Contains("reserved"));
    CHECK(w.entries().size() == 1);

    w.add("bad\xff", Tensor<float>{{1.0f}});
    CHECK_THAT(checkpoint_error([&] { w.to_bytes(); }), Contains("UTF-8"));
}

// ── corrupt files ────────────────────────────────────────────────────────────────────────────────────────

TEST_CASE("safetensors: short files and bad header lengths", "[safetensors][corrupt]") {
    for (std::size_t size = 0; size < 8; ++size) {
        INFO("size " << size);
        CHECK_THAT(parse_error(zeros(size)), Contains(kOrigin) && Contains("shorter than the 8-byte header length"));
    }
    CHECK_THAT(parse_error(file_image(100, "{}", {})), Contains("header length 100 is larger than the file"));
    CHECK_THAT(parse_error(file_image(100'000'001, "{}", {})), Contains("oversized header"));
    CHECK_THAT(parse_error(file_image(std::numeric_limits<std::uint64_t>::max(), "{}", {})),
               Contains("oversized header"));
    // Exactly at the limit is not "oversized", only larger than this file.
    CHECK_THAT(parse_error(file_image(100'000'000, "{}", {})), Contains("larger than the file"));
}

TEST_CASE("safetensors: headers that are not a JSON object", "[safetensors][corrupt]") {
    CHECK_THAT(parse_error(file_image("")), Contains("header is not valid JSON"));
    CHECK_THAT(parse_error(file_image("{\"a\":")), Contains("header is not valid JSON"));
    CHECK_THAT(parse_error(file_image("{} trailing")), Contains("header is not valid JSON"));
    CHECK_THAT(parse_error(file_image("{\"a\xff\":{}}")), Contains("header is not valid JSON"));
    CHECK_THAT(parse_error(file_image("[1,2]")), Contains("header must be a JSON object, found array"));
    CHECK_THAT(parse_error(file_image("\"x\"")), Contains("header must be a JSON object, found string"));
    CHECK_THAT(parse_error(file_image(std::string(5000, '[') + std::string(5000, ']'))), Contains("nests deeper"));
    CHECK_THAT(parse_error(file_image(R"({"__metadata__":{"k":)" + std::string(100, '[') + std::string(100, ']') + "}}")),
               Contains("nests deeper"));
}

TEST_CASE("safetensors: entries with missing fields or wrong JSON types", "[safetensors][corrupt]") {
    const Bytes eight = zeros(8);
    auto entry = [&](const std::string& body) { return parse_error(file_image(R"({"t":)" + body + "}", eight)); };

    CHECK_THAT(entry("5"), Contains("tensor 't': entry must be a JSON object, found number"));
    CHECK_THAT(entry(R"({"shape":[2],"data_offsets":[0,8]})"), Contains("tensor 't' has no \"dtype\""));
    CHECK_THAT(entry(R"({"dtype":"F32","data_offsets":[0,8]})"), Contains("tensor 't' has no \"shape\""));
    CHECK_THAT(entry(R"({"dtype":"F32","shape":[2]})"), Contains("tensor 't' has no \"data_offsets\""));
    CHECK_THAT(entry(R"({"dtype":32,"shape":[2],"data_offsets":[0,8]})"), Contains("\"dtype\" must be a string"));
    CHECK_THAT(entry(R"({"dtype":"F32","shape":"2","data_offsets":[0,8]})"),
               Contains("\"shape\" must be an array of non-negative integers, found string"));
    CHECK_THAT(entry(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"),
               Contains("\"shape\" must be an array of non-negative integers"));
    CHECK_THAT(entry(R"({"dtype":"F32","shape":[2.0],"data_offsets":[0,8]})"),
               Contains("\"shape\" must be an array of non-negative integers"));
    CHECK_THAT(entry(R"({"dtype":"F32","shape":[2],"data_offsets":[0,"8"]})"),
               Contains("\"data_offsets\" must be an array of non-negative integers"));
    CHECK_THAT(entry(R"({"dtype":"F32","shape":[2],"data_offsets":[8]})"),
               Contains("\"data_offsets\" must be [begin, end], found 1 numbers"));
    CHECK_THAT(entry(R"({"dtype":"F32","shape":[2],"data_offsets":[0,4,8]})"),
               Contains("\"data_offsets\" must be [begin, end], found 3 numbers"));
    CHECK_THAT(entry(R"({"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,8]})"),
               Contains("\"shape\" must be an array of non-negative integers"));
}

TEST_CASE("safetensors: unsupported dtypes are named", "[safetensors][corrupt]") {
    for (std::string dtype : {"BF16", "F16", "I64", "f32", ""}) {
        INFO(dtype);
        const auto message = parse_error(
            file_image(R"({"t":{"dtype":")" + dtype + R"(","shape":[2],"data_offsets":[0,8]}})", zeros(8)));
        CHECK_THAT(message, Contains("tensor 't' has unsupported dtype '" + dtype + "'") &&
                                Contains("only F32 and F64 are supported"));
    }
}

TEST_CASE("safetensors: shapes and offsets that do not fit", "[safetensors][corrupt]") {
    auto one = [](const std::string& dtype, const std::string& shape, const std::string& offsets, std::size_t data) {
        return parse_error(file_image(
            R"({"t":{"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}}",
            zeros(data)));
    };
    // 2^32 · 2^32 elements: the element count itself overflows 64 bits.
    CHECK_THAT(one("F32", "[4294967296,4294967296]", "[0,8]", 8), Contains("shape overflows"));
    // 2^62 elements fit, 2^62 · 4 bytes do not.
    CHECK_THAT(one("F32", "[4611686018427387904]", "[0,8]", 8), Contains("shape overflows"));
    // A zero dimension makes the product zero, however large the others.
    CHECK_NOTHROW(parse_safetensors(
        file_image(R"({"t":{"dtype":"F64","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}})"), "zero"));

    CHECK_THAT(one("F32", "[2]", "[8,0]", 8), Contains("data_offsets [8, 0]") && Contains("begin is after end"));
    CHECK_THAT(one("F32", "[2]", "[0,4]", 8),
               Contains("tensor 't' (F32, shape [2], data_offsets [0, 4])") &&
                   Contains("offsets span 4 bytes, expected 8"));
    CHECK_THAT(one("F64", "[2]", "[0,8]", 8), Contains("offsets span 8 bytes, expected 16"));
    CHECK_THAT(one("F32", "[2]", "[4,12]", 8),
               Contains("offsets out of bounds, the data section has 8 bytes"));
    CHECK_THAT(one("F32", "[2]", "[18446744073709551608,18446744073709551615]", 8), Contains("expected 8"));
    CHECK_THAT(one("F32", "[2,1]", "[18446744073709551607,18446744073709551615]", 8), Contains("out of bounds"));
}

TEST_CASE("safetensors: the data section must be covered exactly", "[safetensors][corrupt]") {
    auto two = [](const std::string& a, const std::string& b, std::size_t data) {
        return parse_error(file_image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":)" + a +
                                          R"(},"b":{"dtype":"F32","shape":[2],"data_offsets":)" + b + "}}",
                                      zeros(data)));
    };
    CHECK_THAT(two("[0,8]", "[4,12]", 12), Contains("tensors 'a' [0, 8) and 'b' [4, 12) overlap"));
    CHECK_THAT(two("[0,8]", "[0,8]", 8), Contains("overlap"));
    CHECK_THAT(two("[0,8]", "[12,20]", 20), Contains("gap in the data section: bytes [8, 12) before tensor 'b'"));
    CHECK_THAT(two("[4,12]", "[12,20]", 20), Contains("gap in the data section: bytes [0, 4) before tensor 'a'"));
    CHECK_THAT(two("[0,8]", "[8,16]", 20), Contains("the data section has 20 bytes but the tensors cover only 16"));
    CHECK_THAT(parse_error(file_image("{}", zeros(1))), Contains("the data section has 1 bytes"));
    CHECK_NOTHROW(parse_safetensors(file_image(R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},)"
                                               R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                                               zeros(16)),
                                    "ok"));
}

TEST_CASE("safetensors: metadata must be a string-to-string map", "[safetensors][corrupt]") {
    CHECK_THAT(parse_error(file_image(R"({"__metadata__":[1]})")),
               Contains("\"__metadata__\" must be a string-to-string map, found array"));
    CHECK_THAT(parse_error(file_image(R"({"__metadata__":"x"})")), Contains("string-to-string map"));
    CHECK_THAT(parse_error(file_image(R"({"__metadata__":{"a":"1","b":2}})")),
               Contains("string-to-string map, but key 'b' holds number"));
    CHECK_THAT(parse_error(file_image(R"({"__metadata__":{"a":null}})")), Contains("key 'a' holds null"));
}

TEST_CASE("safetensors: duplicate names and keys are rejected", "[safetensors][corrupt]") {
    const std::string a = R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
    CHECK_THAT(parse_error(file_image("{" + a + "," + a + "}", zeros(4))),
               Contains("duplicate tensor name 'a' in the header"));
    CHECK_THAT(parse_error(file_image(R"({"__metadata__":{},"__metadata__":{}})")),
               Contains("duplicate \"__metadata__\""));
    CHECK_THAT(parse_error(file_image(R"({"__metadata__":{"k":"1","k":"2"}})")), Contains("duplicate metadata key 'k'"));
    CHECK_THAT(parse_error(file_image(R"({"a":{"dtype":"F32","dtype":"F64","shape":[1],"data_offsets":[0,4]}})",
                                      zeros(4))),
               Contains("tensor 'a' has a duplicate field 'dtype'"));
}

TEST_CASE("safetensors: every truncation of a valid file is rejected", "[safetensors][corrupt]") {
    const Bytes full = sample_file();
    REQUIRE_NOTHROW(parse_safetensors(full, "full"));
    for (std::size_t size = 0; size < full.size(); ++size) {
        INFO("truncated to " << size << " of " << full.size() << " bytes");
        // A buffer of exactly this size, so that the sanitizer sees any read past it.
        const Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(size));
        CHECK_THAT(parse_error(cut), Contains(kOrigin));
    }
}

TEST_CASE("safetensors: single-byte corruptions load or raise CheckpointError, nothing else", "[safetensors][corrupt]") {
    const Bytes full = sample_file();
    const unsigned char values[] = {0x00, 0x01, 0x20, 0x7f, 0x80, 0xff, '"', '{', '}', '[', ']', ',', ':', '0', '9', '-'};
    std::size_t rejected = 0;
    for (std::size_t i = 0; i < full.size(); ++i)
        for (unsigned char v : values) {
            Bytes bytes = full;
            bytes[i] = std::byte(v);
            try {
                parse_safetensors(bytes, "flipped");
            } catch (const CheckpointError&) {
                ++rejected;
            }
        }
    // Most corruptions of the prefix and header are fatal; data bytes are free to take any value.
    CHECK(rejected > 0);
}

TEST_CASE("safetensors: loading names the file on I/O and format errors", "[safetensors][corrupt]") {
    TempDir dir;
    const auto missing = dir / "missing.safetensors";
    CHECK_THAT(checkpoint_error([&] { load_safetensors(missing); }),
               Contains(missing.string()) && Contains("cannot open") && Contains(std::strerror(ENOENT)));
    CHECK_THAT(checkpoint_error([&] { load_safetensors(dir.path()); }),
               Equals("safetensors '" + dir.path().string() + "': is a directory, not a regular file"));

    const auto bad = dir / "bad.safetensors";
    write_file(bad, file_image("[1,2]"));
    CHECK_THAT(checkpoint_error([&] { load_safetensors(bad); }),
               Contains(bad.string()) && Contains("must be a JSON object"));
}

// Pointed at a device, load_safetensors read until std::bad_alloc (/dev/zero, /dev/urandom never end); at a
// FIFO without a writer it blocked forever in open(). Only regular files are read now (nn/file_read.hpp),
// and only up to a size limit.
TEST_CASE("safetensors: loading reads regular files only and fails at once on devices and FIFOs", "[safetensors][corrupt]") {
    for (const char* device : {"/dev/zero", "/dev/urandom"}) {
        INFO(device);
        CHECK_THAT(checkpoint_error([&] { load_safetensors(device); }),
                   Equals("safetensors '" + std::string(device) + "': is a character device, not a regular file"));
    }

    TempDir dir;
    const auto fifo = dir / "pipe.safetensors";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const std::string message = test::message_from_fifo_read(fifo, [&]() -> std::string {
        try {
            load_safetensors(fifo);
        } catch (const CheckpointError& e) {
            return e.what();
        }
        return "loaded without an error";
    });
    CHECK_THAT(message, Equals("safetensors '" + fifo.string() + "': is a FIFO, not a regular file"));
}

TEST_CASE("safetensors: loading rejects a file over the size limit before reading it", "[safetensors][corrupt]") {
    TempDir dir;
    const auto path = dir / "sample.safetensors";
    const Bytes bytes = sample_file();
    write_file(path, bytes);
    const std::uint64_t size = bytes.size();
    CHECK(load_safetensors(path, size).tensors.size() == 2);  // exactly at the limit: read
    CHECK_THAT(checkpoint_error([&] { load_safetensors(path, size - 1); }),
               Equals("safetensors '" + path.string() + "': is " + std::to_string(size) + " bytes, over the limit of " +
                      std::to_string(size - 1) + " bytes"));
    CHECK(kMaxSafetensorsFileBytes == std::uint64_t{16} * 1024 * 1024 * 1024);
}

// ── atomic saving ────────────────────────────────────────────────────────────────────────────────────────

namespace {

SafetensorsWriter old_checkpoint() {
    SafetensorsWriter w;
    w.metadata = {{"version", "old"}};
    w.add("w", arange<float>(3, 3, 1.0f, 0.0f));
    return w;
}

SafetensorsWriter new_checkpoint() {
    SafetensorsWriter w;
    w.metadata = {{"version", "new"}};
    w.add("w", arange<double>(64, 64, 0.5, 1.0));
    return w;
}

// While alive, the process has this effective uid, if it runs as root (root ignores directory
// permissions, so permission tests impersonate an ordinary user). The real uid stays 0, so it can switch back.
class EffectiveUser {
public:
    explicit EffectiveUser(uid_t uid) {
        if (::geteuid() == 0) switched_ = ::seteuid(uid) == 0;
    }
    EffectiveUser(const EffectiveUser&) = delete;
    EffectiveUser& operator=(const EffectiveUser&) = delete;
    ~EffectiveUser() {
        if (switched_ && ::seteuid(0) != 0) std::abort();
    }
    bool effective() const { return ::geteuid() != 0; }

private:
    bool switched_ = false;
};

}  // namespace

TEST_CASE("safetensors: saving over an existing file replaces it and leaves no temporary file", "[safetensors][io]") {
    TempDir dir;
    const auto path = dir / "ckpt.safetensors";
    old_checkpoint().save(path);
    const auto writer = new_checkpoint();
    writer.save(path);
    CHECK(read_file(path) == writer.to_bytes());
    CHECK(dir.names() == std::vector<std::string>{"ckpt.safetensors"});

    // A relative path (no directory part) saves into the working directory.
    const auto cwd = fs::current_path();
    fs::current_path(dir.path());
    old_checkpoint().save("relative.safetensors");
    fs::current_path(cwd);
    CHECK(load_safetensors(dir / "relative.safetensors").metadata.at("version") == "old");
}

// A save killed mid-write (SIGKILL) leaves "<name>.tmp.<pid>.<n>"; the crash-safety test of train_lm
// (tests/reliability/crash_resume_test.py) left one per kill. remove_stale_temporaries clears those of dead
// processes and only those.
TEST_CASE("safetensors: temporary files of killed saves are removed, those of live processes kept", "[safetensors][io]") {
    TempDir dir;
    const auto path = dir / "ckpt.safetensors";
    old_checkpoint().save(path);
    const pid_t dead = ::fork();  // a pid that is certainly not running: a child that exited and was reaped
    if (dead == 0) ::_exit(0);
    REQUIRE(dead > 0);
    int status = 0;
    REQUIRE(::waitpid(dead, &status, 0) == dead);
    const std::string stale = std::string("ckpt.safetensors.tmp.").append(std::to_string(dead)).append(".0");
    const std::string live = std::string("ckpt.safetensors.tmp.").append(std::to_string(::getpid())).append(".7");
    for (const auto& name : {stale, live, std::string("ckpt.safetensors.tmp.x.1"), std::string("other.tmp.1.1")})
        std::ofstream(dir / name) << "partial";

    const auto removed = remove_stale_temporaries(path);
    REQUIRE(removed.size() == 1);
    CHECK(removed[0].filename() == stale);
    CHECK(dir.names() == std::vector<std::string>{"ckpt.safetensors", live, "ckpt.safetensors.tmp.x.1", "other.tmp.1.1"});
    CHECK(load_safetensors(path).metadata.at("version") == "old");
}

TEST_CASE("safetensors: a failed save into an unwritable directory keeps the old file", "[safetensors][io]") {
    TempDir dir;
    const auto path = dir / "ckpt.safetensors";
    old_checkpoint().save(path);
    const Bytes before = read_file(path);

    fs::permissions(dir.path(), fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                                    fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
    std::string message;
    bool tested = false;
    {
        EffectiveUser nobody(65534);
        if (nobody.effective()) {
            tested = true;
            message = checkpoint_error([&] { new_checkpoint().save(path); });
        }
    }
    fs::permissions(dir.path(), fs::perms::owner_all, fs::perm_options::add);
    if (!tested) {
        WARN("running as root and seteuid is not permitted: cannot make a directory unwritable, part skipped");
        return;
    }
    CHECK_THAT(message, Contains(path.string()) && Contains(std::strerror(EACCES)) && Contains("temporary file"));
    CHECK(read_file(path) == before);
    CHECK(dir.names() == std::vector<std::string>{"ckpt.safetensors"});
}

TEST_CASE("safetensors: a save failing mid-write keeps the old file and removes the temporary one",
          "[safetensors][io]") {
    TempDir dir;
    const auto path = dir / "ckpt.safetensors";
    old_checkpoint().save(path);
    const Bytes before = read_file(path);

    // The file size limit makes write() fail with EFBIG part way (SIGXFSZ ignored so it is an error code,
    // not a signal); this works for root too.
    std::string message;
    {
        rlimit saved{};
        REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
        auto* previous_handler = std::signal(SIGXFSZ, SIG_IGN);
        rlimit small = saved;
        small.rlim_cur = 100;
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
        try {
            new_checkpoint().save(path);
        } catch (const CheckpointError& e) {
            message = e.what();
        }
        ::setrlimit(RLIMIT_FSIZE, &saved);
        std::signal(SIGXFSZ, previous_handler);
    }
    CHECK_THAT(message, Contains(path.string()) && Contains("writing") && Contains(std::strerror(EFBIG)));
    CHECK(read_file(path) == before);
    CHECK(dir.names() == std::vector<std::string>{"ckpt.safetensors"});
}

TEST_CASE("safetensors: saving to a directory or into a missing directory fails cleanly", "[safetensors][io]") {
    TempDir dir;
    const auto target = dir / "ckpt.safetensors";
    fs::create_directory(target);
    fs::path inside = target / "keep.txt";
    std::ofstream(inside) << "kept";
    CHECK_THAT(checkpoint_error([&] { new_checkpoint().save(target); }),
               Contains(target.string()) && Contains("renaming") && Contains(std::strerror(EISDIR)));
    CHECK(fs::is_directory(target));
    CHECK(fs::exists(inside));
    CHECK(dir.names() == std::vector<std::string>{"ckpt.safetensors"});

    const auto nowhere = dir / "no" / "such" / "dir.safetensors";
    CHECK_THAT(checkpoint_error([&] { new_checkpoint().save(nowhere); }),
               Contains(nowhere.string()) && Contains(std::strerror(ENOENT)));
}

// ── StateDict ────────────────────────────────────────────────────────────────────────────────────────────

TEST_CASE("safetensors: state dicts side by side under prefixes", "[safetensors]") {
    StateDict<double> model;
    model.tensors = {{"ffn.0.weight", arange<double>(2, 3, 0.25, 0.0)}, {"ffn.0.bias", Tensor<double>{{1.0, -1.0, 0.5}}}};
    model.metadata = {{"d", "3"}};
    StateDict<float> optim;
    optim.tensors = {{"m.ffn.0.weight", arange<float>(2, 3, -1.0f, 2.0f)}};
    optim.metadata = {{"step", "10"}, {"lr", "0.001"}};

    SafetensorsWriter w;
    add_state(w, model, "model.");
    add_state(w, optim, "optim.");
    const auto file = parse_safetensors(w.to_bytes(), "state");
    CHECK(file.tensors.size() == 3);
    CHECK(file.metadata == std::map<std::string, std::string>{
                               {"model.d", "3"}, {"optim.step", "10"}, {"optim.lr", "0.001"}});

    const auto m = extract_state<double>(file, "model.");
    REQUIRE(m.tensors.size() == 2);
    CHECK(m.tensors[0].first == "ffn.0.weight");
    CHECK(m.tensors[1].first == "ffn.0.bias");
    require_bit_identical(m.tensors[0].second, model.tensors[0].second);
    require_bit_identical(m.tensors[1].second, model.tensors[1].second);
    CHECK(m.metadata == model.metadata);

    const auto o = extract_state<float>(file, "optim.");
    REQUIRE(o.tensors.size() == 1);
    require_bit_identical(o.tensors[0].second, optim.tensors[0].second);
    CHECK(o.metadata == optim.metadata);

    // No prefix selects everything; the model tensors are F64, so as float they are refused.
    CHECK_THAT(checkpoint_error([&] { extract_state<float>(file, ""); }), Contains("'model.ffn.0.weight'"));
    CHECK_THAT(checkpoint_error([&] { add_state(w, optim, "optim."); }), Contains("duplicate tensor 'optim.m.ffn.0.weight'"));
}

// ── fixture for the numpy reader (tests/nn/read_safetensors_numpy.py) ──────────────────────────────────────

// Hidden: run by the "numpy reads" ctest with TAPEGRAD_SAFETENSORS_FIXTURE set to the output path. The
// Python script checks exactly these values.
TEST_CASE("safetensors: write the numpy fixture", "[.write_fixture]") {
    const char* path = std::getenv("TAPEGRAD_SAFETENSORS_FIXTURE");
    if (path == nullptr) FAIL("set TAPEGRAD_SAFETENSORS_FIXTURE to the path to write");
    SafetensorsWriter w;
    w.add("arange_f32", arange<float>(3, 4, 0.5f, -1.0f));   // i/2 - 1, i = 0..11
    w.add("arange_f64", arange<double>(2, 5, 0.125, 0.0));   // i/8, i = 0..9
    w.add("specials_f64", Tensor<double>{{-0.0, std::numeric_limits<double>::infinity(),
                                          -std::numeric_limits<double>::infinity(),
                                          std::numeric_limits<double>::denorm_min()}});
    w.metadata = {{"producer", "tapegrad nn_tests"}, {"note", "arange"}};
    w.save(path);
}
