/// \file
/// Everything of tapegrad but data-parallel training: the tape, its ops and gradcheck (autodiff), modules,
/// layers and checkpoints (nn), optimizers, schedules and clipping (optim). Link tapegrad::tapegrad.
/// Data-parallel training over MPI is "tapegrad/distributed/distributed.hpp" and tapegrad::distributed.
#pragma once

#include "tapegrad/autodiff/autodiff.hpp"
#include "tapegrad/nn/nn.hpp"
#include "tapegrad/optim/optim.hpp"
