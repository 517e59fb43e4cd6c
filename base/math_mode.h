// The GPU numerics switches as the CUDA convolution and GEMM code reads them today: thin readers of the engine's
// current settings (engine/numerics.h, which defines them). New code takes what it needs from asyndgan::numerics()
// and passes it to the kernel as an argument; these go once the CUDA adapters do so.
#pragma once
#include <cstddef>

namespace asyndgan::math {

bool allow_tf32();              // numerics().allow_tf32
bool conv_deterministic();      // numerics().deterministic
size_t conv_workspace_limit();  // numerics().conv_workspace_limit

}  // namespace asyndgan::math
