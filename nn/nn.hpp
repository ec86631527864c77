/// \file
/// tapegrad's nn: modules, layers, the design note's model, text specs, module gradcheck, checkpoints.
/// Include this one header.
#pragma once

#include "tapegrad/autodiff/autodiff.hpp"
#include "tapegrad/nn/checkpoint.hpp"
#include "tapegrad/nn/init.hpp"
#include "tapegrad/nn/language_model.hpp"
#include "tapegrad/nn/layers.hpp"
#include "tapegrad/nn/module.hpp"
#include "tapegrad/nn/model_file.hpp"
#include "tapegrad/nn/module_gradcheck.hpp"
#include "tapegrad/nn/safetensors.hpp"
#include "tapegrad/nn/sequential.hpp"
#include "tapegrad/nn/spec.hpp"
#include "tapegrad/nn/token_model.hpp"
#include "tapegrad/nn/tokens.hpp"
#include "tapegrad/nn/transformer.hpp"
