// Puts a network where a run's options say: on its device, and in bf16 compute for mixed precision.
#pragma once
#include "dist/options.h"
#include "engine/nn/module.h"

namespace asyndgan::dist {

// Moves `net` to options.device and, for Precision::bf16, makes its convolutions compute in bf16 over the f32
// master weights. The options' numerics are already checked against the device (parse_numerics).
void place_model(nn::Module& net, const TrainOptions& options);

// Whether the run's steps go through CUDA graphs: asked for, on a CUDA device, and with balance sampling, which
// gives every site the same batch every step (a graph replays one set of shapes).
bool use_cuda_graphs(const TrainOptions& options);

// dst <- src (a host tensor) on `device`, in dst's own storage when the shape allows, so a captured CUDA graph
// keeps reading the same memory from step to step; on the CPU dst becomes src itself (no copy).
void stage(Tensor& dst, const Tensor& src, Device device);

// The dtype a network's output is brought to before losses and messages: f32 whatever the compute precision.
Tensor to_loss_dtype(const Tensor& t);

}  // namespace asyndgan::dist
