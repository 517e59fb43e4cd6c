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

}  // namespace asyndgan::backend
