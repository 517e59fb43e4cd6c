// Umbrella header for users who embed the engine: tensors, autograd, ops, nn, optimizers, checkpoints.
#pragma once
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "engine/tensor.h"
