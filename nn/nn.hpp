// tapegrad's nn: modules, layers, the design note's model, text specs, module gradcheck, checkpoints.
// Include this one header.
#pragma once

#include "autodiff/autodiff.hpp"
#include "nn/checkpoint.hpp"
#include "nn/init.hpp"
#include "nn/language_model.hpp"
#include "nn/layers.hpp"
#include "nn/module.hpp"
#include "nn/module_gradcheck.hpp"
#include "nn/safetensors.hpp"
#include "nn/sequential.hpp"
#include "nn/spec.hpp"
