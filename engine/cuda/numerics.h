// The engine's current numerics settings (engine/numerics.h) as the CUDA convolution launchers take them, for the
// conv adapters and the programs that call kernels/cuda/conv.cuh directly.
#pragma once
#include "engine/numerics.h"
#include "kernels/cuda/conv.cuh"

namespace asyndgan::backend {

inline kern::cuda::ConvMath conv_math() {
  const Numerics n = numerics();
  return {n.allow_tf32, n.deterministic, n.conv_workspace_limit};
}

}  // namespace asyndgan::backend
