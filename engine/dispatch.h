// Picks the kernel for an op from the inputs' dtype and device, so op code has no #ifdef and no switch.
#pragma once
#include <initializer_list>
#include "engine/tensor.h"

namespace asyndgan {

// Calls f(T{}) with T = float or double for the dtype; other dtypes throw a DTypeError naming the op.
template <class F>
decltype(auto) dispatch_floating(const char* op, DType dt, F&& f) {
  switch (dt) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    default:
      throw DTypeError(msg(op, ": kernels exist for f32 and f64, got ", dtype_name(dt),
                           "; convert with .to(DType::f32)"));
  }
}

// For an op (or an op's path) with no CUDA kernel: a cuda tensor gets a DeviceError naming the op and the way
// out. Ops with kernels check backend::on_cuda and call backend::cuda(op) instead (engine/backend.h).
void check_cpu(const char* op, std::initializer_list<Tensor> tensors);

}  // namespace asyndgan
