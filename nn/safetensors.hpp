/// \file
/// Checkpoint files in the safetensors format (https://github.com/huggingface/safetensors), F32 and F64 only.
///
/// Layout of a file:
/// ~~~{.unparsed}
///   bytes [0, 8)         N, the header length, an unsigned 64-bit little-endian integer
///   bytes [8, 8 + N)     the header: a UTF-8 JSON object, padded at the end with spaces (0x20)
///   bytes [8 + N, end)   the data section: raw little-endian tensor elements, row-major
/// ~~~
/// The header maps each tensor name to {"dtype": "F32"|"F64", "shape": [...], "data_offsets": [begin, end]}
/// (offsets relative to the start of the data section, end exclusive) and may hold "__metadata__", a
/// string→string map. The tensors cover the data section exactly: no gaps, no overlaps, nothing after.
///
/// Loading validates all of this and throws CheckpointError naming the file and the problem; it never reads
/// outside the given bytes, whatever they hold. Saving is atomic: the previous file at the target path is
/// either replaced by a complete new one or left as it was.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tapegrad/autodiff/errors.hpp"
#include "tapegrad/nn/file_write.hpp"
#include "tapegrad/autodiff/named.hpp"
#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad {

/// A checkpoint that cannot be read or written: malformed or truncated file, I/O failure, a tensor that is
/// missing or does not have the dtype/shape asked for.
struct CheckpointError : Error {
    using Error::Error;
};

enum class DType { F32, F64 };

/// "F32" / "F64", the spelling of the safetensors header.
std::string_view dtype_name(DType dtype);
/// Bytes per element: 4 / 8.
std::size_t dtype_size(DType dtype);

/// The element types a checkpoint tensor converts to and from.
template <class T>
concept CheckpointScalar = std::same_as<T, float> || std::same_as<T, double>;

template <CheckpointScalar T>
inline constexpr DType dtype_of = std::same_as<T, float> ? DType::F32 : DType::F64;

/// One tensor of a file: any rank, its elements as raw little-endian bytes in row-major order.
struct SafetensorsEntry {
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::size_t> shape;
    std::vector<std::byte> data;

    /// As a tapegrad tensor: rank 2 as is, rank 1 [n] as 1×n, rank 0 as 1×1. Throws CheckpointError naming
    /// the tensor when the rank is above 2, when dtype is not exactly T's (no silent conversion), or when
    /// data does not hold product(shape) elements.
    template <CheckpointScalar T>
    Tensor<T> to_tensor() const;
};

/// A loaded file: the tensors in data-section order (for files written by SafetensorsWriter, the order of
/// the add calls) and the metadata.
struct SafetensorsFile {
    std::vector<SafetensorsEntry> tensors;
    std::map<std::string, std::string> metadata;

    bool contains(std::string_view name) const;
    /// Throws CheckpointError naming the missing tensor.
    const SafetensorsEntry& at(std::string_view name) const;
};

/// Collects 2-D tensors (copied at add time) and metadata, then writes them as one file, tensors in the
/// order they were added.
class SafetensorsWriter {
public:
    std::map<std::string, std::string> metadata;

    /// Throws CheckpointError for a duplicate name or the reserved name "__metadata__".
    void add(std::string name, const Tensor<float>& tensor);
    void add(std::string name, const Tensor<double>& tensor);

    const std::vector<SafetensorsEntry>& entries() const { return entries_; }

    /// The complete file image: length prefix, padded header, data section.
    std::vector<std::byte> to_bytes() const;

    /// Atomic write (write_file_atomically, nn/file_write.hpp: a crash leaves the previous file or the new
    /// one, never a torn one; remove_stale_temporaries cleans up after a killed process). On failure throws
    /// CheckpointError naming the path and the OS error, leaving any previous file at the path intact.
    void save(const std::filesystem::path& path) const;

private:
    template <class T>
    void add_tensor(std::string name, const Tensor<T>& tensor);

    std::vector<SafetensorsEntry> entries_;
};

/// The default size limit of load_safetensors: 16 GiB, about 25 times the largest model in this repository
/// with its Adam state (bench's "large" in float: 55,050,240 parameters × 3 tensors × 4 bytes = 661 MB).
/// Loading holds the file and a copy of its tensors: twice its size.
inline constexpr std::uint64_t kMaxSafetensorsFileBytes = std::uint64_t{1} << 34;

/// Reads and validates a whole file. Only a regular file of at most max_bytes is read (nn/file_read.hpp:
/// /dev/zero, a FIFO, a directory are rejected at once). Throws CheckpointError naming the path and the
/// problem ("is a FIFO, not a regular file", "is N bytes, over the limit of M bytes", the OS error for I/O).
SafetensorsFile load_safetensors(const std::filesystem::path& path, std::uint64_t max_bytes = kMaxSafetensorsFileBytes);

/// Validates and decodes a file image; origin names it in error messages (usually its path).
SafetensorsFile parse_safetensors(std::span<const std::byte> bytes, const std::string& origin);

/// A StateDict in a checkpoint, several objects side by side under distinct prefixes (e.g.\ "model." and
/// "optim."): add_state adds each tensor and metadata key as prefix + name; extract_state returns the
/// tensors and metadata whose names start with prefix, prefix removed, in file order. extract_state
/// requires every selected tensor to have T's dtype exactly (CheckpointError otherwise); add_state throws
/// CheckpointError for a name already present.
template <CheckpointScalar T>
void add_state(SafetensorsWriter& writer, const StateDict<T>& state, const std::string& prefix = "");

template <CheckpointScalar T>
StateDict<T> extract_state(const SafetensorsFile& file, const std::string& prefix = "");

extern template Tensor<float> SafetensorsEntry::to_tensor<float>() const;
extern template Tensor<double> SafetensorsEntry::to_tensor<double>() const;
extern template void add_state<float>(SafetensorsWriter&, const StateDict<float>&, const std::string&);
extern template void add_state<double>(SafetensorsWriter&, const StateDict<double>&, const std::string&);
extern template StateDict<float> extract_state<float>(const SafetensorsFile&, const std::string&);
extern template StateDict<double> extract_state<double>(const SafetensorsFile&, const std::string&);

}  // namespace tapegrad
