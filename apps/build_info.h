// This build of asyndgan: its version and the features compiled in (CUDA, cuDNN, NCCL, OpenMP, BLAS and the
// kernel set OpenBLAS runs), written once for `asyndgan --version` and `asyndgan info`.
#pragma once
#include <string>

namespace asyndgan::app {

// "asyndgan X.Y.Z" then one "  feature: ..." line per feature, each ending in a newline except the last.
std::string build_report();

}  // namespace asyndgan::app
