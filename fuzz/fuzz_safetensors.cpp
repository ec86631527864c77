// libFuzzer target: the safetensors reader on arbitrary bytes.
// Contract checked: parse_safetensors either returns a file or throws CheckpointError (anything else
// escaping is a crash for libFuzzer); a file it accepts converts tensor by tensor (or throws
// CheckpointError) and survives a write/read round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "tapegrad/nn/safetensors.hpp"

namespace {

using namespace tapegrad;

// Converts every entry it can to a 2-D tensor of its own dtype and writes those back out.
void round_trip(const SafetensorsFile& file) {
    SafetensorsWriter writer;
    writer.metadata = file.metadata;
    for (const auto& entry : file.tensors) {
        try {
            if (entry.dtype == DType::F32)
                writer.add(entry.name, entry.to_tensor<float>());
            else
                writer.add(entry.name, entry.to_tensor<double>());
        } catch (const CheckpointError&) {
            // rank above 2: legal in the format, not convertible to a 2-D tensor
        }
    }
    std::vector<std::byte> image;
    try {
        image = writer.to_bytes();
    } catch (const CheckpointError&) {
        return;  // names or metadata that are not valid UTF-8 cannot be encoded again
    }
    const SafetensorsFile again = parse_safetensors(image, "round trip");
    // Rank 0 and 1 become 1×1 and 1×n, so compare names and bytes, not shapes.
    if (again.metadata != file.metadata) std::abort();
    for (const auto& entry : again.tensors)
        if (entry.data != file.at(entry.name).data) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto bytes = std::as_bytes(std::span(data, size));
    SafetensorsFile file;
    try {
        file = parse_safetensors(bytes, "fuzz input");
    } catch (const CheckpointError&) {
        return 0;
    }
    try {
        (void)extract_state<float>(file, "");
    } catch (const CheckpointError&) {
    }
    round_trip(file);
    return 0;
}
