// Device checks shared by all ops.
#include "engine/dispatch.h"

namespace asyndgan {

void check_cpu(const char* op, std::initializer_list<Tensor> tensors) {
  for (const Tensor& t : tensors)
    if (t.defined() && !t.device().is_cpu())
      throw DeviceError(msg(op, ": no CUDA kernel for ", t.describe(), " yet; move the tensor with .to(Device::cpu())"));
}

}  // namespace asyndgan
