// The numerics settings of a run in one value: the compute precision and the algorithm switches of the
// convolutions and GEMMs. The engine keeps the current one (engine/numerics.h) and passes each kernel what it
// needs as an argument; a run config is parsed into one once (engine/numerics.h parse_numerics).
#pragma once
#include <cstddef>
#include <string_view>

namespace asyndgan {

// fp32: everything in f32 (TF32 only when allowed); bf16: mixed precision, bf16 activations and convolution
// math over f32 master weights, Adam state and normalization statistics (CUDA only).
enum class Precision { fp32, bf16 };

const char* precision_name(Precision p);  // "fp32", "bf16"

struct Numerics {
  Precision precision = Precision::fp32;
  // TF32 tensor cores for f32 convolutions and GEMMs on the GPU. Off by default (f32 means f32: results within
  // rounding of the CPU path). bf16 always uses tensor cores; f64 never rounds.
  bool allow_tf32 = false;
  // Only algorithms cuDNN marks deterministic, chosen by its heuristics rather than by timing, so two runs on the
  // same card and cuDNN version take the same algorithm and give the same bits.
  bool deterministic = false;
  // Winograd minimal filtering for the CPU's f32 stride-1 convolutions with 3x3 and 4x4 kernels between wide
  // layers (kernels/cpu/conv_winograd.h): 2-4x fewer multiplies, results within a few 1e-6 relative of the direct
  // sum instead of its own rounding; deterministic either way. f64 never uses it (gradchecks stay exact).
  bool cpu_winograd = true;
  // The most scratch memory one GPU convolution may use; algorithms that need more are skipped.
  size_t conv_workspace_limit = size_t{256} << 20;

  // The defaults above overridden by ASYNDGAN_ALLOW_TF32, ASYNDGAN_CUDNN_DETERMINISTIC, ASYNDGAN_CPU_WINOGRAD
  // (set and not "0": on; "0": off; unset or empty: the default) and ASYNDGAN_CUDNN_WORKSPACE_MB (a whole number
  // of MiB): the settings of a program that sets none itself. A malformed workspace size is a ValueError naming
  // the variable.
  static Numerics from_environment();

  bool operator==(const Numerics&) const = default;
};

}  // namespace asyndgan
