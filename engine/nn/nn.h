// Umbrella header for the nn modules: the Module base, the layers, Sequential and initialization.
#pragma once
#include "engine/nn/activation.h"
#include "engine/nn/conv.h"
#include "engine/nn/dropout.h"
#include "engine/nn/init.h"
#include "engine/nn/module.h"
#include "engine/nn/norm.h"
#include "engine/nn/padding.h"
#include "engine/nn/sequential.h"
