// The CPU BLAS the engine's convolutions and GEMMs run on (the library loaded, its kernel set, its threading), for
// programs that report their build, as `asyndgan --version` and `info` do, without reaching into kernels/.
#pragma once
#include "kernels/cpu/blas.h"

namespace asyndgan {

using kern::cpu::BlasInfo;
// Loads the library on first call; an IOError naming the fix when it cannot.
inline const BlasInfo& blas_info() { return kern::cpu::blas_info(); }

}  // namespace asyndgan
