// Progress of a long phase (the final evaluation): one redrawn line on a terminal, otherwise a plain line every
// few seconds with the time left.
#pragma once

#include <iosfwd>
#include <string>

#include "inference.hpp"

namespace train_lm {

// On a terminal (`enabled`): one line redrawn at most 10 times a second; otherwise nothing.
ProgressFn terminal_progress(std::ostream& out, bool enabled, std::string label);

// On a terminal as terminal_progress; otherwise a plain line every 5 s, with the time left.
ProgressFn eval_progress(std::ostream& out, bool terminal, std::string label);

}  // namespace train_lm
