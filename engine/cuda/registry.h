// Each CUDA op family's Tensor adapters fill their entries of the engine's kernel table (engine/backend.h) from
// their own file; registry.cpp calls them all once, on the first use of the table. CUDA builds only.
#pragma once
#include "engine/backend.h"

namespace asyndgan::backend {

void register_copy(CudaKernels& t);         // fill, copy, increment   (copy_ops.cpp)
void register_elementwise(CudaKernels& t);  // axpby .. axpy_, sum     (elementwise_ops.cpp)
void register_loss(CudaKernels& t);         // l1, mse, bce            (loss_ops.cpp)
void register_activation(CudaKernels& t);   // unary, dropout(_*)      (activation_ops.cpp)
void register_shape(CudaKernels& t);        // reflection_pad2d        (shape_ops.cpp)
void register_norm(CudaKernels& t);         // norm_forward/backward   (norm_ops.cpp)
void register_conv(CudaKernels& t);         // conv2d_*, bias          (conv_ops.cpp)
void register_adam(CudaKernels& t);         // adam                    (adam_ops.cpp)

}  // namespace asyndgan::backend
