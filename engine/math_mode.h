// Process-wide numerics switches of the GPU convolutions (cuDNN) and GEMMs (cuBLAS): TF32 for f32, deterministic
// algorithms only, and the workspace cap. Read from the environment on first use, settable from code (the run
// config's train.tf32 and train.deterministic); they exist in every build and do nothing without CUDA.
#pragma once
#include <cstddef>

namespace asyndgan::math {

// TF32 tensor cores for f32 convolutions and GEMMs. Off by default (f32 means f32: results within rounding of
// the CPU path); ASYNDGAN_ALLOW_TF32=1 turns it on. bf16 always uses tensor cores; f64 never rounds.
bool allow_tf32();
void set_allow_tf32(bool on);

// Only algorithms cuDNN marks deterministic, chosen by its heuristics rather than by timing, so two runs on
// the same card and cuDNN version take the same algorithm and give the same bits. ASYNDGAN_CUDNN_DETERMINISTIC=1.
bool conv_deterministic();
void set_conv_deterministic(bool on);

// The most scratch memory one convolution may use; algorithms that need more are skipped. 256 MiB by
// default, ASYNDGAN_CUDNN_WORKSPACE_MB overrides.
size_t conv_workspace_limit();
void set_conv_workspace_limit(size_t bytes);

}  // namespace asyndgan::math
