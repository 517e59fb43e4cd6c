// The numerics settings (base/math_mode.h) as the CUDA launchers take them: the one place the CUDA side reads
// the process-wide switches, for the conv adapters and the programs that call kernels/cuda/conv.cuh directly.
#pragma once
#include "base/math_mode.h"
#include "kernels/cuda/conv.cuh"

namespace asyndgan::backend {

inline kern::cuda::ConvMath conv_math() {
  return {math::allow_tf32(), math::conv_deterministic(), math::conv_workspace_limit()};
}

}  // namespace asyndgan::backend
