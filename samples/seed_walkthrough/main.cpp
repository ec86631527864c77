// Reproduces the design note (docs/math.md) with the tape, printing what the note prints.
#include <iostream>

#include "walkthrough.hpp"

int main() {
    try {
        walkthrough::print(std::cout, walkthrough::loss_section());
        walkthrough::print(std::cout, walkthrough::model_section());
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "seed_walkthrough: " << e.what() << "\n";
        return 1;
    }
}
