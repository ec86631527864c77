// Heap accounting for the benchmark: global operator new/delete are replaced (alloc_counter.cpp) so that
// every allocation made through them (xtensor containers, std::vector, the tape's nodes) is counted, and
// the bytes live at any moment and their peak are known.  Memory that OpenBLAS maps for its own buffers
// does not go through operator new and is not counted.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bench {

struct HeapCounters {
    std::uint64_t allocations = 0;  // calls to operator new since start
    std::size_t live_bytes = 0;     // bytes currently allocated
    std::size_t peak_bytes = 0;     // largest live_bytes since the last reset_peak()
};

HeapCounters heap_counters();
// Starts a new peak measurement from the bytes live now.
void reset_peak();

}  // namespace bench
