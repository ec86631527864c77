/// \file
/// tapegrad's optimizers, gradient clipping and learning-rate schedules. Include this one header.
/// Depends only on autodiff: parameters come in as NamedParameter<T> (autodiff/named.hpp).
#pragma once

#include "tapegrad/optim/adam.hpp"
#include "tapegrad/optim/clip.hpp"
#include "tapegrad/optim/optimizer.hpp"
#include "tapegrad/optim/schedule.hpp"
#include "tapegrad/optim/sgd.hpp"
