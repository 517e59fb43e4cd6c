// Which cuDNN convolution algorithm to run, as plain C++ (no CUDA types), so the selection rules are tested on
// machines without a GPU: the candidates cuDNN reports, the policy that filters them, and the cache key.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace asyndgan::kern::cuda {

enum class ConvDirection : unsigned char { forward, backward_data, backward_weight };

// One algorithm as cuDNN reported it: fastest first from cudnnFind*AlgorithmEx, in heuristic rank from
// cudnnGet*Algorithm_v7.
struct ConvAlgoCandidate {
  int algo = 0;                // the cudnnConvolution*Algo_t value
  bool ok = false;             // cuDNN's status for it was CUDNN_STATUS_SUCCESS
  size_t workspace = 0;        // bytes it needs
  bool deterministic = false;  // CUDNN_DETERMINISTIC
  int math_type = 0;           // the cudnnMathType_t it runs with
};

struct ConvAlgoPolicy {
  size_t workspace_limit = 0;
  bool deterministic_only = false;
  int required_math = -1;  // when >= 0, only candidates with this math type (FMA for f32 without TF32)
};

// Index of the first candidate, in cuDNN's order, that the policy allows; -1 when none does.
inline int pick_conv_algo(const std::vector<ConvAlgoCandidate>& candidates, const ConvAlgoPolicy& policy) {
  for (size_t i = 0; i < candidates.size(); ++i) {
    const ConvAlgoCandidate& c = candidates[i];
    if (!c.ok || c.workspace > policy.workspace_limit) continue;
    if (policy.deterministic_only && !c.deterministic) continue;
    if (policy.required_math >= 0 && c.math_type != policy.required_math) continue;
    return static_cast<int>(i);
  }
  return -1;
}

// Everything a choice depends on: the device, dtype and direction, the policy (a changed setting searches
// again rather than reusing a choice made under other rules), the conv2d geometry and the memory layout. An array compares as a
// whole, so no field can be left out of the comparison.
using ConvAlgoKey = std::array<int64_t, 18>;

}  // namespace asyndgan::kern::cuda
