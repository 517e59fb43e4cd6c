// Each CUDA op family fills its entries of the engine's kernel table (engine/backend.h) from its own file;
// registry.cpp calls them all once, on the first use of the table.
#pragma once
#include "engine/backend.h"

namespace asyndgan::kern::cuda {

void register_copy(backend::CudaKernels& t);         // fill, copy, increment   (copy_ops.cpp)
void register_elementwise(backend::CudaKernels& t);  // axpby .. axpy_, sum     (elementwise_ops.cpp)
void register_loss(backend::CudaKernels& t);         // l1, mse, bce            (loss_ops.cpp)
void register_activation(backend::CudaKernels& t);   // unary, dropout(_*)      (activation_ops.cpp)
void register_shape(backend::CudaKernels& t);        // reflection_pad2d        (shape_ops.cpp)
void register_norm(backend::CudaKernels& t);         // norm_forward/backward   (norm_ops.cpp)
void register_conv(backend::CudaKernels& t);         // conv2d_*, bias          (conv_ops.cpp)
void register_adam(backend::CudaKernels& t);         // adam                    (adam_ops.cpp)

}  // namespace asyndgan::kern::cuda
