// A main() for the fuzz targets without libFuzzer: runs LLVMFuzzerTestOneInput once on each file named on
// the command line. ctest replays the seed corpora this way in every build (gcc, plain and ASan), so the
// corpora, including inputs that once crashed or over-allocated, are regression tests without clang.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        std::ifstream in(argv[i], std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "replay: cannot read %s\n", argv[i]);
            return 1;
        }
        const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    }
    std::printf("replay: %d inputs, no crash\n", argc - 1);
    return 0;
}
