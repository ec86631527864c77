// tapegrad's optimizers, gradient clipping and learning-rate schedules. Include this one header.
// Depends only on autodiff: parameters come in as NamedParameter<T> (autodiff/named.hpp).
#pragma once

#include "optim/adam.hpp"
#include "optim/clip.hpp"
#include "optim/optimizer.hpp"
#include "optim/schedule.hpp"
#include "optim/sgd.hpp"
