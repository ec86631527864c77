/// \file
/// tapegrad's autodiff: the tape, its ops and gradcheck. Include this one header.
#pragma once

#include "tapegrad/autodiff/errors.hpp"
#include "tapegrad/autodiff/grad.hpp"
#include "tapegrad/autodiff/gradcheck.hpp"
#include "tapegrad/autodiff/finite.hpp"
#include "tapegrad/autodiff/ops/attention.hpp"
#include "tapegrad/autodiff/ops/context_linear.hpp"
#include "tapegrad/autodiff/ops/custom.hpp"
#include "tapegrad/autodiff/ops/elementwise.hpp"
#include "tapegrad/autodiff/ops/indexing.hpp"
#include "tapegrad/autodiff/ops/linalg.hpp"
#include "tapegrad/autodiff/ops/normalization.hpp"
#include "tapegrad/autodiff/ops/reduce.hpp"
#include "tapegrad/autodiff/ops/shape.hpp"
#include "tapegrad/autodiff/ops/softmax.hpp"
#include "tapegrad/autodiff/parallel.hpp"
#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/autodiff/tensor.hpp"
#include "tapegrad/autodiff/threads.hpp"
