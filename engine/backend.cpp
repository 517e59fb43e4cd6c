// The CUDA kernel table: installed once on first use, and a DeviceError naming the op where CUDA is absent.
#include "engine/backend.h"
#include <mutex>
#include "base/cuda_runtime.h"

namespace asyndgan::backend {

CudaKernels& cuda_table() {
  static CudaKernels table;
  static std::once_flag installed;
  std::call_once(installed, [] { install_cuda_kernels(table); });
  return table;
}

const CudaKernels& cuda(const char* op) {
  if (!ASYNDGAN_HAS_CUDA)
    throw DeviceError(msg(op, ": this build of asyndgan has no CUDA backend; reconfigure with -DASYNDGAN_CUDA=ON "
                              "on a machine with the CUDA toolkit, or move the tensors to the CPU"));
  return cuda_table();
}

bool on_cuda(std::initializer_list<Tensor> tensors) {
  for (const Tensor& t : tensors)
    if (t.defined() && t.device().is_cuda()) return true;
  return false;
}

NormGeometry norm_geometry(const Tensor& x, bool per_channel) {
  NormGeometry g;
  g.n = x.size(0);
  g.c = x.size(1);
  g.size = 1;
  for (int64_t d = 2; d < x.dim(); ++d) g.size *= x.size(d);
  g.per_channel = per_channel;
  return g;
}

}  // namespace asyndgan::backend
