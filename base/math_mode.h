// Process-wide numerics switches of the convolutions and GEMMs: on the GPU (cuDNN, cuBLAS) TF32 for f32,
// deterministic algorithms only and the workspace cap; on the CPU the Winograd algorithm. Read from the
// environment on first use, settable from code (the run config's train.tf32, train.deterministic and
// train.winograd); they exist in every build, and the GPU ones do nothing without CUDA.
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

// Winograd minimal filtering for the CPU's f32 stride-1 convolutions with 3x3 and 4x4 kernels and enough
// channels (kernels/cpu/conv_winograd.h): 2-4x fewer multiplies, results within a few 1e-6 relative of the
// direct sum instead of its own rounding; deterministic either way. On by default; ASYNDGAN_CPU_WINOGRAD=0 turns
// it off. f64 never uses it (gradchecks stay exact).
bool cpu_winograd();
void set_cpu_winograd(bool on);

}  // namespace asyndgan::math
