// Umbrella header for users who embed the engine: tensors, autograd, ops, nn, optimizers, checkpoints.
#pragma once
#include "engine/autograd.h"
#include "engine/io/checkpoint.h"
#include "engine/io/checkpoint_state.h"
#include "engine/io/safetensors.h"
#include "engine/nn/nn.h"
#include "engine/numerics.h"
#include "engine/ops.h"
#include "engine/optim/adam.h"
#include "engine/optim/schedule.h"
#include "engine/rng.h"
#include "engine/tensor.h"
#include "engine/version.h"
