// tapegrad's autodiff: the tape, its ops and gradcheck. Include this one header.
#pragma once

#include "autodiff/errors.hpp"
#include "autodiff/gradcheck.hpp"
#include "autodiff/ops/attention.hpp"
#include "autodiff/ops/context_linear.hpp"
#include "autodiff/ops/custom.hpp"
#include "autodiff/ops/elementwise.hpp"
#include "autodiff/ops/indexing.hpp"
#include "autodiff/ops/linalg.hpp"
#include "autodiff/ops/reduce.hpp"
#include "autodiff/ops/shape.hpp"
#include "autodiff/ops/softmax.hpp"
#include "autodiff/tape.hpp"
#include "autodiff/tensor.hpp"
#include "autodiff/threads.hpp"
